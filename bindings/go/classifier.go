package libclip

// #include <stdlib.h>
// #include "glue.h"
import "C"

import (
	"context"
	"errors"
	"math"
	"runtime"
	"runtime/cgo"
	"strconv"
	"sync"
	"unsafe"
)

// Compile-time check that the ClassifierKind constants equal the C header's.
var _ = [1]struct{}{}[(ClassifierVectors-C.LCLIP_CLASSIFIER_VECTORS)|
	(ClassifierZeroShot-C.LCLIP_CLASSIFIER_ZEROSHOT)|(ClassifierProbe-C.LCLIP_CLASSIFIER_PROBE)]

// ClassifierKind is how a classifier was made (lclip_classifier_kind); its
// file records it.
type ClassifierKind int

// The kinds of the C API (LCLIP_CLASSIFIER_*).
const (
	// ClassifierVectors is made from the caller's vectors (NewClassifier).
	ClassifierVectors ClassifierKind = 0
	// ClassifierZeroShot is made from class names and prompt templates
	// through a text encoder (NewZeroShotClassifier).
	ClassifierZeroShot ClassifierKind = 1
	// ClassifierProbe is a linear probe trained on labelled embeddings
	// (TrainProbe).
	ClassifierProbe ClassifierKind = 2
)

// String returns "vectors", "zero-shot", "probe", or "ClassifierKind(N)"
// for a kind this package does not know.
func (k ClassifierKind) String() string {
	switch k {
	case ClassifierVectors:
		return "vectors"
	case ClassifierZeroShot:
		return "zero-shot"
	case ClassifierProbe:
		return "probe"
	}
	return "ClassifierKind(" + strconv.Itoa(int(k)) + ")"
}

// Classifier is a matrix of class vectors (one per class, Dim values each),
// a name per class, a logit scale and a bias per class. For an embedding e
// it gives, for each class c,
//
//	logit[c] = LogitScale * dot(e / |e|, vector[c]) + bias[c]
//
// and the softmax of the logits. Embeddings are L2-normalised first, so raw
// (Options.RawOutput) and normalised embeddings give the same result. A
// classifier is immutable and safe for concurrent use by several
// goroutines. It holds no encoder: save it, and load it where only an image
// encoder (or an index of embeddings) is at hand.
//
// A classifier holds a little C memory (its vectors and names). Close frees
// it at once; one that is never closed is freed by a finalizer once it is
// garbage-collected.
type Classifier struct {
	mu      sync.RWMutex // read-held by calls into C, write-held by Close
	h       *C.lclip_classifier
	names   []string
	dim     int
	kind    ClassifierKind
	scale   float32
	vectors []float32 // copies of the C arrays, readable after Close
	bias    []float32
}

// TemplateSet returns a built-in set of prompt templates, each holding "{}"
// where the class name goes: "imagenet", the 80 templates of the CLIP
// paper's ImageNet ensemble (openai/CLIP,
// notebooks/Prompt_Engineering_for_ImageNet.ipynb), or "photo", the single
// "a photo of a {}.". It returns nil for a name the library does not know.
func TemplateSet(name string) []string {
	cname, err := cString("TemplateSet", "name", name)
	if err != nil {
		return nil // no set has a NUL byte in its name
	}
	defer C.free(unsafe.Pointer(cname))
	var n C.size_t
	set := C.lclip_template_set(cname, &n)
	if set == nil {
		return nil
	}
	out := make([]string, int(n))
	for i, s := range unsafe.Slice(set, int(n)) {
		out[i] = C.GoString(s)
	}
	return out
}

// NewZeroShotClassifier makes the CLIP paper's prompt ensemble: for each
// class, every template with its "{}" replaced by the class name (a
// template without "{}" gets " " and the name appended) is encoded, each
// embedding L2-normalised, and their mean, L2-normalised, is the class
// vector. The logit scale is the encoder's, the biases are 0. templates
// nil means TemplateSet("imagenet"). Errors: ErrInvalidArgument (no
// classes or templates, an empty or duplicate name, a template with more
// than one "{}", invalid UTF-8, a NUL byte), ErrUnsupported (an encoder
// without a vocabulary), ErrTooLarge (a prompt too long), ErrClosed.
func NewZeroShotClassifier(enc *TextEncoder, names, templates []string) (*Classifier, error) {
	return newZeroShot(context.Background(), "NewZeroShotClassifier", enc, names, templates, nil)
}

