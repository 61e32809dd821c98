package libclip

// #include <stdlib.h>
// #include "glue.h"
import "C"

import (
	"math"
	"runtime/cgo"
	"strconv"
	"strings"
	"sync"
	"unsafe"
)

// Compile-time check that the LogLevel, Engine and Precision constants equal
// the C header's.
var (
	_ = [1]struct{}{}[(LogWarning-C.LCLIP_LOG_WARNING)|(LogInfo-C.LCLIP_LOG_INFO)]
	_ = [1]struct{}{}[(EngineAuto-C.LCLIP_ENGINE_AUTO)|(EngineCBLAS-C.LCLIP_ENGINE_CBLAS)|
		(EngineOneDNN-C.LCLIP_ENGINE_ONEDNN)]
	_ = [1]struct{}{}[(PrecisionF32-C.LCLIP_PRECISION_F32)|(PrecisionBF16-C.LCLIP_PRECISION_BF16)]
)

// LogLevel is the severity of a message to Options.Log (lclip_log_level).
type LogLevel int

// The levels of the C API (LCLIP_LOG_*), most severe first.
const (
	// LogWarning: something looks wrong but the call goes on, such as a
	// JPEG with corrupt data.
	LogWarning LogLevel = 1
	// LogInfo: a choice the library made, such as hyperparameters inferred
	// from the tensor shapes.
	LogInfo LogLevel = 2
)

// String returns "warning", "info", or "LogLevel(N)" for a level this
// package does not know.
func (l LogLevel) String() string {
	switch l {
	case LogWarning:
		return "warning"
	case LogInfo:
		return "info"
	}
	return "LogLevel(" + strconv.Itoa(int(l)) + ")"
}

// Engine is what runs the matrix products of the linear layers
// (lclip_engine).
type Engine int

// The engines of the C API (LCLIP_ENGINE_*).
const (
	// EngineAuto (the default) is oneDNN when the library is built with it
	// and oneDNN has a JIT kernel for this CPU, else CBLAS.
	EngineAuto Engine = 0
	// EngineCBLAS is the CBLAS libclip is built against, on the float32
	// weights in place.
	EngineCBLAS Engine = 1
	// EngineOneDNN is oneDNN, with the weights packed once at open into the
	// encoder's own memory; ErrUnsupported when the library is built
	// without it.
	EngineOneDNN Engine = 2
)

// String returns "auto", "cblas", "onednn" (the names of the engine= field
// of Describe), or "Engine(N)" for a value this package does not know.
func (e Engine) String() string {
	switch e {
	case EngineAuto:
		return "auto"
	case EngineCBLAS:
		return "cblas"
	case EngineOneDNN:
		return "onednn"
	}
	return "Engine(" + strconv.Itoa(int(e)) + ")"
}

// Precision is the numbers the linear layers' products run in
// (lclip_precision).
type Precision int

// The precisions of the C API (LCLIP_PRECISION_*).
const (
	// PrecisionF32 (the default) is float32 throughout.
	PrecisionF32 Precision = 0
	// PrecisionBF16 rounds the weights and the products' inputs to
	// bfloat16 and accumulates in float32. It runs on oneDNN with a CPU
	// that has native bfloat16 instructions (AVX512-BF16 or AMX) only,
	// else the open fails with ErrUnsupported.
	PrecisionBF16 Precision = 1
)

// String returns "f32", "bf16" (the names of the precision= field of
// Describe), or "Precision(N)" for a value this package does not know.
func (p Precision) String() string {
	switch p {
	case PrecisionF32:
		return "f32"
	case PrecisionBF16:
		return "bf16"
	}
	return "Precision(" + strconv.Itoa(int(p)) + ")"
}

// Options configures an encoder when it is opened. The zero value (and a nil
// *Options) selects every default of the C library; each field mirrors a
// field of lclip_options, with names chosen so that false and 0 mean "the
// default".
type Options struct {
	// Threads is the number of threads each encode call runs on. 0
	// (default): the calling goroutine's thread, with OpenBLAS's own
	// threads for the matrix products. N > 0: N threads of libclip's own,
	// faster; with the CBLAS engine libclip then sets OpenBLAS's count,
	// one for the whole process, to 1 (docs/api.md, "Threads"). Negative
	// values are refused.
	Threads int

	// RawOutput makes the encode methods return the raw projection output,
	// as the reference's encode_image / encode_text do, instead of
	// L2-normalised vectors (lclip_options.normalize = 0).
	RawOutput bool

	// VocabPath is the BPE vocabulary file (bpe_simple_vocab_16e6.txt.gz),
	// or a directory holding it or vocab.json + merges.txt. Empty: the
	// vocabulary beside the weights, else libclip's own installed copy of
	// OpenAI's. Text encoders only.
	VocabPath string

	// NoTruncate makes a text longer than the context length an
	// ErrTooLarge error instead of being cut as clip.tokenize(truncate=True)
	// cuts it (lclip_options.truncate_text = 0).
	NoTruncate bool

	// MaxTextBytes is the longest text accepted, in UTF-8 bytes
	// (0: the default, 1 MiB).
	MaxTextBytes uint64

	// MaxImagePixels is the largest decoded image accepted, width x height
	// (0: the default, 178956970, Pillow's limit).
	MaxImagePixels uint64

	// ExifOrientation applies the EXIF orientation of JPEGs before
	// preprocessing. The reference ignores it, and so does the default.
	ExifOrientation bool

	// MaxHeaderBytes is the largest safetensors JSON header accepted
	// (0: the default, 100 MiB).
	MaxHeaderBytes uint64

	// MaxTensorCount is the most tensors accepted in one model file
	// (0: the default, 65536).
	MaxTensorCount uint64

	// Engine is what runs the matrix products (default EngineAuto), and
	// Precision the numbers they run in (default PrecisionF32). What the
	// library or the CPU cannot do fails the open with ErrUnsupported;
	// values that are not constants of this package, with
	// ErrInvalidArgument. The encoders' Describe says what they got.
	Engine    Engine
	Precision Precision

	// Log receives diagnostics that are not errors: warnings (a JPEG or PNG
	// with corrupt data, a text encoder without a vocabulary) and choices
	// made at open (hyperparameters inferred, 16-bit weights converted).
	// nil drops them. It is called during the open and the encode calls of
	// the encoder, each message on a goroutine of its own, possibly several
	// at once (libclip's own threads decode images too), so it must be safe
	// for concurrent use; it must not use the encoder that is logging. A
	// panic or runtime.Goexit in it cannot stop the C call: the first one is
	// kept and continues, once C has returned, on the goroutine of the
	// encoder's call that returns next (the call that logged, unless several
	// run at once; for the open, after the encoder is closed again).
	Log func(level LogLevel, message string)
}

