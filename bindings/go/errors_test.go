package libclip_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"libclip.dev/go/libclip"
)

func TestVersion(t *testing.T) {
	v := libclip.Version()
	var major, minor, patch int
	if _, err := fmt.Sscanf(v, "%d.%d.%d", &major, &minor, &patch); err != nil || strings.Count(v, ".") != 2 {
		t.Fatalf("Version() = %q, want MAJOR.MINOR.PATCH", v)
	}
	if n := libclip.VersionNumber(); n != major*10000+minor*100+patch || n < 200 {
		t.Errorf("VersionNumber() = %d for Version() %q", n, v)
	}
}

func TestBuildInfo(t *testing.T) {
	info := libclip.BuildInfo()
	fields := map[string]string{}
	for _, f := range strings.Split(info, "; ") {
		kv := strings.SplitN(f, "=", 2)
		if len(kv) != 2 {
			t.Fatalf("BuildInfo() = %q: field %q is not key=value", info, f)
		}
		fields[kv[0]] = kv[1]
	}
	for _, key := range []string{"version", "blas", "blas_config", "blas_threading", "engines", "simd", "compiler"} {
		if fields[key] == "" {
			t.Errorf("BuildInfo() = %q: no %s", info, key)
		}
	}
	if fields["version"] != libclip.Version() {
		t.Errorf("BuildInfo() = %q, Version() = %q", info, libclip.Version())
	}
	t.Log(info)
}

func TestStatus(t *testing.T) {
	if s := libclip.ErrIO.String(); s != "I/O error" {
		t.Errorf("ErrIO.String() = %q", s)
	}
	if s := libclip.Status(99).String(); s != "unknown status" {
		t.Errorf("Status(99).String() = %q", s)
	}
	// Exhaustive: the loaded library knows every constant, and none beyond.
	for s := libclip.ErrInvalidArgument; s <= libclip.ErrCancelled+1; s++ {
		if known := s.String() != "unknown status"; known != (s <= libclip.ErrCancelled) {
			t.Errorf("Status(%d).String() = %q", int(s), s.String())
		}
	}
	err := error(&libclip.Error{Op: "X", Status: libclip.ErrFormat, Message: "bad"})
	if !errors.Is(err, libclip.ErrFormat) || errors.Is(err, libclip.ErrIO) {
		t.Errorf("errors.Is on %v", err)
	}
	var s libclip.Status
	if !errors.As(err, &s) || s != libclip.ErrFormat {
		t.Errorf("errors.As(%v, *Status) gave %v", err, s)
	}
	if got := err.Error(); got != "libclip: X: malformed input: bad" {
		t.Errorf("Error() = %q", got)
	}
	err = &libclip.Error{Op: "X", Status: libclip.ErrCancelled, Err: context.Canceled}
	if !errors.Is(err, context.Canceled) || !errors.Is(err, libclip.ErrCancelled) ||
		errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &s) || s != libclip.ErrCancelled {
		t.Errorf("errors.Is/As on %v", err)
	}
}

func wantStatus(t *testing.T, what string, err error, want libclip.Status) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: got %v, want %v", what, err, want)
	}
	var e *libclip.Error
	if !errors.As(err, &e) || e.Status != want {
		t.Fatalf("%s: %v is not an *Error with Status %v", what, err, want)
	}
	t.Logf("%s: %v", what, err)
}

