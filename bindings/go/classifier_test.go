package libclip_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"libclip.dev/go/libclip"
)

// zeroShotFixture is ../shared/fixtures/zeroshot/zeroshot.json.
type zeroShotFixture struct {
	dir           string
	Classes       []string `json:"classes"`
	TemplatesFile string   `json:"templates_file"`
	Images        []string `json:"images"`
	Tolerances    struct {
		Probs float64 `json:"probs_max_abs_diff"`
	} `json:"tolerances"`
	Models map[string]struct {
		ClassVectors string  `json:"class_vectors"`
		Probs        string  `json:"probs"`
		Scale        float64 `json:"logit_scale_exp"`
	} `json:"models"`
}

func zeroShotFixtures(t *testing.T) (*zeroShotFixture, string, *manifest) {
	t.Helper()
	dir, m := fixtures(t)
	zdir := filepath.Join(dir, "zeroshot")
	data, err := os.ReadFile(filepath.Join(zdir, "zeroshot.json"))
	if err != nil {
		t.Skipf("no zero-shot fixtures: %v", err)
	}
	z := &zeroShotFixture{dir: zdir}
	if err := json.Unmarshal(data, z); err != nil {
		t.Fatal(err)
	}
	return z, dir, m
}

func chunk(flat []float32, dim int) [][]float32 {
	out := make([][]float32, len(flat)/dim)
	for i := range out {
		out[i] = flat[i*dim : (i+1)*dim]
	}
	return out
}

