package libclip

// The C library's callbacks into Go, reached through glue.c's trampolines.
// A file with //export may only declare C functions in its preamble (cgo
// copies it into _cgo_export.h), so these live apart from the glue.

// #include <stddef.h>
// #include <stdint.h>
import "C"

import (
	"runtime"
	"runtime/cgo"
)

// golclipLog delivers a message of Options.Log. It may run on a thread of
// libclip's own (not a Go thread), concurrently with other calls.
//
//export golclipLog
func golclipLog(h C.uintptr_t, level C.int, message *C.char) {
	cgo.Handle(h).Value().(*logger).call(LogLevel(level), C.GoString(message))
}

// golclipProgress reports a pass of a batch call, on the thread of the
// goroutine making it, and returns non-zero to cancel the call.
//
//export golclipProgress
func golclipProgress(h C.uintptr_t, done, total C.size_t) C.int {
	if cgo.Handle(h).Value().(*batchCall).report(int(done), int(total)) {
		return 1
	}
	return 0
}

// abnormal is how a Go func called back from C ended when it did not return:
// a panic (with its value) or runtime.Goexit.
type abnormal struct {
	goexit bool
	value  interface{}
}

// guard runs f on a goroutine of its own and waits for it, so that neither a
// panic nor runtime.Goexit in f unwinds through the C frames of the library
// (they would be abandoned with their threads and memory, and on one of
// libclip's threads the program would end). It returns how f ended when it
// did not return, else nil.
func guard(f func()) (a *abnormal) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		returned, recovered := false, false
		defer func() {
			if !returned && !recovered { // recover cannot stop a Goexit
				a = &abnormal{goexit: true}
			}
		}()
		func() {
			defer func() {
				if !returned {
					a = &abnormal{value: recover()}
				}
			}()
			f()
			returned = true
		}()
		recovered = !returned // a panic, panic(nil) included, was recovered
	}()
	<-done
	return a
}

// resume continues on the calling goroutine, now that C has returned, what a
// guarded func started: its panic or its Goexit. A nil a does nothing.
func (a *abnormal) resume() {
	switch {
	case a == nil:
	case a.goexit:
		runtime.Goexit()
	default:
		panic(a.value)
	}
}
