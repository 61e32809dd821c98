package libclip

// The C library's callbacks into Go, reached through glue.c's trampolines.
// A file with //export may only declare C functions in its preamble (cgo
// copies it into _cgo_export.h), so these live apart from the glue.

// #include <stddef.h>
// #include <stdint.h>
import "C"

import "runtime/cgo"

// golclipLog delivers a message of Options.Log. It may run on a thread of
// libclip's own (not a Go thread), concurrently with other calls.
//
//export golclipLog
func golclipLog(h C.uintptr_t, level C.int, message *C.char) {
	cgo.Handle(h).Value().(func(LogLevel, string))(LogLevel(level), C.GoString(message))
}

// golclipProgress reports a pass of a batch call, on the goroutine making it,
// and returns non-zero to cancel the call.
//
//export golclipProgress
func golclipProgress(h C.uintptr_t, done, total C.size_t) C.int {
	if cgo.Handle(h).Value().(*batchCall).report(int(done), int(total)) {
		return 1
	}
	return 0
}
