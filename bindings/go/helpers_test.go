package libclip_test

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The shared fixtures (see their README.md): tiny random-weight CLIP models,
// test images and the reference implementation's outputs.

var modelNames = []string{"tiny-quickgelu", "tiny-gelu"}

type manifest struct {
	Images []struct {
		Name    string `json:"name"`
		File    string `json:"file"`
		PilMode string `json:"pil_mode"`
	} `json:"images"`
	Texts struct {
		TokensFile string   `json:"tokens_file"`
		List       []string `json:"list"`
	} `json:"texts"`
	Models map[string]struct {
		Golden struct {
			LogitScaleExp float64 `json:"logit_scale_exp"`
		} `json:"golden"`
	} `json:"models"`
}

// fixtures returns the fixtures directory ($LIBCLIP_FIXTURES_DIR, or
// ../../../shared/fixtures from this package) and its manifest, or skips t.
func fixtures(t testing.TB) (string, *manifest) {
	t.Helper()
	dir := os.Getenv("LIBCLIP_FIXTURES_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "fixtures")
	}
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Skipf("no fixtures (set LIBCLIP_FIXTURES_DIR): %v", err)
	}
	m := &manifest{}
	if err := json.Unmarshal(data, m); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	return dir, m
}

// imagePaths returns the test images in manifest order.
func imagePaths(dir string, m *manifest) []string {
	paths := make([]string, len(m.Images))
	for i, im := range m.Images {
		paths[i] = filepath.Join(dir, im.File)
	}
	return paths
}

// modelCase is one model in one checkpoint layout.
type modelCase struct {
	name   string // e.g. "tiny-gelu/hf"
	model  string // fixture model name
	path   string // what to open
	vocab  string // Options.VocabPath the text encoder needs
	cliDir string // a directory clip-embed can open for text ("" until made)
}

func modelCases(dir string) []modelCase {
	var cases []modelCase
	for _, m := range modelNames {
		cases = append(cases,
			modelCase{name: m + "/hf", model: m, path: filepath.Join(dir, "models", m, "hf")},
			modelCase{name: m + "/open_clip", model: m, path: filepath.Join(dir, "models", m, "open_clip"),
				vocab: filepath.Join(dir, "bpe_simple_vocab_16e6.txt.gz")})
	}
	return cases
}

// textModelDir returns a directory that clip-embed (which has no vocabulary
// option) can open as a text model: the case's own path when it needs no
// vocabulary, otherwise a temporary directory of symbolic links to the
// open_clip files with the vocabulary beside them.
func textModelDir(t *testing.T, c modelCase) string {
	t.Helper()
	if c.vocab == "" {
		return c.path
	}
	tmp := t.TempDir()
	entries, err := os.ReadDir(c.path)
	if err != nil {
		t.Fatal(err)
	}
	links := map[string]string{filepath.Base(c.vocab): c.vocab}
	for _, e := range entries {
		links[e.Name()] = filepath.Join(c.path, e.Name())
	}
	for name, target := range links {
		abs, err := filepath.Abs(target)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(abs, filepath.Join(tmp, name)); err != nil {
			t.Fatal(err)
		}
	}
	return tmp
}

// clipEmbed returns the path of the C API's clip-embed tool
// ($LIBCLIP_TOOLS_DIR/clip-embed, else from PATH), or skips t.
func clipEmbed(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("LIBCLIP_TOOLS_DIR"); d != "" {
		p := filepath.Join(d, "clip-embed")
		if _, err := os.Stat(p); err == nil {
			return p
		}
		t.Skipf("no clip-embed in LIBCLIP_TOOLS_DIR=%s", d)
	}
	p, err := exec.LookPath("clip-embed")
	if err != nil {
		t.Skip("clip-embed not found: set LIBCLIP_TOOLS_DIR to the build's examples directory")
	}
	return p
}

// runEmbed runs clip-embed with args and --format f32, and returns the rows
// it wrote.
func runEmbed(t *testing.T, args ...string) []float32 {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out.f32")
	cmd := exec.Command(clipEmbed(t), append([]string{"--format", "f32", "--out", out}, args...)...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("clip-embed %q: %v\n%s", args, err, msg)
	}
	return readF32(t, out)
}

// cliRows runs clip-embed for model, raw or not, with the inputs after flag
// (--image or --text), and splits its output into rows of dim.
func cliRows(t *testing.T, model string, raw bool, dim int, flag string, inputs ...string) [][]float32 {
	t.Helper()
	args := []string{"--model", model}
	if raw {
		args = append(args, "--raw")
	}
	args = append(append(args, flag), inputs...)
	flat := runEmbed(t, args...)
	if len(flat) != len(inputs)*dim {
		t.Fatalf("clip-embed wrote %d values, want %d x %d", len(flat), len(inputs), dim)
	}
	out := make([][]float32, len(inputs))
	for i := range out {
		out[i] = flat[i*dim : (i+1)*dim]
	}
	return out
}

