package libclip_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"libclip.dev/go/libclip"
)

// near fails t unless got and want differ by at most 1e-5 per value (a batch
// and a single call may block their GEMMs differently).
func near(t testing.TB, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); !(d <= 1e-5) {
			t.Fatalf("%s: value %d is %v, want %v", what, i, got[i], want[i])
		}
	}
}

// checkEach checks the result of an Each call: rows[i] is nil exactly where
// errs[i] is an *Error of the call with Status failures[i], and the other
// rows equal single(i).
func checkEach(t *testing.T, op string, rows [][]float32, errs []error, err error, n int,
	failures map[int]libclip.Status, single func(i int) []float32) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != n || len(errs) != n {
		t.Fatalf("%d rows and %d errors for %d inputs", len(rows), len(errs), n)
	}
	for i := 0; i < n; i++ {
		want, failed := failures[i]
		var e *libclip.Error
		switch {
		case !failed && (errs[i] != nil || rows[i] == nil):
			t.Fatalf("input %d: error %v, row %v", i, errs[i], rows[i])
		case !failed:
			near(t, op+" row "+strconv.Itoa(i), rows[i], single(i))
		case rows[i] != nil || !errors.As(errs[i], &e) || e.Status != want || e.Op != op || e.Message == "":
			t.Fatalf("input %d: error %v (want %v from %s with a message), row %v", i, errs[i], want, op, rows[i])
		default:
			t.Logf("input %d: %v", i, errs[i])
		}
	}
}

func TestEncodeFilesEach(t *testing.T) {
	dir, m := fixtures(t)
	checkFilesEach(t, dir, m, 0)
}

// checkFilesEach checks per-input results on an image encoder with threads.
func checkFilesEach(t *testing.T, dir string, m *manifest, threads int) {
	good := imagePaths(dir, m)
	tmp := t.TempDir()
	data, err := os.ReadFile(good[0])
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(tmp, "truncated.png")
	notImage := filepath.Join(tmp, "notes.txt")
	if os.WriteFile(truncated, data[:len(data)/2], 0o644) != nil || os.WriteFile(notImage, []byte("hello"), 0o644) != nil {
		t.Fatal("cannot write the bad files")
	}
	paths := []string{good[0], truncated, good[1], filepath.Join(tmp, "none.png"), good[2], "a\x00b", notImage, good[3]}
	failures := map[int]libclip.Status{1: libclip.ErrFormat, 3: libclip.ErrIO, 5: libclip.ErrInvalidArgument,
		6: libclip.ErrUnsupported}
	img := openImage(t, modelCases(dir)[0].path, &libclip.Options{Threads: threads})
	rows, errs, err := img.EncodeFilesEach(context.Background(), paths, nil)
	checkEach(t, "EncodeFilesEach", rows, errs, err, len(paths), failures, func(i int) []float32 {
		v, err := img.EncodeFile(paths[i])
		if err != nil {
			t.Fatal(err)
		}
		return v
	})
	for _, i := range []int{1, 3} {
		if !strings.Contains(errs[i].Error(), filepath.Base(paths[i])) {
			t.Errorf("the error of %s does not name it: %v", paths[i], errs[i])
		}
	}

	rows, errs, err = img.EncodeFilesEach(context.Background(), paths[5:7], nil)
	checkEach(t, "EncodeFilesEach", rows, errs, err, 2,
		map[int]libclip.Status{0: libclip.ErrInvalidArgument, 1: libclip.ErrUnsupported}, nil)
	rows, errs, err = img.EncodeFilesEach(context.Background(), nil, nil)
	if len(rows) != 0 || len(errs) != 0 || err != nil {
		t.Errorf("no paths: %v, %v, %v", rows, errs, err)
	}
}

// With Threads > 0 libclip's own threads decode the images: their warnings
// reach Options.Log from threads that Go did not start, and per-input
// results are what the calling thread alone gives.
func TestOwnThreads(t *testing.T) {
	dir, m := fixtures(t)
	if !inChildProcess(t) {
		return
	}
	checkJPEGWarnings(t, dir, 3)
	checkFilesEach(t, dir, m, 3)
}