// NewZeroShotClassifierContext is NewZeroShotClassifier with a context,
// checked after each class, and progress reports (done and total count
// classes), as ImageEncoder.EncodeFilesContext.
func NewZeroShotClassifierContext(ctx context.Context, enc *TextEncoder, names, templates []string,
	progress ProgressFunc) (*Classifier, error) {
	return newZeroShot(ctx, "NewZeroShotClassifierContext", enc, names, templates, progress)
}

func newZeroShot(ctx context.Context, op string, enc *TextEncoder, names, templates []string,
	progress ProgressFunc) (*Classifier, error) {
	if enc == nil {
		return nil, &Error{Op: op, Status: ErrInvalidArgument, Message: "nil text encoder"}
	}
	if templates == nil {
		templates = TemplateSet("imagenet")
	}
	cnames, err := newCStringArray(op, "class name", names, nil, "")
	if err != nil {
		return nil, err
	}
	defer cnames.free()
	ctemplates, err := newCStringArray(op, "template", templates, nil, "")
	if err != nil {
		return nil, err
	}
	defer ctemplates.free()
	if ctx.Err() != nil {
		return nil, cancelled(ctx, op, 0, len(names))
	}
	h, err := enc.acquire()
	if err != nil {
		return nil, err
	}
	defer enc.release()
	c := &batchCall{ctx: ctx, progress: progress}
	var handle cgo.Handle
	if progress != nil || ctx.Done() != nil {
		handle = cgo.NewHandle(c)
		defer handle.Delete()
	}
	var out *C.lclip_classifier
	err = check(op, C.golclip_classifier_zeroshot(h, cnames.ptr, C.size_t(len(names)), ctemplates.ptr,
		C.size_t(len(templates)), C.uintptr_t(handle), &out))
	c.abnormal.resume()
	if err != nil {
		if errors.Is(err, ErrCancelled) { // only report stops the call: ctx is done
			return nil, cancelled(ctx, op, c.done, len(names))
		}
		return nil, err
	}
	return newClassifier(out), nil
}

// ProbeOptions configures TrainProbe and SelectC; the zero value (and a nil
// *ProbeOptions) selects the C library's defaults.
type ProbeOptions struct {
	// C is the inverse L2 regularisation strength, as scikit-learn's
	// LogisticRegression(C=...): training minimises C * the summed cross
	// entropy + |W|^2 / 2 (the biases are not regularised). 0: 1.0.
	// SelectC ignores it.
	C float64
	// Tolerance stops the optimiser when |gradient| / max(1, |parameters|)
	// falls below it. 0: 1e-6.
	Tolerance float64
	// MaxIterations bounds the L-BFGS iterations; reaching it is not an
	// error. 0: 1000.
	MaxIterations int
}

// probeArgs checks and unpacks o (nil: defaults).
func probeArgs(op string, o *ProbeOptions) (c, tolerance C.double, maxIterations C.int, err error) {
	if o == nil {
		return 0, 0, 0, nil
	}
	if o.MaxIterations > math.MaxInt32 || o.MaxIterations < math.MinInt32 {
		return 0, 0, 0, &Error{Op: op, Status: ErrInvalidArgument,
			Message: "options: MaxIterations " + strconv.Itoa(o.MaxIterations) + " is out of range"}
	}
	return C.double(o.C), C.double(o.Tolerance), C.int(o.MaxIterations), nil
}

