package libclip_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"libclip.dev/go/libclip"
)

// logRecorder is an Options.Log that keeps what it receives; C may call it
// from several threads at once.
type logRecorder struct {
	mu    sync.Mutex
	lines []string // "level: message"
}

func (r *logRecorder) log(level libclip.LogLevel, message string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lines = append(r.lines, level.String()+": "+message)
}

// count returns how many lines start with prefix and contain substr.
func (r *logRecorder) count(prefix, substr string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, l := range r.lines {
		if strings.HasPrefix(l, prefix) && strings.Contains(l, substr) {
			n++
		}
	}
	return n
}

func (r *logRecorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

// warningJPEG writes a copy of a fixture JPEG with stray bytes before its
// final EOI marker (FF D9): libjpeg decodes it with a warning
// ("extraneous bytes before marker 0xd9"). 16 bytes, because the entropy
// decoder's bit buffer silently takes the first few.
func warningJPEG(t *testing.T, dir, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "images", "photo_chelsea_451x300_q90_420.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasSuffix(data, []byte{0xff, 0xd9}) {
		t.Fatal("the fixture JPEG does not end with EOI")
	}
	end := len(data) - 2
	stray := append(append(append([]byte{}, data[:end]...), bytes.Repeat([]byte{0x12}, 16)...), data[end:]...)
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, stray, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLogLevelString(t *testing.T) {
	for level, want := range map[libclip.LogLevel]string{
		libclip.LogWarning: "warning", libclip.LogInfo: "info", 9: "LogLevel(9)"} {
		if got := level.String(); got != want {
			t.Errorf("LogLevel(%d).String() = %q, want %q", int(level), got, want)
		}
	}
}

// A JPEG warning reaches Options.Log, and the image is still encoded
// (TestOwnThreads: also from libclip's own threads).
func TestLogJPEGWarning(t *testing.T) {
	dir, _ := fixtures(t)
	checkJPEGWarnings(t, dir, 0)
}

func checkJPEGWarnings(t *testing.T, dir string, threads int) {
	rec := &logRecorder{}
	img := openImage(t, modelCases(dir)[0].path, &libclip.Options{Threads: threads, Log: rec.log})
	path := warningJPEG(t, dir, "stray.jpg")
	if _, err := img.EncodeFile(path); err != nil {
		t.Fatal(err)
	}
	if rec.count("warning: ", "stray.jpg: JPEG warning") != 1 {
		t.Fatalf("no JPEG warning for stray.jpg in the log:\n%s", rec)
	}
	paths := make([]string, 6)
	for i := range paths {
		paths[i] = warningJPEG(t, dir, "batch.jpg")
	}
	if _, err := img.EncodeFiles(paths); err != nil {
		t.Fatal(err)
	}
	if n := rec.count("warning: ", "batch.jpg: JPEG warning"); n != len(paths) {
		t.Fatalf("%d JPEG warnings for %d files:\n%s", n, len(paths), rec)
	}
	t.Logf("Threads %d:\n%s", threads, rec)
}

// Choices made at open reach Options.Log: hyperparameters inferred (an
// open_clip file without its config) and a text encoder without vocabulary.
func TestLogOpen(t *testing.T) {
	dir, _ := fixtures(t)
	openClip := filepath.Join(dir, "models", "tiny-quickgelu", "open_clip")
	weights, err := filepath.Abs(filepath.Join(openClip, "open_clip_model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	alone := filepath.Join(t.TempDir(), "model.safetensors")
	if err := os.Symlink(weights, alone); err != nil {
		t.Fatal(err)
	}
	rec := &logRecorder{}
	img := openImage(t, alone, &libclip.Options{Log: rec.log})
	if rec.count("info: ", "hyperparameters inferred") != 1 {
		t.Errorf("no info about inferred hyperparameters in the log:\n%s", rec)
	}
	if img.Dim() != 32 {
		t.Errorf("Dim %d", img.Dim())
	}

	// open_clip weights without a tokenizer file: libclip's own vocabulary
	rec = &logRecorder{}
	txt, err := libclip.OpenTextEncoder(openClip, &libclip.Options{Log: rec.log})
	if err != nil {
		t.Fatal(err)
	}
	defer txt.Close()
	if rec.count("info: ", "BPE vocabulary builtin:") != 1 {
		t.Errorf("no message about the default vocabulary in the log:\n%s", rec)
	}
	t.Logf("%s", rec)

	// none at all (an embedding table too small for CLIP's vocabulary)
	rec = &logRecorder{}
	bare, err := libclip.OpenTextEncoder(smallVocabModel(t, dir), &libclip.Options{Log: rec.log})
	if err != nil {
		t.Fatal(err)
	}
	defer bare.Close()
	if rec.count("warning: ", "no BPE vocabulary") != 1 {
		t.Errorf("no message about the missing vocabulary in the log:\n%s", rec)
	}
}
