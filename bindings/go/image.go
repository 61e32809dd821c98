package libclip

// #include <stdlib.h>
// #include "glue.h"
import "C"

import (
	"context"
	"image"
	"math"
	"runtime/cgo"
	"strconv"
	"sync"
	"unsafe"
)

// ImageEncoder turns images into embeddings with the vision tower of a CLIP
// model. It is safe for concurrent use by several goroutines.
type ImageEncoder struct {
	mu          sync.RWMutex // read-held by calls into C, write-held by Close
	h           *C.lclip_image_encoder
	dim         int
	size        int
	scale       float32
	description string
	maxPixels   uint64
	log         cgo.Handle // Options.Log's, or 0; deleted by Close
	logs        *logger    // its target, or nil
}

// OpenImageEncoder opens the vision tower of the CLIP model at path: a Hugging
// Face CLIP directory, an open_clip / OpenAI-named .safetensors file, or a
// directory holding open_clip_model.safetensors. opts may be nil (defaults).
// The caller must Close the encoder.
func OpenImageEncoder(path string, opts *Options) (*ImageEncoder, error) {
	const op = "OpenImageEncoder"
	co, err := newCOptions(op, opts)
	if err != nil {
		return nil, err
	}
	defer co.free()
	cpath, err := cString(op, "model path", path)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(cpath))
	var h *C.lclip_image_encoder
	err = check(op, C.golclip_image_encoder_open(cpath, co.opts, &h))
	logged := co.logs.take() // a panic or Goexit of Options.Log during the open
	if err != nil {
		logged.resume()
		return nil, err
	}
	e := &ImageEncoder{
		h:           h,
		dim:         int(C.lclip_image_encoder_dim(h)),
		size:        int(C.lclip_image_encoder_image_size(h)),
		scale:       float32(C.lclip_image_encoder_logit_scale(h)),
		description: C.GoString(C.lclip_image_encoder_describe(h)),
		maxPixels:   uint64(co.opts.max_image_pixels),
		log:         co.log,
		logs:        co.logs,
	}
	co.log = 0
	if logged != nil {
		e.Close()
		logged.resume()
	}
	return e, nil
}

// Dim returns the embedding dimension: the length of every vector the encode
// methods return. It stays valid after Close.
func (e *ImageEncoder) Dim() int { return e.dim }

// ImageSize returns the square input resolution of the vision tower in
// pixels; Preprocess returns 3 x ImageSize x ImageSize values. It stays valid
// after Close.
func (e *ImageEncoder) ImageSize() int { return e.size }

// LogitScale returns exp(logit_scale), the multiplier of cosine similarities
// for zero-shot logits (100 for trained OpenAI models). It stays valid after
// Close.
func (e *ImageEncoder) LogitScale() float32 { return e.scale }

// Describe returns what the encoder runs on (lclip_image_encoder_describe),
// as space-separated key=value fields, e.g. "engine=onednn
// isa=avx512_core_bf16 precision=bf16 packed_bytes=176160768 threads=0" or
// "engine=cblas precision=f32 blas=OpenBLAS kernels=Haswell threads=0".
// engine (cblas or onednn, what EngineAuto became) and precision are always
// there; the other keys depend on the engine, and later releases may add
// keys. It is read at open and stays valid after Close.
func (e *ImageEncoder) Describe() string { return e.description }

// Close frees the C encoder and unmaps the model, after waiting for calls in
// flight on e to return. Later calls return ErrClosed; closing again is a
// no-op that returns nil.
func (e *ImageEncoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.h != nil {
		C.lclip_image_encoder_close(e.h)
		e.h = nil
		if e.log != 0 {
			e.log.Delete()
		}
	}
	return nil
}

// acquire read-locks e and returns its handle, or ErrClosed (unlocked) after
// Close. On success the caller must call e.release.
func (e *ImageEncoder) acquire() (*C.lclip_image_encoder, error) {
	e.mu.RLock()
	if e.h == nil {
		e.mu.RUnlock()
		return nil, ErrClosed
	}
	return e.h, nil
}

// release ends what acquire began, once the C call has returned: it unlocks
// e and resumes a panic or Goexit of Options.Log (see Options.Log).
func (e *ImageEncoder) release() {
	e.mu.RUnlock()
	e.logs.take().resume()
}

