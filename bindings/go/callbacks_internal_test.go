package libclip

import (
	"context"
	"runtime"
	"testing"
)

// guard reports how f ended without letting a panic or runtime.Goexit reach
// the caller, which in a callback would unwind through the C library.
func TestGuard(t *testing.T) {
	if a := guard(func() {}); a != nil {
		t.Errorf("a func that returned: %+v", a)
	}
	for _, c := range []struct {
		name string
		f    func()
		want abnormal
	}{
		{"panic", func() { panic("boom") }, abnormal{value: "boom"}},
		{"panic(nil)", func() { panic(nil) }, abnormal{}},
		{"Goexit", runtime.Goexit, abnormal{goexit: true}},
	} {
		if a := guard(c.f); a == nil || *a != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, a, c.want)
		}
	}
}

// A progress func that panics or calls Goexit stops the C call (report says
// stop) and is not called again; runBatch resumes it once C has returned.
func TestReportGuardsProgress(t *testing.T) {
	for name, progress := range map[string]ProgressFunc{
		"panic":  func(int, int) { panic("boom") },
		"Goexit": func(int, int) { runtime.Goexit() },
	} {
		calls := 0
		c := &batchCall{ctx: context.Background(), progress: func(done, total int) {
			calls++
			progress(done, total)
		}}
		if !c.report(1, 4) || !c.report(2, 4) || calls != 1 || c.abnormal == nil {
			t.Errorf("%s: the call goes on (%d calls, %+v)", name, calls, c.abnormal)
		}
	}
	c := &batchCall{ctx: context.Background(), progress: func(int, int) {}}
	if c.report(1, 4) || c.abnormal != nil {
		t.Errorf("a progress func that returned stops the call")
	}
}
