package libclip_test

import (
	"errors"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"libclip.dev/go/libclip"
)

// fields splits key=value fields separated by sep (BuildInfo's "; ",
// Describe's " ").
func fields(s, sep string) map[string]string {
	out := map[string]string{}
	for _, f := range strings.Split(s, sep) {
		key, value, _ := strings.Cut(f, "=")
		out[key] = value
	}
	return out
}

// described is the fields of a Describe string.
func described(description string) map[string]string { return fields(description, " ") }

// haveOneDNN tells whether the library lists oneDNN among its engines.
func haveOneDNN() bool {
	for _, e := range strings.Split(fields(libclip.BuildInfo(), "; ")["engines"], ",") {
		if e == "onednn" {
			return true
		}
	}
	return false
}

// encodeAll returns the embeddings of images by img and of texts by txt, in
// that order.
func encodeAll(t *testing.T, img *libclip.ImageEncoder, txt *libclip.TextEncoder, images, texts []string) [][]float32 {
	t.Helper()
	imageRows, err := img.EncodeFiles(images)
	if err != nil {
		t.Fatal(err)
	}
	textRows, err := txt.EncodeBatch(texts)
	if err != nil {
		t.Fatal(err)
	}
	return append(imageRows, textRows...)
}

// openDescribe opens the image or the text encoder of model with opts and
// returns its Describe, or the open's error.
func openDescribe(text bool, model string, opts libclip.Options) (string, error) {
	if text {
		enc, err := libclip.OpenTextEncoder(model, &opts)
		if err != nil {
			return "", err
		}
		defer enc.Close()
		return enc.Describe(), nil
	}
	enc, err := libclip.OpenImageEncoder(model, &opts)
	if err != nil {
		return "", err
	}
	defer enc.Close()
	return enc.Describe(), nil
}

func encoderName(text bool) string {
	if text {
		return "text"
	}
	return "image"
}

func TestEngineAndPrecisionStrings(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{libclip.EngineAuto.String(), "auto"}, {libclip.EngineCBLAS.String(), "cblas"},
		{libclip.EngineOneDNN.String(), "onednn"}, {libclip.Engine(7).String(), "Engine(7)"},
		{libclip.PrecisionF32.String(), "f32"}, {libclip.PrecisionBF16.String(), "bf16"},
		{libclip.Precision(-1).String(), "Precision(-1)"},
	} {
		if c.got != c.want {
			t.Errorf("String() %q, want %q", c.got, c.want)
		}
	}
}