// TrainProbe trains a linear probe, the CLIP paper's: multinomial logistic
// regression with L2 regularisation (scikit-learn's LogisticRegression,
// lbfgs) on the L2-normalised embeddings, labels[i] in [0, len(names))
// naming the class of embeddings[i]. The class vectors are the weights, the
// biases the intercepts, the logit scale 1. opts may be nil. Errors:
// ErrInvalidArgument (no embeddings, rows of different lengths, fewer than
// 2 classes, a label out of range, a class without examples, a non-finite
// or zero embedding, bad options).
func TrainProbe(embeddings [][]float32, labels []int, names []string, opts *ProbeOptions) (*Classifier, error) {
	const op = "TrainProbe"
	flat, dim, err := flatten(op, "embedding", embeddings, -1)
	if err != nil {
		return nil, err
	}
	ids, err := labelIDs(op, labels, len(embeddings))
	if err != nil {
		return nil, err
	}
	c, tolerance, maxIterations, err := probeArgs(op, opts)
	if err != nil {
		return nil, err
	}
	cnames, err := newCStringArray(op, "class name", names, nil, "")
	if err != nil {
		return nil, err
	}
	defer cnames.free()
	var out *C.lclip_classifier
	err = check(op, C.golclip_classifier_train_probe(floatPtrOrNil(flat), C.size_t(len(embeddings)), C.size_t(dim),
		int32PtrOrNil(ids), cnames.ptr, C.size_t(len(names)), c, tolerance, maxIterations, &out))
	if err != nil {
		return nil, err
	}
	return newClassifier(out), nil
}

// SelectC picks TrainProbe's C by k-fold cross-validation: each C of grid
// (nil: 10^-2, 10^-1.5, ..., 10^4) is trained on folds-1 folds and scored
// by accuracy on the held-out one, the folds stratified by class (the j-th
// example of a class goes to fold j mod folds). It returns the C of the
// highest mean accuracy (the smallest such C on ties) and that accuracy.
// folds must be at least 2 and every one of the nClasses classes needs at
// least folds examples. opts's C is ignored; opts may be nil.
func SelectC(embeddings [][]float32, labels []int, nClasses int, grid []float64, folds int,
	opts *ProbeOptions) (bestC, accuracy float64, err error) {
	const op = "SelectC"
	flat, dim, err := flatten(op, "embedding", embeddings, -1)
	if err != nil {
		return 0, 0, err
	}
	ids, err := labelIDs(op, labels, len(embeddings))
	if err != nil {
		return 0, 0, err
	}
	_, tolerance, maxIterations, err := probeArgs(op, opts)
	if err != nil {
		return 0, 0, err
	}
	if nClasses < 0 || folds > math.MaxInt32 || folds < math.MinInt32 {
		return 0, 0, &Error{Op: op, Status: ErrInvalidArgument, Message: "nClasses " + strconv.Itoa(nClasses) +
			" or folds " + strconv.Itoa(folds) + " is out of range"}
	}
	var gridPtr *C.double
	if len(grid) > 0 {
		gridPtr = (*C.double)(unsafe.Pointer(&grid[0]))
	}
	var c, acc C.double
	err = check(op, C.golclip_probe_select_c(floatPtrOrNil(flat), C.size_t(len(embeddings)), C.size_t(dim),
		int32PtrOrNil(ids), C.size_t(nClasses), gridPtr, C.size_t(len(grid)), C.int(folds), tolerance,
		maxIterations, &c, &acc))
	if err != nil {
		return 0, 0, err
	}
	return float64(c), float64(acc), nil
}

// NewClassifier makes a classifier from the caller's class vectors (one per
// name, all of the same length, used as given: not normalised), bias (one
// per class; nil: zeros) and logitScale.
func NewClassifier(vectors [][]float32, bias []float32, names []string, logitScale float32) (*Classifier, error) {
	const op = "NewClassifier"
	flat, dim, err := flatten(op, "vector", vectors, -1)
	if err != nil {
		return nil, err
	}
	if len(vectors) != len(names) {
		return nil, &Error{Op: op, Status: ErrInvalidArgument, Message: strconv.Itoa(len(vectors)) +
			" class vectors but " + strconv.Itoa(len(names)) + " class names"}
	}
	if bias != nil && len(bias) != len(names) {
		return nil, &Error{Op: op, Status: ErrInvalidArgument, Message: "bias has " + strconv.Itoa(len(bias)) +
			" values for " + strconv.Itoa(len(names)) + " classes"}
	}
	cnames, err := newCStringArray(op, "class name", names, nil, "")
	if err != nil {
		return nil, err
	}
	defer cnames.free()
	var out *C.lclip_classifier
	err = check(op, C.golclip_classifier_create(floatPtrOrNil(flat), floatPtrOrNil(bias), cnames.ptr,
		C.size_t(len(names)), C.size_t(dim), C.float(logitScale), &out))
	if err != nil {
		return nil, err
	}
	return newClassifier(out), nil
}