func TestEncodeBatchEach(t *testing.T) {
	dir, m := fixtures(t)
	c := modelCases(dir)[1]
	txt := openText(t, c, libclip.Options{})
	list := m.Texts.List
	texts := []string{list[0], "\xff\xfe", list[1], "a\x00b", list[2]}
	rows, errs, err := txt.EncodeBatchEach(context.Background(), texts, nil)
	checkEach(t, "EncodeBatchEach", rows, errs, err, len(texts),
		map[int]libclip.Status{1: libclip.ErrInvalidArgument, 3: libclip.ErrInvalidArgument},
		func(i int) []float32 {
			v, err := txt.Encode(texts[i])
			if err != nil {
				t.Fatal(err)
			}
			return v
		})

	// A missing vocabulary is the encoder's failure, not each text's.
	bare, err := libclip.OpenTextEncoder(smallVocabModel(t, dir), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer bare.Close()
	rows, errs, err = bare.EncodeBatchEach(context.Background(), list[:2], nil)
	if rows != nil || errs != nil {
		t.Errorf("results without a vocabulary: %v, %v", rows, errs)
	}
	wantStatus(t, "EncodeBatchEach without a vocabulary", err, libclip.ErrUnsupported)
}

func TestEncodeTokensEach(t *testing.T) {
	dir, m := fixtures(t)
	txt := openText(t, modelCases(dir)[0], libclip.Options{})
	var tokens [][]int32
	for _, s := range m.Texts.List[:3] {
		ids, err := txt.Tokenize(s)
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, ids)
	}
	outside := append([]int32{}, tokens[0]...)
	outside[1] = 49408
	tokens = [][]int32{tokens[0], outside, tokens[1], tokens[2]}
	rows, errs, err := txt.EncodeTokensEach(context.Background(), tokens, nil)
	checkEach(t, "EncodeTokensEach", rows, errs, err, len(tokens),
		map[int]libclip.Status{1: libclip.ErrInvalidArgument}, func(i int) []float32 {
			v, err := txt.EncodeTokens(tokens[i : i+1])
			if err != nil {
				t.Fatal(err)
			}
			return v[0]
		})
	_, _, err = txt.EncodeTokensEach(context.Background(), [][]int32{tokens[0], tokens[0][:5]}, nil)
	wantStatus(t, "a short row", err, libclip.ErrInvalidArgument)
}

// batchInputs returns enough inputs for several passes through the towers
// of the tiny models (45 images or 53 texts per pass).
func batchInputs(t *testing.T) (img *libclip.ImageEncoder, txt *libclip.TextEncoder, paths, texts []string) {
	dir, m := fixtures(t)
	c := modelCases(dir)[0]
	for i := 0; i < 8; i++ {
		paths = append(paths, imagePaths(dir, m)...)
		texts = append(texts, m.Texts.List...)
	}
	return openImage(t, c.path, nil), openText(t, c, libclip.Options{}), paths, texts
}

// progressLog records the reports of a ProgressFunc.
type progressLog [][2]int

func (p *progressLog) report(done, total int) { *p = append(*p, [2]int{done, total}) }

// check fails t unless the reports rose to total, in more than one pass
// when several is set.
func (p progressLog) check(t *testing.T, what string, total int, several bool) {
	t.Helper()
	ok := len(p) > 0 && p[len(p)-1][0] == total && (!several || len(p) > 1)
	for i, r := range p {
		ok = ok && r[1] == total && r[0] > 0 && (i == 0 || r[0] > p[i-1][0])
	}
	if !ok {
		t.Fatalf("%s: progress %v for %d inputs", what, p, total)
	}
	t.Logf("%s: progress %v", what, p)
}