// Each engine opens (EngineOneDNN only when built in), and Describe names
// the engine the encoder got.
func TestEngines(t *testing.T) {
	dir, _ := fixtures(t)
	model := filepath.Join(dir, "models", "tiny-gelu", "hf")
	onednn := haveOneDNN()
	for _, text := range []bool{false, true} {
		for _, engine := range []libclip.Engine{libclip.EngineAuto, libclip.EngineCBLAS, libclip.EngineOneDNN} {
			name := encoderName(text) + "/" + engine.String()
			description, err := openDescribe(text, model, libclip.Options{Engine: engine})
			if engine == libclip.EngineOneDNN && !onednn {
				var e *libclip.Error
				if !errors.As(err, &e) || e.Status != libclip.ErrUnsupported ||
					!strings.Contains(e.Message, "built without oneDNN") {
					t.Errorf("%s without oneDNN: %v, want ErrUnsupported", name, err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			f := described(description)
			got := f["engine"]
			switch {
			case engine != libclip.EngineAuto && got != engine.String(),
				// oneDNN when built in, unless it has no kernel for this CPU
				engine == libclip.EngineAuto && got != "cblas" && !(got == "onednn" && onednn),
				f["precision"] != "f32", f["threads"] != "0":
				t.Errorf("%s: Describe() = %q", name, description)
			}
		}
	}
}

// Describe is read at open and stays valid after Close.
func TestDescribeAfterClose(t *testing.T) {
	dir, _ := fixtures(t)
	model := filepath.Join(dir, "models", "tiny-gelu", "hf")
	img := openImage(t, model, &libclip.Options{Engine: libclip.EngineCBLAS})
	txt := openText(t, modelCases(dir)[2], libclip.Options{Engine: libclip.EngineCBLAS})
	before := []string{img.Describe(), txt.Describe()}
	img.Close()
	txt.Close()
	for i, after := range []string{img.Describe(), txt.Describe()} {
		if after != before[i] || !strings.HasPrefix(after, "engine=cblas precision=f32 ") {
			t.Errorf("Describe() after Close %q, before %q", after, before[i])
		}
	}
}

// Values that are not constants of the package are ErrInvalidArgument:
// those that fit a C int from the C library (which names the field), the
// others from the package.
func TestEngineAndPrecisionValuesRefused(t *testing.T) {
	dir, _ := fixtures(t)
	model := filepath.Join(dir, "models", "tiny-gelu", "hf")
	type refusal struct {
		opts    libclip.Options
		message string
	}
	cases := []refusal{
		{libclip.Options{Engine: 3}, "options: engine 3 is not an LCLIP_ENGINE_ value"},
		{libclip.Options{Engine: -1}, "options: engine -1 is not an LCLIP_ENGINE_ value"},
		{libclip.Options{Precision: 2}, "options: precision 2 is not an LCLIP_PRECISION_ value"},
	}
	if strconv.IntSize == 64 {
		big := libclip.Precision(math.MaxInt32 + 1)
		cases = append(cases, refusal{libclip.Options{Precision: big}, "options: Precision 2147483648 is out of range"})
	}
	for _, text := range []bool{false, true} {
		for _, c := range cases {
			_, err := openDescribe(text, model, c.opts)
			var e *libclip.Error
			if !errors.As(err, &e) || e.Status != libclip.ErrInvalidArgument || e.Message != c.message {
				t.Errorf("%s encoder, %+v: %v, want ErrInvalidArgument %q", encoderName(text), c.opts, err, c.message)
			}
		}
	}
}

// PrecisionBF16 runs where the library and the CPU can (close to F32), and
// is otherwise the library's ErrUnsupported; with EngineCBLAS it never runs.
func TestBF16WorksOrIsUnsupported(t *testing.T) {
	dir, m := fixtures(t)
	c := modelCases(dir)[2] // tiny-gelu/hf
	onednn := haveOneDNN()

	img, err := libclip.OpenImageEncoder(c.path, &libclip.Options{Precision: libclip.PrecisionBF16})
	if err != nil {
		var e *libclip.Error
		if !errors.As(err, &e) || e.Status != libclip.ErrUnsupported || e.Message == "" ||
			!strings.HasSuffix(err.Error(), ": "+e.Message) {
			t.Fatalf("BF16: %v, want ErrUnsupported with the library's message", err)
		}
		if !onednn && !strings.Contains(e.Message, "built without oneDNN") {
			t.Errorf("BF16 without oneDNN: %q", e.Message)
		}
		t.Logf("BF16 is unsupported here: %s", e.Message)
	} else {
		defer img.Close()
		txt := openText(t, c, libclip.Options{Precision: libclip.PrecisionBF16})
		for _, d := range []string{img.Describe(), txt.Describe()} {
			if f := described(d); f["engine"] != "onednn" || f["precision"] != "bf16" {
				t.Errorf("BF16 encoder: Describe() = %q", d)
			}
		}
		f32Img := openImage(t, c.path, nil)
		f32Txt := openText(t, c, libclip.Options{})
		low := encodeAll(t, img, txt, imagePaths(dir, m), m.Texts.List)
		full := encodeAll(t, f32Img, f32Txt, imagePaths(dir, m), m.Texts.List)
		for i := range low {
			var dot float64
			for d := range low[i] {
				dot += float64(low[i][d]) * float64(full[i][d])
			}
			if dot < 0.999 { // unit vectors: the cosine
				t.Errorf("row %d: BF16 and F32 have cosine %v", i, dot)
			}
		}
	}

	_, err = libclip.OpenImageEncoder(c.path, &libclip.Options{Engine: libclip.EngineCBLAS,
		Precision: libclip.PrecisionBF16})
	var e *libclip.Error
	if !errors.As(err, &e) || e.Status != libclip.ErrUnsupported || !strings.Contains(e.Message, "oneDNN") {
		t.Errorf("CBLAS with BF16: %v, want ErrUnsupported", err)
	}
}

// oneDNN limited to AVX2 (its DNNL_MAX_CPU_ISA, read once per process)
// stands in for a CPU without bfloat16 instructions: BF16 is ErrUnsupported
// with the reason, F32 runs on oneDNN.
func TestBF16UnsupportedWithoutBF16Instructions(t *testing.T) {
	if !haveOneDNN() {
		t.Skip("libclip was built without oneDNN")
	}
	if !inChildProcess(t, "DNNL_MAX_CPU_ISA=AVX2", "ONEDNN_MAX_CPU_ISA=AVX2") {
		return
	}
	dir, _ := fixtures(t)
	model := filepath.Join(dir, "models", "tiny-gelu", "hf")
	_, err := libclip.OpenImageEncoder(model, &libclip.Options{Precision: libclip.PrecisionBF16})
	var e *libclip.Error
	if !errors.As(err, &e) || e.Status != libclip.ErrUnsupported ||
		!strings.HasPrefix(e.Message, "precision BF16 needs native bfloat16 instructions") {
		t.Errorf("BF16 on AVX2: %v, want ErrUnsupported", err)
	}
	description, err := openDescribe(false, model, libclip.Options{Engine: libclip.EngineOneDNN})
	if f := described(description); err != nil || f["engine"] != "onednn" || f["precision"] != "f32" {
		t.Errorf("oneDNN F32 on AVX2: %q, %v", description, err)
	}
}

// EngineOneDNN in F32 gives the embeddings of EngineCBLAS within 1e-5.
func TestOneDNNAgreesWithCBLAS(t *testing.T) {
	if !haveOneDNN() {
		t.Skip("libclip was built without oneDNN")
	}
	dir, m := fixtures(t)
	images := imagePaths(dir, m)
	for _, c := range modelCases(dir) {
		var results [2][][]float32
		for i, engine := range []libclip.Engine{libclip.EngineCBLAS, libclip.EngineOneDNN} {
			img := openImage(t, c.path, &libclip.Options{Engine: engine})
			txt := openText(t, c, libclip.Options{Engine: engine})
			if described(img.Describe())["engine"] != engine.String() ||
				described(txt.Describe())["engine"] != engine.String() {
				t.Fatalf("%s: asked for %v, got %q and %q", c.name, engine, img.Describe(), txt.Describe())
			}
			results[i] = encodeAll(t, img, txt, images, m.Texts.List)
		}
		for i := range results[0] {
			for d := range results[0][i] {
				if diff := math.Abs(float64(results[0][i][d] - results[1][i][d])); diff > 1e-5 {
					t.Fatalf("%s: row %d value %d differs by %g", c.name, i, d, diff)
				}
			}
		}
	}
}
