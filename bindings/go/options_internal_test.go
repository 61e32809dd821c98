package libclip

import (
	"os"
	"path/filepath"
	"runtime/cgo"
	"testing"
	"unsafe"
)

// The options start from the sized initialiser with this header's size
// (0.1.0's lclip_options_init function would give 72), and Options' fields
// land in them.
func TestCOptionsSizedInit(t *testing.T) {
	co, err := newCOptions("test", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer co.free()
	size := unsafe.Sizeof(*co.opts) // the Go view of C's sizeof(lclip_options)
	if uintptr(co.opts.struct_size) != size {
		t.Errorf("struct_size %d, sizeof(lclip_options) %d", co.opts.struct_size, size)
	}
	if unsafe.Sizeof(uintptr(0)) == 8 && size != 96 {
		t.Errorf("sizeof(lclip_options) %d, want 0.3.0's 96 on LP64", size)
	}
	if co.opts.normalize != 1 || co.opts.truncate_text != 1 || co.opts.max_image_pixels != 178956970 ||
		co.opts.log != nil || co.opts.log_user != nil || co.log != 0 ||
		co.opts.engine != 0 || co.opts.precision != 0 {
		t.Errorf("not the C defaults: %+v", *co.opts)
	}

	co2, err := newCOptions("test", &Options{Threads: 2, RawOutput: true, VocabPath: "v.txt.gz",
		MaxImagePixels: 7, Log: func(LogLevel, string) {}, Engine: EngineOneDNN, Precision: PrecisionBF16})
	if err != nil {
		t.Fatal(err)
	}
	defer co2.free()
	if co2.opts.n_threads != 2 || co2.opts.normalize != 0 || co2.opts.max_image_pixels != 7 ||
		co2.opts.vocab_path == nil || co2.opts.log == nil || co2.log == 0 ||
		uintptr(co2.opts.log_user) != uintptr(co2.log) ||
		int(co2.opts.engine) != int(EngineOneDNN) || int(co2.opts.precision) != int(PrecisionBF16) {
		t.Errorf("Options not applied: %+v", *co2.opts)
	}
}

// The log handle lives as long as the encoder and is deleted by Close.
func TestLogHandleLifetime(t *testing.T) {
	dir := os.Getenv("LIBCLIP_FIXTURES_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "fixtures")
	}
	model := filepath.Join(dir, "models", "tiny-gelu", "hf")
	if _, err := os.Stat(model); err != nil {
		t.Skipf("no fixtures (set LIBCLIP_FIXTURES_DIR): %v", err)
	}
	logf := func(LogLevel, string) {}
	img, err := OpenImageEncoder(model, &Options{Log: logf})
	if err != nil {
		t.Fatal(err)
	}
	txt, err := OpenTextEncoder(model, &Options{Log: logf})
	if err != nil {
		t.Fatal(err)
	}
	for name, h := range map[string]cgo.Handle{"image": img.log, "text": txt.log} {
		if _, ok := h.Value().(*logger); !ok {
			t.Fatalf("%s encoder: the log handle holds %T", name, h.Value())
		}
	}
	img.Close()
	txt.Close()
	for name, h := range map[string]cgo.Handle{"image": img.log, "text": txt.log} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s encoder: the log handle is still valid after Close", name)
				}
			}()
			h.Value()
		}()
	}
	plain, err := OpenImageEncoder(model, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if plain.log != 0 {
		t.Errorf("an encoder without Options.Log has a log handle")
	}
}