// LoadClassifier loads a classifier file written by Save (or by the C API;
// docs/api.md, "Classifier files"). Errors: ErrIO (missing or unreadable),
// ErrFormat (malformed, truncated or corrupted), ErrUnsupported (a later
// format version).
func LoadClassifier(path string) (*Classifier, error) {
	const op = "LoadClassifier"
	cpath, err := cString(op, "path", path)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(cpath))
	var out *C.lclip_classifier
	if err := check(op, C.golclip_classifier_load(cpath, &out)); err != nil {
		return nil, err
	}
	return newClassifier(out), nil
}

// LoadClassifierBytes is LoadClassifier for the content of a classifier
// file.
func LoadClassifierBytes(data []byte) (*Classifier, error) {
	const op = "LoadClassifierBytes"
	// Empty data is an empty file (ErrFormat), not a missing argument: C
	// gets a pointer either way.
	var empty byte
	ptr := unsafe.Pointer(&empty)
	if len(data) > 0 {
		ptr = unsafe.Pointer(&data[0])
	}
	var out *C.lclip_classifier
	if err := check(op, C.golclip_classifier_load_memory(ptr, C.size_t(len(data)), &out)); err != nil {
		return nil, err
	}
	return newClassifier(out), nil
}

// newClassifier wraps a handle made by the C library, copying what the
// accessors return, and sets the finalizer.
func newClassifier(h *C.lclip_classifier) *Classifier {
	n, dim := int(C.lclip_classifier_classes(h)), int(C.lclip_classifier_dim(h))
	c := &Classifier{
		h:       h,
		names:   make([]string, n),
		dim:     dim,
		kind:    ClassifierKind(C.lclip_classifier_get_kind(h)),
		scale:   float32(C.lclip_classifier_logit_scale(h)),
		vectors: make([]float32, n*dim),
		bias:    make([]float32, n),
	}
	for i := range c.names {
		c.names[i] = C.GoString(C.lclip_classifier_class_name(h, C.size_t(i)))
	}
	if n > 0 {
		copy(c.vectors, unsafe.Slice((*float32)(unsafe.Pointer(C.lclip_classifier_vectors(h))), n*dim))
		copy(c.bias, unsafe.Slice((*float32)(unsafe.Pointer(C.lclip_classifier_bias(h))), n))
	}
	runtime.SetFinalizer(c, (*Classifier).Close)
	return c
}

// Classes returns the class names, in the order of the columns of Logits
// and Probs (a copy). It stays valid after Close.
func (c *Classifier) Classes() []string { return append([]string(nil), c.names...) }

// Dim returns the length of the embeddings the classifier takes. It stays
// valid after Close.
func (c *Classifier) Dim() int { return c.dim }

// Kind returns how the classifier was made. It stays valid after Close.
func (c *Classifier) Kind() ClassifierKind { return c.kind }

// LogitScale returns the multiplier of the cosines: the text encoder's for
// zero-shot, 1 for a probe. It stays valid after Close.
func (c *Classifier) LogitScale() float32 { return c.scale }

// Vectors returns a copy of the class vectors, one row per class (unit
// rows for zero-shot). It stays valid after Close.
func (c *Classifier) Vectors() [][]float32 {
	return rows(append([]float32(nil), c.vectors...), len(c.names), c.dim)
}

// Bias returns a copy of the biases, one per class. It stays valid after
// Close.
func (c *Classifier) Bias() []float32 { return append([]float32(nil), c.bias...) }

// Close frees the C classifier, after waiting for calls in flight on c to
// return. Later calls of Logits, Probs and Save return ErrClosed; closing
// again is a no-op that returns nil.
func (c *Classifier) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.h != nil {
		C.lclip_classifier_free(c.h)
		c.h = nil
		runtime.SetFinalizer(c, nil)
	}
	return nil
}