// EncodeFile returns the embedding of a PNG, JPEG, WebP, GIF or BMP file,
// decoded and preprocessed exactly as the reference (Pillow + torchvision)
// does.
func (e *ImageEncoder) EncodeFile(path string) ([]float32, error) {
	const op = "EncodeFile"
	cpath, err := cString(op, "path", path)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(cpath))
	h, err := e.acquire()
	if err != nil {
		return nil, err
	}
	defer e.release()
	out := make([]float32, e.dim)
	if err := check(op, C.golclip_image_encode_file(h, cpath, floatPtr(out))); err != nil {
		return nil, err
	}
	return out, nil
}

// EncodeFiles returns the embeddings of several image files, row i for
// paths[i], in one batched call that runs them through the vision tower in
// passes of several images (faster than one EncodeFile per file). An empty
// paths gives an empty result.
func (e *ImageEncoder) EncodeFiles(paths []string) ([][]float32, error) {
	return e.encodeFiles(context.Background(), "EncodeFiles", paths, nil, nil)
}

// EncodeFilesContext is EncodeFiles with a context and progress reports.
// The call stops between two passes once ctx is done, with an *Error of
// Status ErrCancelled whose Err is ctx.Err(), so that errors.Is(err,
// context.Canceled) holds. progress may be nil.
func (e *ImageEncoder) EncodeFilesContext(ctx context.Context, paths []string, progress ProgressFunc) ([][]float32, error) {
	return e.encodeFiles(ctx, "EncodeFilesContext", paths, progress, nil)
}

// EncodeFilesEach is EncodeFilesContext with per-input results: a file that
// cannot be encoded (missing, corrupt, unsupported, over MaxImagePixels, a
// NUL byte in its path) does not fail the call; errs[i] is its *Error and
// rows[i] is nil, and every other file is encoded. errs has an entry per
// path, nil for those encoded. err is for what is not one file's failure
// (ErrClosed, ErrNoMem, ErrCancelled); then rows and errs are nil.
func (e *ImageEncoder) EncodeFilesEach(ctx context.Context, paths []string, progress ProgressFunc) (rows [][]float32, errs []error, err error) {
	errs = make([]error, len(paths))
	if rows, err = e.encodeFiles(ctx, "EncodeFilesEach", paths, progress, errs); err != nil {
		return nil, nil, err
	}
	return rows, errs, nil
}

// encodeFiles makes lclip_image_encode_files_ex, all or nothing when errs is
// nil, else with per-input results in errs (see runBatch).
func (e *ImageEncoder) encodeFiles(ctx context.Context, op string, paths []string, progress ProgressFunc,
	errs []error) ([][]float32, error) {
	arr, err := newCStringArray(op, "path", paths, errs, "")
	if err != nil {
		return nil, err
	}
	defer arr.free()
	h, err := e.acquire()
	if err != nil {
		return nil, err
	}
	defer e.release()
	return runBatch(ctx, op, len(paths), e.dim, progress, errs,
		func(out *C.float, status *C.lclip_status, messages **C.char, progress C.uintptr_t) C.golclip_result {
			return C.golclip_image_encode_files_ex(h, arr.ptr, C.size_t(len(paths)), out, status, messages, progress)
		})
}

// EncodeBytes returns the embedding of an encoded PNG, JPEG, WebP, GIF or BMP
// image held in memory, decoded exactly as EncodeFile decodes a file.
func (e *ImageEncoder) EncodeBytes(data []byte) ([]float32, error) {
	const op = "EncodeBytes"
	h, err := e.acquire()
	if err != nil {
		return nil, err
	}
	defer e.release()
	var p unsafe.Pointer
	if len(data) > 0 {
		p = unsafe.Pointer(&data[0])
	}
	out := make([]float32, e.dim)
	if err := check(op, C.golclip_image_encode_memory(h, p, C.size_t(len(data)), floatPtr(out))); err != nil {
		return nil, err
	}
	return out, nil
}

