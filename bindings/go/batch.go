package libclip

// #include <stdlib.h>
// #include "glue.h"
import "C"

import (
	"context"
	"errors"
	"runtime/cgo"
	"strconv"
	"unsafe"
)

// ProgressFunc receives the progress of a batch call after each pass through
// the tower (a batch runs in passes of several inputs), with the inputs done
// so far and their total. It runs on a goroutine of its own while the
// goroutine making the call waits, one report at a time. To stop the call,
// cancel its context. A panic or runtime.Goexit (t.FailNow in a test) in it
// also stops the call after that pass; once C has returned, the panic
// continues, or Goexit is called, on the goroutine making the call. It must
// not call methods of the encoder making the call: Close would wait for the
// call forever, and another call could deadlock with a Close waiting for
// this one.
type ProgressFunc func(done, total int)

// batchCall is the Go side of one _ex call, which golclipProgress reaches
// through a cgo.Handle while the call runs.
type batchCall struct {
	ctx      context.Context
	progress ProgressFunc
	done     int // the inputs reported done
	// How progress ended if it did not return, resumed once C has returned.
	abnormal *abnormal
}

// report runs progress and tells the C call whether to stop.
func (c *batchCall) report(done, total int) (stop bool) {
	c.done = done
	if c.progress != nil && c.abnormal == nil {
		c.abnormal = guard(func() { c.progress(done, total) })
	}
	return c.abnormal != nil || c.ctx.Err() != nil
}

// cancelled is the error of a batch call whose context is done.
func cancelled(ctx context.Context, op string, done, total int) error {
	err := ctx.Err()
	return &Error{Op: op, Status: ErrCancelled, Err: err,
		Message: err.Error() + " after " + strconv.Itoa(done) + " of " + strconv.Itoa(total) + " inputs"}
}

// runBatch makes the _ex call of a batch method for n inputs and splits its
// output into rows of dim. errs is nil for an all-or-nothing call; for
// per-input results it has n entries, non-nil where Go refused the input
// already, and receives the C call's failures; failed inputs get nil rows.
// call makes the C call with the glue's out, item_status, messages and
// progress arguments (glue.h).
func runBatch(ctx context.Context, op string, n, dim int, progress ProgressFunc, errs []error,
	call func(out *C.float, status *C.lclip_status, messages **C.char, progress C.uintptr_t) C.golclip_result,
) ([][]float32, error) {
	if ctx.Err() != nil {
		return nil, cancelled(ctx, op, 0, n)
	}
	if n == 0 {
		return [][]float32{}, nil
	}
	c := &batchCall{ctx: ctx, progress: progress}
	var handle cgo.Handle
	if progress != nil || ctx.Done() != nil {
		handle = cgo.NewHandle(c)
		defer handle.Delete()
	}
	var statusPtr *C.lclip_status
	var messagesPtr **C.char
	var statuses []C.lclip_status
	var messages []*C.char // malloc'ed by glue.c (Go memory may hold C pointers)
	if errs != nil {
		statuses = make([]C.lclip_status, n)
		messages = make([]*C.char, n)
		statusPtr, messagesPtr = &statuses[0], &messages[0]
		defer func() {
			for _, m := range messages {
				C.free(unsafe.Pointer(m))
			}
		}()
	}
	flat := make([]float32, n*dim)
	err := check(op, call(floatPtr(flat), statusPtr, messagesPtr, C.uintptr_t(handle)))
	c.abnormal.resume()
	if errors.Is(err, ErrCancelled) { // only report stops the call: ctx is done
		return nil, cancelled(ctx, op, c.done, n)
	}
	if err != nil {
		return nil, err
	}
	out := rows(flat, n, dim)
	for i := range errs {
		if errs[i] == nil && statuses[i] != C.LCLIP_OK {
			msg := ""
			if messages[i] != nil {
				msg = C.GoString(messages[i])
			}
			errs[i] = &Error{Op: op, Status: Status(statuses[i]), Message: msg}
		}
		if errs[i] != nil {
			out[i] = nil
		}
	}
	return out, nil
}