// logger is Options.Log as the C library calls it, through a cgo.Handle.
type logger struct {
	log func(LogLevel, string)
	mu  sync.Mutex
	// The first panic or Goexit of log not yet resumed.
	abnormal *abnormal
}

func (l *logger) call(level LogLevel, message string) {
	if a := guard(func() { l.log(level, message) }); a != nil {
		l.mu.Lock()
		if l.abnormal == nil {
			l.abnormal = a
		}
		l.mu.Unlock()
	}
}

// take returns and forgets the kept panic or Goexit, if any. l may be nil
// (no Options.Log).
func (l *logger) take() *abnormal {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.abnormal
	l.abnormal = nil
	return a
}

// cOptions is an lclip_options built from Options, plus what it refers to.
type cOptions struct {
	// In C memory: log_user holds the log handle, an integer that must not
	// sit in a pointer field of Go memory.
	opts  *C.lclip_options
	vocab *C.char
	// Options.Log's handle (of logs), or 0. It must outlive the encoder:
	// after a successful open the encoder takes it (and sets this to 0) and
	// deletes it on Close; free deletes it otherwise.
	log  cgo.Handle
	logs *logger // nil without Options.Log
}

// newCOptions starts from the sized initialiser (so that struct_size is this
// header's and every field Options does not cover holds the C library's
// default) and applies o. The caller calls free.
func newCOptions(op string, o *Options) (*cOptions, error) {
	if o == nil {
		o = &Options{}
	}
	for _, f := range []struct {
		name  string
		value int
	}{{"Threads", o.Threads}, {"Engine", int(o.Engine)}, {"Precision", int(o.Precision)}} {
		if f.value > math.MaxInt32 || f.value < math.MinInt32 {
			return nil, &Error{Op: op, Status: ErrInvalidArgument,
				Message: "options: " + f.name + " " + strconv.Itoa(f.value) + " is out of range"}
		}
	}
	if strings.IndexByte(o.VocabPath, 0) >= 0 {
		return nil, nulError(op, "options: VocabPath")
	}
	c := &cOptions{opts: (*C.lclip_options)(C.malloc(C.sizeof_lclip_options))}
	if o.Log != nil {
		c.logs = &logger{log: o.Log}
		c.log = cgo.NewHandle(c.logs)
	}
	if err := check(op, C.golclip_options_init(c.opts, C.uintptr_t(c.log))); err != nil {
		c.free()
		return nil, err
	}
	c.opts.n_threads = C.int(o.Threads)
	c.opts.engine = C.int(o.Engine)
	c.opts.precision = C.int(o.Precision)
	if o.RawOutput {
		c.opts.normalize = 0
	}
	if o.NoTruncate {
		c.opts.truncate_text = 0
	}
	if o.ExifOrientation {
		c.opts.exif_orientation = 1
	}
	if o.MaxTextBytes != 0 {
		c.opts.max_text_bytes = C.uint64_t(o.MaxTextBytes)
	}
	if o.MaxImagePixels != 0 {
		c.opts.max_image_pixels = C.uint64_t(o.MaxImagePixels)
	}
	if o.MaxHeaderBytes != 0 {
		c.opts.max_header_bytes = C.uint64_t(o.MaxHeaderBytes)
	}
	if o.MaxTensorCount != 0 {
		c.opts.max_tensor_count = C.uint64_t(o.MaxTensorCount)
	}
	if o.VocabPath != "" {
		c.vocab = C.CString(o.VocabPath)
		c.opts.vocab_path = c.vocab
	}
	return c, nil
}

func (c *cOptions) free() {
	C.free(unsafe.Pointer(c.vocab))
	C.free(unsafe.Pointer(c.opts))
	if c.log != 0 {
		c.log.Delete()
	}
}