// The Context forms report progress and return what the plain calls return.
func TestBatchProgress(t *testing.T) {
	img, txt, paths, texts := batchInputs(t)
	ctx := context.Background()
	flat := func(rows [][]float32) (out []float32) {
		for _, r := range rows {
			out = append(out, r...)
		}
		return out
	}

	var p progressLog
	got, err := img.EncodeFilesContext(ctx, paths, p.report)
	want, err2 := img.EncodeFiles(paths)
	if err != nil || err2 != nil {
		t.Fatal(err, err2)
	}
	p.check(t, "EncodeFilesContext", len(paths), true)
	sameBits(t, "EncodeFilesContext", flat(got), flat(want))

	p = nil
	got, err = txt.EncodeBatchContext(ctx, texts, p.report)
	want, err2 = txt.EncodeBatch(texts)
	if err != nil || err2 != nil {
		t.Fatal(err, err2)
	}
	p.check(t, "EncodeBatchContext", len(texts), true)
	sameBits(t, "EncodeBatchContext", flat(got), flat(want))

	var tokens [][]int32
	for _, s := range texts {
		ids, err := txt.Tokenize(s)
		if err != nil {
			t.Fatal(err)
		}
		tokens = append(tokens, ids)
	}
	p = nil
	got, err = txt.EncodeTokensContext(ctx, tokens, p.report)
	want, err2 = txt.EncodeTokens(tokens)
	if err != nil || err2 != nil {
		t.Fatal(err, err2)
	}
	p.check(t, "EncodeTokensContext", len(tokens), true)
	sameBits(t, "EncodeTokensContext", flat(got), flat(want))

	var tensors [][]float32
	for _, path := range paths[:13] {
		v, err := img.Preprocess(path)
		if err != nil {
			t.Fatal(err)
		}
		tensors = append(tensors, v)
	}
	p = nil
	got, err = img.EncodePixelsContext(ctx, tensors, p.report)
	want, err2 = img.EncodePixels(tensors)
	if err != nil || err2 != nil {
		t.Fatal(err, err2)
	}
	p.check(t, "EncodePixelsContext", len(tensors), false)
	sameBits(t, "EncodePixelsContext", flat(got), flat(want))

	// Without progress and with a context that cannot be cancelled.
	if _, _, err := img.EncodeFilesEach(ctx, paths, nil); err != nil {
		t.Fatal(err)
	}
}

// wantCancelled fails t unless err is the cancellation of op by ctx.
func wantCancelled(t *testing.T, op string, err error, ctxErr error) {
	t.Helper()
	var e *libclip.Error
	if !errors.Is(err, ctxErr) || !errors.Is(err, libclip.ErrCancelled) || !errors.As(err, &e) || e.Op != op ||
		e.Err != ctxErr {
		t.Fatalf("%s: %v, want %v and ErrCancelled", op, err, ctxErr)
	}
	t.Logf("%s: %v", op, err)
}

// Cancelling the context from the progress func stops the call after that
// pass; a context done before the call stops it before it starts.
func TestBatchCancel(t *testing.T) {
	img, txt, paths, texts := batchInputs(t)
	// Each call returns its error and whether it returned results as well.
	calls := map[string]func(context.Context, libclip.ProgressFunc) (bool, error){
		"EncodeFilesContext": func(ctx context.Context, p libclip.ProgressFunc) (bool, error) {
			rows, err := img.EncodeFilesContext(ctx, paths, p)
			return rows != nil, err
		},
		"EncodeFilesEach": func(ctx context.Context, p libclip.ProgressFunc) (bool, error) {
			rows, errs, err := img.EncodeFilesEach(ctx, paths, p)
			return rows != nil || errs != nil, err
		},
		"EncodeBatchContext": func(ctx context.Context, p libclip.ProgressFunc) (bool, error) {
			rows, err := txt.EncodeBatchContext(ctx, texts, p)
			return rows != nil, err
		},
		"EncodeBatchEach": func(ctx context.Context, p libclip.ProgressFunc) (bool, error) {
			rows, errs, err := txt.EncodeBatchEach(ctx, texts, p)
			return rows != nil || errs != nil, err
		},
	}
	for op, call := range calls {
		ctx, cancel := context.WithCancel(context.Background())
		var p progressLog
		results, err := call(ctx, func(done, total int) {
			p.report(done, total)
			cancel()
		})
		wantCancelled(t, op, err, context.Canceled)
		if results {
			t.Fatalf("%s: results with the cancellation", op)
		}
		if len(p) != 1 || p[0][0] >= p[0][1] {
			t.Fatalf("%s: progress %v: the call went on after the cancellation", op, p)
		}
		if want := "context canceled after " + strconv.Itoa(p[0][0]) + " of "; !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: %q does not say %q", op, err, want)
		}

		p = nil
		_, err = call(ctx, p.report)
		wantCancelled(t, op, err, context.Canceled)
		if len(p) != 0 {
			t.Fatalf("%s: progress %v with a context done before the call", op, p)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 0)
	defer cancel()
	_, err := img.EncodeFilesContext(ctx, paths[:1], nil)
	wantCancelled(t, "EncodeFilesContext", err, context.DeadlineExceeded)

	// The encoder is unharmed.
	if _, err := img.EncodeFiles(paths[:2]); err != nil {
		t.Fatal(err)
	}
}

