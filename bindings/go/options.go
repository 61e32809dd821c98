package libclip

// #include <stdlib.h>
// #include <libclip.h>
import "C"

import (
	"math"
	"strconv"
	"unsafe"
)

// Options configures an encoder when it is opened. The zero value (and a nil
// *Options) selects every default of the C library; each field mirrors a
// field of lclip_options, with names chosen so that false and 0 mean "the
// default".
type Options struct {
	// Threads is the number of threads each encode call runs on. 0
	// (default): the calling goroutine's thread, with OpenBLAS's own
	// threads for the matrix products. N > 0: N threads of libclip's own,
	// faster; libclip then sets OpenBLAS's count, one for the whole
	// process, to 1 (docs/api.md, "Threads"). Negative values are refused.
	Threads int

	// RawOutput makes the encode methods return the raw projection output,
	// as the reference's encode_image / encode_text do, instead of
	// L2-normalised vectors (lclip_options.normalize = 0).
	RawOutput bool

	// VocabPath is the BPE vocabulary file (bpe_simple_vocab_16e6.txt.gz)
	// for open_clip / OpenAI-named checkpoints that have none beside the
	// weights. Empty: look beside the weights. Text encoders only.
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
}

// cOptions is an lclip_options built from Options, plus the C memory it
// points to.
type cOptions struct {
	opts  C.lclip_options
	vocab *C.char
}

// newCOptions starts from lclip_options_init (so that struct_size and every
// field Options does not cover hold the C library's defaults) and applies o.
// The caller calls free.
func newCOptions(op string, o *Options) (*cOptions, error) {
	c := &cOptions{}
	C.lclip_options_init(&c.opts)
	if o == nil {
		return c, nil
	}
	if o.Threads > math.MaxInt32 || o.Threads < math.MinInt32 {
		return nil, &Error{Op: op, Status: ErrInvalidArgument,
			Message: "options: Threads " + strconv.Itoa(o.Threads) + " is out of range"}
	}
	c.opts.n_threads = C.int(o.Threads)
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
		v, err := cString(op, "options: VocabPath", o.VocabPath)
		if err != nil {
			return nil, err
		}
		c.vocab = v
		c.opts.vocab_path = v
	}
	return c, nil
}

func (c *cOptions) free() {
	if c.vocab != nil {
		C.free(unsafe.Pointer(c.vocab))
		c.vocab = nil
	}
}