func readF32(t testing.TB, path string) []float32 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(data)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
	}
	return out
}

func readI32(t testing.TB, path string) []int32 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int32, len(data)/4)
	for i := range out {
		out[i] = int32(binary.LittleEndian.Uint32(data[4*i:]))
	}
	return out
}

// inChildProcess runs the calling test alone in a child process (this test
// binary), with env ("KEY=value") added to its environment, and tells the
// caller whether it is that child, which does the work; the parent only
// checks that the child passed. For tests that set Options.Threads > 0:
// on the CBLAS engine libclip then sets OpenBLAS's process-wide thread
// count to 1, and the bit-for-bit comparisons with clip-embed in the other
// tests need the process's default; and for tests that need an environment
// read once.
func inChildProcess(t *testing.T, env ...string) bool {
	t.Helper()
	const child = "LIBCLIP_GO_TEST_CHILD"
	if os.Getenv(child) == t.Name() {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Env = append(append(os.Environ(), child+"="+t.Name()), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s in a child process: %v\n%s", t.Name(), err, out)
	}
	t.Logf("%s in a child process:\n%s", t.Name(), out)
	return false
}

// sameBits fails t unless got and want hold the same float32 bit patterns.
func sameBits(t testing.TB, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: value %d is %v, want %v (bit for bit)", what, i, got[i], want[i])
		}
	}
}

// closeTo applies the fixtures' embedding tolerance: cosine >= 0.99999 and
// max |got - want| <= 1e-4 * max |want|.
func closeTo(t testing.TB, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	var dot, gg, ww, maxDiff, maxRef float64
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		dot += g * w
		gg += g * g
		ww += w * w
		maxDiff = math.Max(maxDiff, math.Abs(g-w))
		maxRef = math.Max(maxRef, math.Abs(w))
	}
	if cos := dot / math.Sqrt(gg*ww); cos < 0.99999 || maxDiff > 1e-4*maxRef {
		t.Fatalf("%s: cosine %.9f, max abs diff %g (max ref %g)", what, cos, maxDiff, maxRef)
	}
}

func normalized(v []float32) []float32 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(float64(x) / math.Sqrt(s))
	}
	return out
}

// smallVocabModel writes tiny-quickgelu's open_clip weights alone
// (hyperparameters inferred) with the token embedding cut to its first 1000
// rows: too few ids for CLIP's vocabulary, so the text encoder uses none,
// not even libclip's own copy, and opens for token ids only. It returns the
// file's path.
func smallVocabModel(t *testing.T, dir string) string {
	t.Helper()
	blob, err := os.ReadFile(filepath.Join(dir, "models", "tiny-quickgelu", "open_clip", "open_clip_model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	length := binary.LittleEndian.Uint64(blob[:8])
	type tensor struct {
		Dtype       string   `json:"dtype"`
		Shape       []int64  `json:"shape"`
		DataOffsets [2]int64 `json:"data_offsets"`
	}
	raw := map[string]json.RawMessage{}
	if err := json.Unmarshal(blob[8:8+length], &raw); err != nil {
		t.Fatal(err)
	}
	delete(raw, "__metadata__")
	data := blob[8+length:]
	table := map[string]tensor{}
	var out []byte
	for name, entry := range raw {
		var tn tensor
		if err := json.Unmarshal(entry, &tn); err != nil {
			t.Fatal(err)
		}
		chunk := data[tn.DataOffsets[0]:tn.DataOffsets[1]]
		if name == "token_embedding.weight" {
			chunk = chunk[:int64(len(chunk))/tn.Shape[0]*1000]
			tn.Shape[0] = 1000
		}
		tn.DataOffsets = [2]int64{int64(len(out)), int64(len(out) + len(chunk))}
		out = append(out, chunk...)
		table[name] = tn
	}
	header, err := json.Marshal(table)
	if err != nil {
		t.Fatal(err)
	}
	for len(header)%8 != 0 {
		header = append(header, ' ')
	}
	file := make([]byte, 8, 8+len(header)+len(out))
	binary.LittleEndian.PutUint64(file, uint64(len(header)))
	file = append(append(file, header...), out...)
	path := filepath.Join(t.TempDir(), "model.safetensors")
	if err := os.WriteFile(path, file, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