// A panic or runtime.Goexit (t.FailNow) in the progress func or in
// Options.Log stops the C call, which cleans up, and then continues on the
// calling goroutine; the encoder is unharmed. Unwinding through the C
// library instead would leave each call's helper thread behind (Threads: 2),
// or end the program from a helper thread: so the test counts the process's
// threads, in a child process (Threads > 0 on the CBLAS engine sets
// OpenBLAS process-wide).
func TestCallbackPanicAndGoexit(t *testing.T) {
	dir, m := fixtures(t)
	if !inChildProcess(t) {
		return
	}
	model, paths := modelCases(dir)[0].path, imagePaths(dir, m)
	jpegs := []string{warningJPEG(t, dir, "a.jpg"), warningJPEG(t, dir, "b.jpg"), warningJPEG(t, dir, "c.jpg")}
	onWarning := func(f func(string)) *libclip.Options {
		return &libclip.Options{Threads: 2, Log: func(_ libclip.LogLevel, message string) {
			if strings.Contains(message, "JPEG warning") {
				f(message)
			}
		}}
	}
	img := openImage(t, model, &libclip.Options{Threads: 2})
	panicking := openImage(t, model, onWarning(func(message string) { panic("log: " + message) }))
	exiting := openImage(t, model, onWarning(func(string) { runtime.Goexit() }))

	// Each call returns what the caller recovered, or "Goexit".
	outcome := func(call func()) (got interface{}) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			goexit := true
			defer func() {
				if got = recover(); got == nil && goexit {
					got = "Goexit"
				}
			}()
			call()
			goexit = false
		}()
		<-done
		return got
	}
	ctx := context.Background()
	calls := []struct {
		name string
		call func()
		want string // the outcome's prefix
	}{
		{"progress panic", func() { img.EncodeFilesContext(ctx, paths, func(int, int) { panic("progress") }) }, "progress"},
		{"progress Goexit", func() { img.EncodeFilesContext(ctx, paths, func(int, int) { runtime.Goexit() }) }, "Goexit"},
		{"log panic", func() { panicking.EncodeFiles(jpegs) }, "log: "},
		{"log Goexit", func() { exiting.EncodeFiles(jpegs) }, "Goexit"},
	}
	tasks := func() int {
		entries, err := os.ReadDir("/proc/self/task")
		if err != nil {
			t.Skip("no /proc/self/task:", err)
		}
		return len(entries)
	}
	// Warm up: the Go runtime starts threads for the callbacks' goroutines once.
	for _, c := range calls {
		outcome(c.call)
	}
	const rounds = 4
	before := tasks()
	for i := 0; i < rounds; i++ {
		for _, c := range calls {
			if got, ok := outcome(c.call).(string); !ok || !strings.HasPrefix(got, c.want) {
				t.Fatalf("%s: the caller got %v, want %q...", c.name, got, c.want)
			}
		}
	}
	if after := tasks(); after-before >= rounds {
		t.Fatalf("%d threads before, %d after %d rounds: the calls left threads behind", before, after, rounds)
	}
	for _, enc := range []*libclip.ImageEncoder{img, panicking, exiting} {
		if _, err := enc.EncodeFiles(paths[:2]); err != nil {
			t.Fatal(err)
		}
	}
}