// acquire read-locks c and returns its handle, or ErrClosed (unlocked)
// after Close. On success the caller must call c.mu.RUnlock.
func (c *Classifier) acquire() (*C.lclip_classifier, error) {
	c.mu.RLock()
	if c.h == nil {
		c.mu.RUnlock()
		return nil, ErrClosed
	}
	return c.h, nil
}

// Logits returns the logits of each embedding: a row of len(Classes())
// values per embedding. Every embedding must have Dim values. Errors:
// ErrInvalidArgument (another length, a non-finite or zero embedding),
// ErrClosed.
func (c *Classifier) Logits(embeddings [][]float32) ([][]float32, error) {
	return c.apply("Logits", embeddings, false)
}

// Probs returns the softmax of Logits over the classes: each row sums to 1.
func (c *Classifier) Probs(embeddings [][]float32) ([][]float32, error) {
	return c.apply("Probs", embeddings, true)
}

func (c *Classifier) apply(op string, embeddings [][]float32, probs bool) ([][]float32, error) {
	flat, _, err := flatten(op, "embedding", embeddings, c.dim)
	if err != nil {
		return nil, err
	}
	h, err := c.acquire()
	if err != nil {
		return nil, err
	}
	defer c.mu.RUnlock()
	k := len(c.names)
	if len(embeddings) == 0 {
		return [][]float32{}, nil
	}
	out := make([]float32, len(embeddings)*k)
	var logitsPtr, probsPtr *C.float
	if probs {
		probsPtr = floatPtr(out)
	} else {
		logitsPtr = floatPtr(out)
	}
	err = check(op, C.golclip_classifier_apply(h, floatPtr(flat), C.size_t(len(embeddings)), C.size_t(c.dim),
		logitsPtr, probsPtr))
	if err != nil {
		return nil, err
	}
	return rows(out, len(embeddings), k), nil
}

// Save writes the classifier file (docs/api.md, "Classifier files") to
// path: to a temporary file beside it, renamed in, so that path never holds
// a partial file. Errors: ErrIO, ErrClosed.
func (c *Classifier) Save(path string) error {
	const op = "Save"
	cpath, err := cString(op, "path", path)
	if err != nil {
		return err
	}
	defer C.free(unsafe.Pointer(cpath))
	h, err := c.acquire()
	if err != nil {
		return err
	}
	defer c.mu.RUnlock()
	return check(op, C.golclip_classifier_save(h, cpath))
}

// flatten copies rows of equal length into one slice and returns it with
// that length; dim >= 0 requires that length. what names a row in errors.
func flatten(op, what string, rows [][]float32, dim int) ([]float32, int, error) {
	if dim < 0 && len(rows) > 0 {
		dim = len(rows[0])
	}
	flat := make([]float32, 0, len(rows)*dim)
	for i, r := range rows {
		if len(r) != dim {
			return nil, 0, &Error{Op: op, Status: ErrInvalidArgument, Message: what + " " + strconv.Itoa(i) +
				" has " + strconv.Itoa(len(r)) + " values, not " + strconv.Itoa(dim)}
		}
		flat = append(flat, r...)
	}
	return flat, dim, nil
}

// labelIDs converts labels, one per embedding, to int32.
func labelIDs(op string, labels []int, n int) ([]int32, error) {
	if len(labels) != n {
		return nil, &Error{Op: op, Status: ErrInvalidArgument, Message: strconv.Itoa(len(labels)) +
			" labels for " + strconv.Itoa(n) + " embeddings"}
	}
	ids := make([]int32, n)
	for i, l := range labels {
		if l > math.MaxInt32 || l < math.MinInt32 {
			return nil, &Error{Op: op, Status: ErrInvalidArgument, Message: "label " + strconv.Itoa(i) + " (" +
				strconv.Itoa(l) + ") is out of range"}
		}
		ids[i] = int32(l)
	}
	return ids, nil
}

// floatPtrOrNil is floatPtr, or nil for an empty slice (C then reports what
// is missing).
func floatPtrOrNil(s []float32) *C.float {
	if len(s) == 0 {
		return nil
	}
	return floatPtr(s)
}

func int32PtrOrNil(s []int32) *C.int32_t {
	if len(s) == 0 {
		return nil
	}
	return (*C.int32_t)(unsafe.Pointer(&s[0]))
}
