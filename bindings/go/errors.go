package libclip

// #include <libclip.h>
import "C"

import "errors"

// Status is a libclip status code (lclip_status in the C API). The non-zero
// values are exported as the constants ErrInvalidArgument ... ErrCancelled,
// which are also errors, so that
//
//	if errors.Is(err, libclip.ErrIO) { ... }
//
// tells what kind of failure an *Error is.
type Status int

// The status codes of the C API (LCLIP_E_*). Values are part of libclip's
// ABI and never change.
const (
	// ErrInvalidArgument is a bad argument or option value
	// (LCLIP_E_INVALID_ARGUMENT).
	ErrInvalidArgument Status = 1
	// ErrIO is a file that is missing, unreadable or cannot be mapped
	// (LCLIP_E_IO).
	ErrIO Status = 2
	// ErrFormat is a file or buffer that is malformed, truncated or
	// inconsistent (LCLIP_E_FORMAT).
	ErrFormat Status = 3
	// ErrUnsupported is well-formed input of a variant libclip does not
	// implement, such as an image that is not PNG, JPEG, WebP, GIF or BMP,
	// or text given to an encoder without a vocabulary (LCLIP_E_UNSUPPORTED).
	ErrUnsupported Status = 4
	// ErrNoMem is a failed allocation (LCLIP_E_NOMEM).
	ErrNoMem Status = 5
	// ErrTooLarge is input beyond a configured resource limit
	// (LCLIP_E_TOO_LARGE).
	ErrTooLarge Status = 6
	// ErrCancelled is a batch call stopped because its context was done
	// (LCLIP_E_CANCELLED); the *Error's Err is the context's error.
	ErrCancelled Status = 7
)

// String returns the C library's description of the status
// (lclip_strerror), e.g. "I/O error".
func (s Status) String() string {
	return C.GoString(C.lclip_strerror(C.lclip_status(s)))
}

// Error makes a Status usable as a sentinel error for errors.Is.
func (s Status) Error() string {
	return "libclip: " + s.String()
}

// ErrClosed is returned by the methods of an encoder or a classifier after
// its Close.
var ErrClosed = errors.New("libclip: encoder or classifier is closed")

// Error is a failure reported by libclip, or an argument refused by this
// package before calling it.
type Error struct {
	// Op is the Go function or method that failed, e.g. "EncodeFile".
	Op string
	// Status is the kind of failure.
	Status Status
	// Message is the C library's detail message (lclip_last_error), e.g.
	// naming the file and what was wrong with it; it may be empty.
	Message string
	// Err is the context's error (context.Canceled or
	// context.DeadlineExceeded) when Status is ErrCancelled, else nil.
	Err error
}

// Error returns "libclip: Op: status description: Message".
func (e *Error) Error() string {
	s := "libclip: "
	if e.Op != "" {
		s += e.Op + ": "
	}
	s += e.Status.String()
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Is reports whether target is the Status of e, so that
// errors.Is(err, ErrFormat) holds for every *Error with Status ErrFormat, or
// matches e.Err, so that errors.Is(err, context.Canceled) holds for a batch
// call cancelled through its context.
func (e *Error) Is(target error) bool {
	if s, ok := target.(Status); ok {
		return s == e.Status
	}
	return e.Err != nil && errors.Is(e.Err, target)
}

// Unwrap returns the Status, so that errors.As can extract it too.
func (e *Error) Unwrap() error {
	return e.Status
}