func TestOpenErrors(t *testing.T) {
	dir, _ := fixtures(t)
	tmp := t.TempDir()

	missing := filepath.Join(tmp, "no-such-model")
	_, err := libclip.OpenImageEncoder(missing, nil)
	wantStatus(t, "missing model (image)", err, libclip.ErrIO)
	if e := (*libclip.Error)(nil); errors.As(err, &e) && e.Message == "" {
		t.Errorf("no detail message in %v", err)
	}
	_, err = libclip.OpenTextEncoder(missing, nil)
	wantStatus(t, "missing model (text)", err, libclip.ErrIO)

	corrupt := filepath.Join(tmp, "corrupt.safetensors")
	if err := os.WriteFile(corrupt, []byte("\x10\x00\x00\x00\x00\x00\x00\x00{not json at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = libclip.OpenImageEncoder(corrupt, nil)
	wantStatus(t, "corrupt model", err, libclip.ErrFormat)

	model := modelCases(dir)[0].path
	_, err = libclip.OpenImageEncoder(model, &libclip.Options{Threads: -1})
	wantStatus(t, "negative Threads", err, libclip.ErrInvalidArgument)
	_, err = libclip.OpenImageEncoder(model+"\x00x", nil)
	wantStatus(t, "NUL in path", err, libclip.ErrInvalidArgument)
	_, err = libclip.OpenTextEncoder(model, &libclip.Options{VocabPath: filepath.Join(tmp, "none.txt.gz")})
	if err == nil {
		t.Error("a missing VocabPath opened")
	}
	_, err = libclip.OpenImageEncoder(model, &libclip.Options{MaxHeaderBytes: 8})
	wantStatus(t, "MaxHeaderBytes", err, libclip.ErrTooLarge)
}

func TestEncodeErrors(t *testing.T) {
	dir, m := fixtures(t)
	c := modelCases(dir)[0]
	img := openImage(t, c.path, nil)
	txt := openText(t, c, libclip.Options{})
	tmp := t.TempDir()

	_, err := img.EncodeFile(filepath.Join(tmp, "none.png"))
	wantStatus(t, "missing image", err, libclip.ErrIO)
	_, err = img.EncodeBytes([]byte("this is not an image at all"))
	wantStatus(t, "not an image format libclip reads", err, libclip.ErrUnsupported)
	_, err = img.EncodeBytes([]byte("\x89PNG\r\n\x1a\n and then garbage, not chunks"))
	wantStatus(t, "corrupt PNG", err, libclip.ErrFormat)
	data, err := os.ReadFile(filepath.Join(dir, m.Images[0].File))
	if err != nil {
		t.Fatal(err)
	}
	_, err = img.EncodeBytes(data[:len(data)/2])
	wantStatus(t, "truncated PNG", err, libclip.ErrFormat)
	truncated := filepath.Join(tmp, "truncated.png")
	if err := os.WriteFile(truncated, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = img.EncodeFile(truncated)
	wantStatus(t, "truncated PNG file", err, libclip.ErrFormat)
	_, err = img.EncodeFiles([]string{filepath.Join(dir, m.Images[0].File), truncated})
	wantStatus(t, "batch with a truncated PNG", err, libclip.ErrFormat)
	_, err = img.EncodeBytes(nil)
	if err == nil {
		t.Error("EncodeBytes(nil) succeeded")
	}
	_, err = img.EncodeFiles([]string{"a", "b\x00"})
	wantStatus(t, "NUL in a path", err, libclip.ErrInvalidArgument)
	_, err = txt.EncodeBatch([]string{"a", "b\x00c"})
	wantStatus(t, "NUL in a text", err, libclip.ErrInvalidArgument)
	_, err = txt.Tokenize("\x00")
	wantStatus(t, "NUL in Tokenize", err, libclip.ErrInvalidArgument)
}

func TestUseAfterClose(t *testing.T) {
	dir, m := fixtures(t)
	c := modelCases(dir)[0]
	img, err := libclip.OpenImageEncoder(c.path, nil)
	if err != nil {
		t.Fatal(err)
	}
	txt, err := libclip.OpenTextEncoder(c.path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := img.Close(); err != nil {
			t.Fatalf("image Close %d: %v", i+1, err)
		}
		if err := txt.Close(); err != nil {
			t.Fatalf("text Close %d: %v", i+1, err)
		}
	}
	path := filepath.Join(dir, m.Images[0].File)
	calls := map[string]error{}
	_, calls["EncodeFile"] = img.EncodeFile(path)
	_, calls["EncodeFiles"] = img.EncodeFiles([]string{path})
	_, calls["EncodeFiles(nil)"] = img.EncodeFiles(nil)
	_, calls["EncodeBytes"] = img.EncodeBytes([]byte{1})
	_, calls["EncodeImage"] = img.EncodeImage(decodePNG(t, path))
	_, calls["Preprocess"] = img.Preprocess(path)
	_, calls["EncodePixels"] = img.EncodePixels([][]float32{make([]float32, 3*32*32)})
	_, calls["Tokenize"] = txt.Tokenize("a")
	_, calls["Encode"] = txt.Encode("a")
	_, calls["EncodeBatch"] = txt.EncodeBatch([]string{"a"})
	_, calls["EncodeTokens"] = txt.EncodeTokens([][]int32{make([]int32, 77)})
	ctx := context.Background()
	_, calls["EncodeFilesContext"] = img.EncodeFilesContext(ctx, []string{path}, nil)
	_, _, calls["EncodeFilesEach"] = img.EncodeFilesEach(ctx, nil, nil)
	_, calls["EncodePixelsContext"] = img.EncodePixelsContext(ctx, nil, nil)
	_, calls["EncodeBatchContext"] = txt.EncodeBatchContext(ctx, []string{"a"}, nil)
	_, _, calls["EncodeBatchEach"] = txt.EncodeBatchEach(ctx, []string{"a"}, nil)
	_, calls["EncodeTokensContext"] = txt.EncodeTokensContext(ctx, nil, nil)
	_, _, calls["EncodeTokensEach"] = txt.EncodeTokensEach(ctx, [][]int32{make([]int32, 77)}, nil)
	for name, err := range calls {
		if !errors.Is(err, libclip.ErrClosed) {
			t.Errorf("%s after Close: %v, want ErrClosed", name, err)
		}
	}
	if img.Dim() != 32 || txt.ContextLength() != 77 {
		t.Errorf("accessors after Close: Dim %d, ContextLength %d", img.Dim(), txt.ContextLength())
	}
}