func TestTemplateSet(t *testing.T) {
	z, _, _ := zeroShotFixtures(t)
	f, err := os.Open(filepath.Join(z.dir, z.TemplatesFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var want []string
	for s := bufio.NewScanner(f); s.Scan(); {
		if s.Text() != "" {
			want = append(want, s.Text())
		}
	}
	if got := libclip.TemplateSet("imagenet"); len(got) != 80 || !reflect.DeepEqual(got, want) {
		t.Errorf("TemplateSet(imagenet): %d templates, want the fixture's %d", len(got), len(want))
	}
	if got := libclip.TemplateSet("photo"); !reflect.DeepEqual(got, []string{"a photo of a {}."}) {
		t.Errorf("TemplateSet(photo) = %q", got)
	}
	for _, name := range []string{"nope", "", "imagenet\x00"} {
		if got := libclip.TemplateSet(name); got != nil {
			t.Errorf("TemplateSet(%q) = %q, want nil", name, got)
		}
	}
}

// The prompt ensemble of the ImageNet templates against the reference's
// class vectors and probabilities (zeroshot.json's tolerances).
func TestZeroShotClassifier(t *testing.T) {
	z, dir, m := zeroShotFixtures(t)
	for i, im := range m.Images {
		if z.Images[i] != im.Name {
			t.Fatalf("zeroshot.json image %d is %s, the manifest's %s", i, z.Images[i], im.Name)
		}
	}
	for _, c := range modelCases(dir) {
		t.Run(c.name, func(t *testing.T) {
			ref := z.Models[c.model]
			txt := openText(t, c, libclip.Options{})
			cls, err := libclip.NewZeroShotClassifier(txt, z.Classes, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer cls.Close()
			if !reflect.DeepEqual(cls.Classes(), z.Classes) || cls.Dim() != 32 ||
				cls.Kind() != libclip.ClassifierZeroShot || cls.LogitScale() != txt.LogitScale() ||
				math.Abs(float64(cls.LogitScale())-ref.Scale) > 1e-5*ref.Scale {
				t.Fatalf("classes %q, dim %d, kind %v, scale %v", cls.Classes(), cls.Dim(), cls.Kind(), cls.LogitScale())
			}
			for i, b := range cls.Bias() {
				if b != 0 {
					t.Fatalf("bias %d is %v", i, b)
				}
			}
			want := chunk(readF32(t, filepath.Join(z.dir, ref.ClassVectors)), 32)
			vectors := cls.Vectors()
			for i := range want {
				closeTo(t, "class vector "+z.Classes[i], vectors[i], want[i])
			}

			probsWant := chunk(readF32(t, filepath.Join(z.dir, ref.Probs)), len(z.Classes))
			golden := chunk(readF32(t, filepath.Join(dir, "golden", c.model, "image_embeds.f32")), 32)
			img := openImage(t, c.path, nil)
			ours, err := img.EncodeFiles(imagePaths(dir, m))
			if err != nil {
				t.Fatal(err)
			}
			for what, embeds := range map[string][][]float32{"reference embeddings": golden, "our embeddings": ours} {
				probs, err := cls.Probs(embeds)
				if err != nil {
					t.Fatal(err)
				}
				for i := range probs {
					var sum float64
					for j, p := range probs[i] {
						sum += float64(p)
						if d := math.Abs(float64(p) - float64(probsWant[i][j])); d > z.Tolerances.Probs {
							t.Errorf("%s: %s, %s: probability %v, want %v", what, z.Images[i], z.Classes[j], p,
								probsWant[i][j])
						}
					}
					if math.Abs(sum-1) > 1e-5 {
						t.Errorf("%s: row %d sums to %v", what, i, sum)
					}
				}
			}
			// logits = scale * cosine.
			logits, err := cls.Logits(golden[:1])
			if err != nil {
				t.Fatal(err)
			}
			unit := normalized(golden[0])
			for j, v := range vectors {
				var dot float64
				for d := range v {
					dot += float64(unit[d]) * float64(v[d])
				}
				if want := float64(cls.LogitScale()) * dot; math.Abs(float64(logits[0][j])-want) > 1e-4*math.Abs(want)+1e-4 {
					t.Errorf("logit %d: %v, want %v", j, logits[0][j], want)
				}
			}
		})
	}
}

func TestZeroShotTemplates(t *testing.T) {
	dir, _ := fixtures(t)
	txt := openText(t, modelCases(dir)[2], libclip.Options{})
	names := []string{"cat", "rocket"}
	photo, err := libclip.NewZeroShotClassifier(txt, names, libclip.TemplateSet("photo"))
	if err != nil {
		t.Fatal(err)
	}
	suffix, err := libclip.NewZeroShotClassifier(txt, names, []string{"a photo of a"})
	if err != nil {
		t.Fatal(err)
	}
	one, err := txt.EncodeBatch([]string{"a photo of a cat.", "a photo of a rocket."})
	if err != nil {
		t.Fatal(err)
	}
	bare, err := txt.EncodeBatch([]string{"a photo of a cat", "a photo of a rocket"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range names {
		closeTo(t, "photo "+names[i], photo.Vectors()[i], one[i])
		closeTo(t, "no {} "+names[i], suffix.Vectors()[i], bare[i])
	}
}

func TestZeroShotProgressAndCancel(t *testing.T) {
	dir, _ := fixtures(t)
	txt := openText(t, modelCases(dir)[0], libclip.Options{})
	names := []string{"cat", "astronaut", "rocket"}
	photo := libclip.TemplateSet("photo")
	var p progressLog
	if _, err := libclip.NewZeroShotClassifierContext(context.Background(), txt, names, photo, p.report); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, progressLog{{1, 3}, {2, 3}, {3, 3}}) {
		t.Fatalf("progress %v", p)
	}
	const op = "NewZeroShotClassifierContext"
	ctx, cancel := context.WithCancel(context.Background())
	p = nil
	cls, err := libclip.NewZeroShotClassifierContext(ctx, txt, names, photo, func(done, total int) {
		p.report(done, total)
		cancel()
	})
	wantCancelled(t, op, err, context.Canceled)
	if cls != nil || len(p) != 1 {
		t.Fatalf("classifier %v, progress %v after the cancellation", cls, p)
	}
	_, err = libclip.NewZeroShotClassifierContext(ctx, txt, names, photo, nil)
	wantCancelled(t, op, err, context.Canceled)
}

func TestZeroShotErrors(t *testing.T) {
	dir, _ := fixtures(t)
	cases := modelCases(dir)
	txt := openText(t, cases[2], libclip.Options{})
	photo := libclip.TemplateSet("photo")
	for what, args := range map[string][2][]string{
		"no classes":        {{}, photo},
		"no templates":      {{"cat"}, {}},
		"duplicate name":    {{"cat", "cat"}, photo},
		"empty name":        {{"cat", ""}, photo},
		"two {}":            {{"cat"}, {"{} and {}"}},
		"invalid UTF-8":     {{"c\xffat"}, photo},
		"NUL in a name":     {{"c\x00t"}, photo},
		"NUL in a template": {{"cat"}, {"a {}\x00"}},
	} {
		_, err := libclip.NewZeroShotClassifier(txt, args[0], args[1])
		wantStatus(t, what, err, libclip.ErrInvalidArgument)
	}
	_, err := libclip.NewZeroShotClassifier(nil, []string{"cat"}, photo)
	wantStatus(t, "nil encoder", err, libclip.ErrInvalidArgument)

	bare, err := libclip.OpenTextEncoder(smallVocabModel(t, dir), nil) // no vocabulary fits it
	if err != nil {
		t.Fatal(err)
	}
	_, err = libclip.NewZeroShotClassifier(bare, []string{"cat"}, photo)
	wantStatus(t, "no vocabulary", err, libclip.ErrUnsupported)
	bare.Close()
	if _, err = libclip.NewZeroShotClassifier(bare, []string{"cat"}, photo); !errors.Is(err, libclip.ErrClosed) {
		t.Fatalf("closed encoder: %v", err)
	}
	strict := openText(t, cases[2], libclip.Options{NoTruncate: true})
	_, err = libclip.NewZeroShotClassifier(strict, []string{strings.Repeat("cat ", 100)}, photo)
	wantStatus(t, "prompt too long", err, libclip.ErrTooLarge)
}

// A classifier from vectors: logits = scale * cosine + bias, probs their
// softmax.
func madeClassifier(t *testing.T) *libclip.Classifier {
	t.Helper()
	cls, err := libclip.NewClassifier([][]float32{{1, 0, 0}, {0, 1, 0}, {0, 0, 2}}, []float32{0.5, 0, -1},
		[]string{"x", "y", "z"}, 10)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cls.Close() })
	return cls
}

func TestClassifierApply(t *testing.T) {
	cls := madeClassifier(t)
	if cls.Kind() != libclip.ClassifierVectors || cls.Kind().String() != "vectors" || cls.Dim() != 3 ||
		cls.LogitScale() != 10 || !reflect.DeepEqual(cls.Classes(), []string{"x", "y", "z"}) ||
		!reflect.DeepEqual(cls.Bias(), []float32{0.5, 0, -1}) || cls.Vectors()[2][2] != 2 {
		t.Fatalf("accessors: %v %v %v %v %v %v", cls.Kind(), cls.Dim(), cls.LogitScale(), cls.Classes(), cls.Bias(),
			cls.Vectors())
	}
	embeds := [][]float32{{3, 4, 0}, {0, 0, 0.5}, {1, 1, 1}}
	want := [][]float64{{10*0.6 + 0.5, 10 * 0.8, 0 - 1}, {0.5, 0, 10*2 - 1}, {0, 0, 0}}
	s := 10 / math.Sqrt(3)
	want[2] = []float64{s + 0.5, s, 2*s - 1}
	logits, err := cls.Logits(embeds)
	if err != nil {
		t.Fatal(err)
	}
	probs, err := cls.Probs(embeds)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		var sum float64
		for _, l := range want[i] {
			sum += math.Exp(l)
		}
		for j, l := range want[i] {
			if math.Abs(float64(logits[i][j])-l) > 1e-5 || math.Abs(float64(probs[i][j])-math.Exp(l)/sum) > 1e-6 {
				t.Errorf("row %d class %d: logit %v prob %v, want %v %v", i, j, logits[i][j], probs[i][j], l,
					math.Exp(l)/sum)
			}
		}
	}
	// The accessors return copies.
	cls.Vectors()[0][0] = 42
	cls.Bias()[0] = 42
	cls.Classes()[0] = "changed"
	if cls.Vectors()[0][0] != 1 || cls.Bias()[0] != 0.5 || cls.Classes()[0] != "x" {
		t.Fatal("an accessor returned the classifier's own memory")
	}
	if rows, err := cls.Probs(nil); err != nil || len(rows) != 0 {
		t.Fatalf("Probs(nil) = %v, %v", rows, err)
	}
	nan := float32(math.NaN())
	for what, bad := range map[string][][]float32{
		"short row": {{1, 0, 0}, {1, 0}},
		"NaN":       {{1, nan, 0}},
		"infinity":  {{float32(math.Inf(1)), 0, 0}},
		"zero":      {{0, 0, 0}},
	} {
		_, err := cls.Logits(bad)
		wantStatus(t, what, err, libclip.ErrInvalidArgument)
	}
}

func TestNewClassifierErrors(t *testing.T) {
	nan := float32(math.NaN())
	for what, call := range map[string]func() (*libclip.Classifier, error){
		"no classes": func() (*libclip.Classifier, error) { return libclip.NewClassifier(nil, nil, nil, 1) },
		"names and rows": func() (*libclip.Classifier, error) {
			return libclip.NewClassifier([][]float32{{1}}, nil, []string{"a", "b"}, 1)
		},
		"bias length": func() (*libclip.Classifier, error) {
			return libclip.NewClassifier([][]float32{{1}}, []float32{1, 2}, []string{"a"}, 1)
		},
		"ragged rows": func() (*libclip.Classifier, error) {
			return libclip.NewClassifier([][]float32{{1, 2}, {1}}, nil, []string{"a", "b"}, 1)
		},
		"duplicate names": func() (*libclip.Classifier, error) {
			return libclip.NewClassifier([][]float32{{1}, {2}}, nil, []string{"a", "a"}, 1)
		},
		"NaN vector": func() (*libclip.Classifier, error) {
			return libclip.NewClassifier([][]float32{{nan}}, nil, []string{"a"}, 1)
		},
		"overflowing logits": func() (*libclip.Classifier, error) {
			return libclip.NewClassifier([][]float32{{1}, {0}}, []float32{3e38, 0}, []string{"a", "b"}, 3e38)
		},
		"NaN logit scale": func() (*libclip.Classifier, error) {
			return libclip.NewClassifier([][]float32{{1}}, nil, []string{"a"}, nan)
		},
		"NUL in a name": func() (*libclip.Classifier, error) {
			return libclip.NewClassifier([][]float32{{1}}, nil, []string{"a\x00"}, 1)
		},
		"zero-length rows": func() (*libclip.Classifier, error) {
			return libclip.NewClassifier([][]float32{{}}, nil, []string{"a"}, 1)
		},
	} {
		cls, err := call()
		if cls != nil {
			t.Errorf("%s: a classifier", what)
		}
		wantStatus(t, what, err, libclip.ErrInvalidArgument)
	}
}

func TestClassifierFile(t *testing.T) {
	dir, _ := fixtures(t)
	txt := openText(t, modelCases(dir)[1], libclip.Options{})
	zs, err := libclip.NewZeroShotClassifier(txt, []string{"cat", "Ærøskøbing harbour", "rocket"},
		libclip.TemplateSet("photo"))
	if err != nil {
		t.Fatal(err)
	}
	defer zs.Close()
	tmp := t.TempDir()
	path := filepath.Join(tmp, "zs.classifier")
	if err := zs.Save(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fromFile, err := libclip.LoadClassifier(path)
	if err != nil {
		t.Fatal(err)
	}
	fromBytes, err := libclip.LoadClassifierBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(1))
	embeds := make([][]float32, 4)
	for i := range embeds {
		embeds[i] = make([]float32, 32)
		for d := range embeds[i] {
			embeds[i][d] = float32(rng.NormFloat64())
		}
	}
	want, err := zs.Probs(embeds)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []*libclip.Classifier{fromFile, fromBytes} {
		got, err := c.Probs(embeds)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(c.Classes(), zs.Classes()) || c.Kind() != zs.Kind() || c.Dim() != zs.Dim() ||
			c.LogitScale() != zs.LogitScale() || !reflect.DeepEqual(c.Vectors(), zs.Vectors()) ||
			!reflect.DeepEqual(c.Bias(), zs.Bias()) || !reflect.DeepEqual(got, want) {
			t.Fatal("the loaded classifier differs from the saved one")
		}
		c.Close()
	}

	_, err = libclip.LoadClassifier(filepath.Join(tmp, "missing"))
	wantStatus(t, "missing file", err, libclip.ErrIO)
	for what, blob := range map[string][]byte{
		"empty": nil, "truncated": data[:len(data)/2], "one byte short": data[:len(data)-1],
		"not a classifier": append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, 64)...),
	} {
		_, err := libclip.LoadClassifierBytes(blob)
		wantStatus(t, what, err, libclip.ErrFormat)
	}
	for i := range data {
		corrupt := append([]byte(nil), data...)
		corrupt[i] ^= 0x40
		if _, err := libclip.LoadClassifierBytes(corrupt); !errors.Is(err, libclip.ErrFormat) &&
			!errors.Is(err, libclip.ErrUnsupported) {
			t.Fatalf("byte %d flipped: %v", i, err)
		}
	}
	err = zs.Save(filepath.Join(tmp, "no-such-dir", "x"))
	wantStatus(t, "save into a missing directory", err, libclip.ErrIO)
}

