// Package libclip is the Go binding of libclip, CLIP inference as an
// embeddable C library.
//
// An application opens an [ImageEncoder] and/or a [TextEncoder] from a CLIP
// checkpoint (a Hugging Face CLIP directory or an open_clip / OpenAI-named
// .safetensors file), turns images and texts into vectors in one shared
// space, and compares them: by default the vectors are L2-normalised, so a
// dot product is a cosine similarity, and LogitScale times it is the
// zero-shot logit of the reference implementation.
//
// The package links the C library through pkg-config (package libclip), so
// PKG_CONFIG_PATH must name the directory of libclip.pc when the library is
// installed outside the system prefix, and LD_LIBRARY_PATH (or an rpath) must
// let the dynamic loader find libclip.so.0 at run time.
//
// # Classifiers
//
// A [Classifier] turns embeddings into class probabilities: zero-shot from
// class names and prompt templates through a TextEncoder
// ([NewZeroShotClassifier]), a linear probe trained on labelled embeddings
// ([TrainProbe]), or loaded from a classifier file ([LoadClassifier]).
//
// # Batches
//
// The batch methods (EncodeFiles, EncodePixels, EncodeBatch, EncodeTokens)
// run many inputs through the tower in passes. Their Context forms take a
// context, checked between passes, and a [ProgressFunc]; the Each forms also
// give per-input results: an input that cannot be encoded gets its own error
// and a nil row instead of failing the call.
//
// # Concurrency
//
// Encoders are safe for concurrent use by several goroutines, as the C
// handles are. Close waits for calls in flight on the same encoder to return,
// then frees the handle; later calls return [ErrClosed]. Close may be called
// more than once.
//
// # Memory
//
// The model weights are memory-mapped and owned by the C library, outside the
// Go heap. The package sets no finalizers on encoders: an encoder that is
// never closed keeps its model mapped until the process exits, so always
// call Close. A [Classifier] holds only a little C memory; Close frees it
// at once, and a finalizer frees one that is garbage-collected unclosed.
// Slices returned by the encode functions are ordinary Go memory owned by the
// caller.
package libclip

/*
#cgo pkg-config: libclip
#include <stdlib.h>
#include "glue.h"
*/
import "C"

import (
	"strconv"
	"strings"
	"unsafe"
)

// Compile-time check that the Status constants equal the C header's values:
// a non-zero index is out of range for a one-element array.
var _ = [1]struct{}{}[(ErrInvalidArgument-C.LCLIP_E_INVALID_ARGUMENT)|
	(ErrIO-C.LCLIP_E_IO)|
	(ErrFormat-C.LCLIP_E_FORMAT)|
	(ErrUnsupported-C.LCLIP_E_UNSUPPORTED)|
	(ErrNoMem-C.LCLIP_E_NOMEM)|
	(ErrTooLarge-C.LCLIP_E_TOO_LARGE)|
	(ErrCancelled-C.LCLIP_E_CANCELLED)]

// Version returns the "MAJOR.MINOR.PATCH" version of the C library actually
// loaded (which may be newer than the one the package was built against).
func Version() string {
	return C.GoString(C.lclip_version())
}

// VersionNumber returns the version of the C library actually loaded as
// MAJOR*10000 + MINOR*100 + PATCH (400 for 0.4.0), for comparisons.
func VersionNumber() int {
	return int(C.lclip_version_number())
}

// BuildInfo describes how the loaded C library was built and what it runs
// on, for bug reports and logs: "key=value" fields separated by "; ", e.g.
// "version=0.4.0; blas=OpenBLAS; blas_config=OpenBLAS 0.3.21 ...;
// blas_threading=pthreads; engines=cblas,onednn; simd=sse2; compiler=gcc 12.2.0".
// Keys may be added in later releases; none is removed.
func BuildInfo() string {
	// Copied in C: the library's string is per thread.
	info := C.golclip_build_info()
	if info == nil {
		return ""
	}
	defer C.free(unsafe.Pointer(info))
	return C.GoString(info)
}

// check turns the result of a golclip_* call into nil or an *Error, and frees
// the copied message.
func check(op string, r C.golclip_result) error {
	if r.status == C.LCLIP_OK {
		return nil
	}
	msg := ""
	if r.msg != nil {
		msg = C.GoString(r.msg)
		C.free(unsafe.Pointer(r.msg))
	}
	return &Error{Op: op, Status: Status(r.status), Message: msg}
}

// nulError is the error for a string with a NUL byte, which cannot be
// passed to C without being cut short; what names it.
func nulError(op, what string) error {
	return &Error{Op: op, Status: ErrInvalidArgument, Message: what + " contains a NUL byte"}
}

// cString copies s into C memory, which the caller frees with C.free, or
// refuses a string with a NUL byte.
func cString(op, what, s string) (*C.char, error) {
	if strings.IndexByte(s, 0) >= 0 {
		return nil, nulError(op, what)
	}
	return C.CString(s), nil
}

// cStringArray is an array of C strings in C memory, as libclip's batch
// functions take them (const char *const *).
type cStringArray struct {
	ptr   **C.char
	elems []*C.char
}

// newCStringArray copies ss into C memory; free must be called on the result
// even when ss is empty. what names one element in error messages, e.g.
// "path" gives "path 3 contains a NUL byte". Such a string fails the call,
// or, with errs (per-input results: len(ss) entries), becomes its errs entry
// and goes to C as placeholder: an input that C refuses on its own, so that
// the indices stay aligned and nothing is encoded for it.
func newCStringArray(op, what string, ss []string, errs []error, placeholder string) (*cStringArray, error) {
	a := &cStringArray{}
	if len(ss) == 0 {
		return a, nil
	}
	for i, s := range ss {
		if strings.IndexByte(s, 0) < 0 {
			continue
		}
		err := nulError(op, what+" "+strconv.Itoa(i))
		if errs == nil {
			return nil, err
		}
		errs[i] = err
	}
	a.ptr = (**C.char)(C.calloc(C.size_t(len(ss)), C.size_t(unsafe.Sizeof((*C.char)(nil)))))
	if a.ptr == nil {
		return nil, &Error{Op: op, Status: ErrNoMem, Message: "cannot allocate the " + what + " array"}
	}
	a.elems = unsafe.Slice(a.ptr, len(ss))
	for i, s := range ss {
		if errs != nil && errs[i] != nil {
			s = placeholder
		}
		a.elems[i] = C.CString(s)
	}
	return a, nil
}

func (a *cStringArray) free() {
	for _, p := range a.elems {
		C.free(unsafe.Pointer(p))
	}
	if a.ptr != nil {
		C.free(unsafe.Pointer(a.ptr))
	}
}

// rows splits flat, n rows of dim values, into n slices sharing its memory;
// each row's capacity ends with the row, so appending to one row cannot
// overwrite the next.
func rows(flat []float32, n, dim int) [][]float32 {
	out := make([][]float32, n)
	for i := range out {
		out[i] = flat[i*dim : (i+1)*dim : (i+1)*dim]
	}
	return out
}

// floatPtr returns a C pointer to the first element of a non-empty slice.
// Passing it to C is allowed by the cgo rules: float32 slices hold no Go
// pointers.
func floatPtr(s []float32) *C.float {
	return (*C.float)(unsafe.Pointer(&s[0]))
}