// EncodeImage returns the embedding of a decoded image. The image is
// converted to 8-bit RGB as Pillow's convert("RGB") converts an image: alpha
// is dropped without compositing, from non-premultiplied colour (so a
// premultiplied *image.RGBA is un-premultiplied first, and fully transparent
// pixels become black); 16-bit channels keep their high byte; greyscale is
// replicated. The RGB pixels are then resized and normalised exactly as
// EncodeFile does.
//
// For an opaque image this gives exactly what EncodeFile gives for a file
// that decodes to the same pixels. For a translucent one the reference
// resizes in premultiplied RGBA before dropping alpha, which an RGB input
// cannot reproduce: encode the file (EncodeFile, EncodeBytes) to match it.
// Decoders differ too: Go's image/jpeg does not decode JPEGs to the same
// pixels as libjpeg-turbo, which the reference and EncodeFile use.
//
// *image.RGBA, *image.NRGBA, *image.YCbCr and *image.Gray are converted
// directly; other types go through color.NRGBAModel pixel by pixel.
func (e *ImageEncoder) EncodeImage(img image.Image) ([]float32, error) {
	const op = "EncodeImage"
	if img == nil {
		return nil, &Error{Op: op, Status: ErrInvalidArgument, Message: "the image is nil"}
	}
	b := img.Bounds()
	w, hgt := b.Dx(), b.Dy()
	if w <= 0 || hgt <= 0 {
		return nil, &Error{Op: op, Status: ErrInvalidArgument, Message: "the image is empty"}
	}
	if w > math.MaxInt32/3 || hgt > math.MaxInt32 || uint64(w)*uint64(hgt) > e.maxPixels {
		return nil, &Error{Op: op, Status: ErrTooLarge, Message: "image " + strconv.Itoa(w) + "x" +
			strconv.Itoa(hgt) + " has more than max_image_pixels = " +
			strconv.FormatUint(e.maxPixels, 10) + " pixels"}
	}
	rgb := toRGB(img)
	h, err := e.acquire()
	if err != nil {
		return nil, err
	}
	defer e.release()
	out := make([]float32, e.dim)
	r := C.golclip_image_encode_rgb(h, (*C.uint8_t)(unsafe.Pointer(&rgb[0])), C.int(w), C.int(hgt),
		C.size_t(3*w), floatPtr(out))
	if err := check(op, r); err != nil {
		return nil, err
	}
	return out, nil
}

// Preprocess returns the model's input tensor for an image file: 3 x
// ImageSize x ImageSize float32 values, channels R, G, B, each a row-major
// square, normalised with the model's mean and std. It is what EncodeFile
// feeds the vision tower, for comparison with other preprocessing.
func (e *ImageEncoder) Preprocess(path string) ([]float32, error) {
	const op = "Preprocess"
	cpath, err := cString(op, "path", path)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(cpath))
	h, err := e.acquire()
	if err != nil {
		return nil, err
	}
	defer e.release()
	out := make([]float32, 3*e.size*e.size)
	if err := check(op, C.golclip_image_preprocess_file(h, cpath, floatPtr(out))); err != nil {
		return nil, err
	}
	return out, nil
}

// EncodePixels returns the embeddings of preprocessed input tensors, each
// 3 x ImageSize x ImageSize values as Preprocess returns them, in one
// batched call (in passes, as EncodeFiles).
func (e *ImageEncoder) EncodePixels(tensors [][]float32) ([][]float32, error) {
	return e.encodePixels(context.Background(), "EncodePixels", tensors, nil)
}

// EncodePixelsContext is EncodePixels with a context and progress reports,
// as EncodeFilesContext. (Tensors cannot fail one by one: there is no
// per-input form.)
func (e *ImageEncoder) EncodePixelsContext(ctx context.Context, tensors [][]float32, progress ProgressFunc) ([][]float32, error) {
	return e.encodePixels(ctx, "EncodePixelsContext", tensors, progress)
}

// encodePixels makes lclip_image_encode_pixels_ex (see runBatch).
func (e *ImageEncoder) encodePixels(ctx context.Context, op string, tensors [][]float32,
	progress ProgressFunc) ([][]float32, error) {
	n := 3 * e.size * e.size
	pixels := make([]float32, 0, len(tensors)*n)
	for i, t := range tensors {
		if len(t) != n {
			return nil, &Error{Op: op, Status: ErrInvalidArgument, Message: "tensor " + strconv.Itoa(i) +
				" has " + strconv.Itoa(len(t)) + " values, not 3 x " + strconv.Itoa(e.size) + " x " +
				strconv.Itoa(e.size)}
		}
		pixels = append(pixels, t...)
	}
	h, err := e.acquire()
	if err != nil {
		return nil, err
	}
	defer e.release()
	return runBatch(ctx, op, len(tensors), e.dim, progress, nil,
		func(out *C.float, _ *C.lclip_status, _ **C.char, progress C.uintptr_t) C.golclip_result {
			return C.golclip_image_encode_pixels_ex(h, floatPtr(pixels), C.size_t(len(tensors)), out, progress)
		})
}