// clusters returns per points around each of classes random directions,
// well apart, and their labels.
func clusters(seed int64, per, dim, classes int) ([][]float32, []int) {
	rng := rand.New(rand.NewSource(seed))
	centres := make([][]float64, classes)
	for k := range centres {
		centres[k] = make([]float64, dim)
		for d := range centres[k] {
			centres[k][d] = 4 * rng.NormFloat64()
		}
	}
	var points [][]float32
	var labels []int
	for k := range centres {
		for i := 0; i < per; i++ {
			p := make([]float32, dim)
			for d := range p {
				p[d] = float32(centres[k][d] + 0.3*rng.NormFloat64())
			}
			points = append(points, p)
			labels = append(labels, k)
		}
	}
	return points, labels
}

func argmax(row []float32) int {
	best := 0
	for j, v := range row {
		if v > row[best] {
			best = j
		}
	}
	return best
}

func TestTrainProbe(t *testing.T) {
	points, labels := clusters(7, 12, 16, 3)
	names := []string{"a", "b", "c"}
	cls, err := libclip.TrainProbe(points, labels, names, &libclip.ProbeOptions{C: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer cls.Close()
	if cls.Kind() != libclip.ClassifierProbe || cls.LogitScale() != 1 || cls.Dim() != 16 {
		t.Fatalf("kind %v, scale %v, dim %d", cls.Kind(), cls.LogitScale(), cls.Dim())
	}
	probs, err := cls.Probs(points)
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range probs {
		if argmax(row) != labels[i] {
			t.Fatalf("point %d (class %d): probabilities %v", i, labels[i], row)
		}
	}
	weak, err := libclip.TrainProbe(points, labels, names, &libclip.ProbeOptions{C: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	norm := func(rows [][]float32) (s float64) {
		for _, r := range rows {
			for _, v := range r {
				s += float64(v) * float64(v)
			}
		}
		return s
	}
	if norm(weak.Vectors()) >= norm(cls.Vectors()) {
		t.Fatal("a smaller C did not give smaller weights")
	}
	weak.Close()

	c, acc, err := libclip.SelectC(points, labels, 3, nil, 3, nil)
	if err != nil || acc != 1 || c < 1e-2 || c > 1e4 {
		t.Fatalf("SelectC: %v %v %v", c, acc, err)
	}
	if c, acc, err = libclip.SelectC(points, labels, 3, []float64{100, 1, 10}, 2, nil); err != nil || c != 1 || acc != 1 {
		t.Fatalf("SelectC over a grid: %v %v %v", c, acc, err)
	}
	_, _, err = libclip.SelectC(points, labels, 3, nil, 13, nil)
	wantStatus(t, "more folds than examples", err, libclip.ErrInvalidArgument)
}

func TestTrainProbeErrors(t *testing.T) {
	points, labels := clusters(7, 12, 16, 3)
	names := []string{"a", "b", "c"}
	relabel := func(from, to int) []int {
		out := append([]int(nil), labels...)
		for i, l := range out {
			if l == from {
				out[i] = to
			}
		}
		return out
	}
	withRow := func(i int, row []float32) [][]float32 {
		out := append([][]float32(nil), points...)
		out[i] = row
		return out
	}
	nanRow := make([]float32, 16)
	nanRow[3] = float32(math.NaN())
	for what, call := range map[string]func() (*libclip.Classifier, error){
		"label out of range":     func() (*libclip.Classifier, error) { return libclip.TrainProbe(points, relabel(2, 3), names, nil) },
		"negative label":         func() (*libclip.Classifier, error) { return libclip.TrainProbe(points, relabel(2, -1), names, nil) },
		"label beyond int32":     func() (*libclip.Classifier, error) { return libclip.TrainProbe(points, relabel(2, 1<<40), names, nil) },
		"class without examples": func() (*libclip.Classifier, error) { return libclip.TrainProbe(points, relabel(2, 1), names, nil) },
		"one class": func() (*libclip.Classifier, error) {
			return libclip.TrainProbe(points[:12], labels[:12], names[:1], nil)
		},
		"no embeddings":   func() (*libclip.Classifier, error) { return libclip.TrainProbe(nil, nil, names, nil) },
		"labels and rows": func() (*libclip.Classifier, error) { return libclip.TrainProbe(points, labels[1:], names, nil) },
		"NaN embedding":   func() (*libclip.Classifier, error) { return libclip.TrainProbe(withRow(3, nanRow), labels, names, nil) },
		"zero embedding": func() (*libclip.Classifier, error) {
			return libclip.TrainProbe(withRow(3, make([]float32, 16)), labels, names, nil)
		},
		"ragged rows": func() (*libclip.Classifier, error) {
			return libclip.TrainProbe(withRow(3, []float32{1}), labels, names, nil)
		},
		"negative C": func() (*libclip.Classifier, error) {
			return libclip.TrainProbe(points, labels, names, &libclip.ProbeOptions{C: -1})
		},
	} {
		cls, err := call()
		if cls != nil {
			t.Errorf("%s: a classifier", what)
		}
		wantStatus(t, what, err, libclip.ErrInvalidArgument)
	}
}

func TestClassifierCloseAndConcurrency(t *testing.T) {
	points, labels := clusters(3, 40, 16, 3)
	cls, err := libclip.TrainProbe(points, labels, []string{"a", "b", "c"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := cls.Probs(points)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				got, err := cls.Probs(points)
				if err != nil || !reflect.DeepEqual(got, want) {
					errs <- errors.New("a concurrent Probs differs or failed")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	classes := cls.Classes()
	if err := cls.Close(); err != nil {
		t.Fatal(err)
	}
	if err := cls.Close(); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cls.Classes(), classes) || cls.Dim() != 16 || len(cls.Vectors()) != 3 {
		t.Fatal("accessors changed after Close")
	}
	if _, err := cls.Probs(points); !errors.Is(err, libclip.ErrClosed) {
		t.Fatalf("Probs after Close: %v", err)
	}
	if _, err := cls.Logits(nil); !errors.Is(err, libclip.ErrClosed) {
		t.Fatalf("Logits after Close: %v", err)
	}
	if err := cls.Save(filepath.Join(t.TempDir(), "x")); !errors.Is(err, libclip.ErrClosed) {
		t.Fatalf("Save after Close: %v", err)
	}
}

// Close while other goroutines classify: each call gets the right result or
// ErrClosed, and Close returns once the calls in flight are done.
func TestClassifierCloseRacesWithCalls(t *testing.T) {
	points, labels := clusters(5, 20, 16, 3)
	cls, err := libclip.TrainProbe(points, labels, []string{"a", "b", "c"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := cls.Logits(points)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	started := make(chan struct{}, 4)
	failures := make(chan string, 4)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				got, err := cls.Logits(points)
				if i == 0 {
					started <- struct{}{}
				}
				if errors.Is(err, libclip.ErrClosed) {
					return
				}
				if err != nil || !reflect.DeepEqual(got, want) {
					failures <- "a call during Close failed or differs"
					return
				}
			}
		}()
	}
	for g := 0; g < 4; g++ {
		<-started
	}
	if err := cls.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(failures)
	for f := range failures {
		t.Fatal(f)
	}
}
