package libclip

// #include <stdlib.h>
// #include "glue.h"
import "C"

import (
	"context"
	"runtime/cgo"
	"strconv"
	"sync"
	"unsafe"
)

// TextEncoder turns texts into embeddings with the text tower of a CLIP
// model. It is safe for concurrent use by several goroutines.
type TextEncoder struct {
	mu          sync.RWMutex // read-held by calls into C, write-held by Close
	h           *C.lclip_text_encoder
	dim         int
	context     int
	scale       float32
	description string
	log         cgo.Handle // Options.Log's, or 0; deleted by Close
	logs        *logger    // its target, or nil
}

// OpenTextEncoder opens the text tower of the CLIP model at path (see
// OpenImageEncoder for the layouts). The BPE vocabulary comes from
// vocab.json + merges.txt beside the weights (Hugging Face layout), from
// bpe_simple_vocab_16e6.txt.gz beside them, or from opts.VocabPath. Without
// any vocabulary the encoder still opens, but only EncodeTokens works; the
// other methods return ErrUnsupported. opts may be nil (defaults). The
// caller must Close the encoder.
func OpenTextEncoder(path string, opts *Options) (*TextEncoder, error) {
	const op = "OpenTextEncoder"
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
	var h *C.lclip_text_encoder
	err = check(op, C.golclip_text_encoder_open(cpath, co.opts, &h))
	logged := co.logs.take() // a panic or Goexit of Options.Log during the open
	if err != nil {
		logged.resume()
		return nil, err
	}
	e := &TextEncoder{
		h:           h,
		dim:         int(C.lclip_text_encoder_dim(h)),
		context:     int(C.lclip_text_encoder_context_length(h)),
		scale:       float32(C.lclip_text_encoder_logit_scale(h)),
		description: C.GoString(C.lclip_text_encoder_describe(h)),
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
func (e *TextEncoder) Dim() int { return e.dim }

// ContextLength returns the number of tokens per text, start and end tokens
// included (77 for CLIP): the length of what Tokenize returns. It stays
// valid after Close.
func (e *TextEncoder) ContextLength() int { return e.context }

// LogitScale returns exp(logit_scale), the multiplier of cosine similarities
// for zero-shot logits (100 for trained OpenAI models). It stays valid after
// Close.
func (e *TextEncoder) LogitScale() float32 { return e.scale }

// Describe returns what the encoder runs on (lclip_text_encoder_describe),
// as ImageEncoder.Describe does. It stays valid after Close.
func (e *TextEncoder) Describe() string { return e.description }

// Close frees the C encoder and unmaps the model, after waiting for calls in
// flight on e to return. Later calls return ErrClosed; closing again is a
// no-op that returns nil.
func (e *TextEncoder) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.h != nil {
		C.lclip_text_encoder_close(e.h)
		e.h = nil
		if e.log != 0 {
			e.log.Delete()
		}
	}
	return nil
}

// acquire read-locks e and returns its handle, or ErrClosed (unlocked) after
// Close. On success the caller must call e.release.
func (e *TextEncoder) acquire() (*C.lclip_text_encoder, error) {
	e.mu.RLock()
	if e.h == nil {
		e.mu.RUnlock()
		return nil, ErrClosed
	}
	return e.h, nil
}

// release ends what acquire began, once the C call has returned: it unlocks
// e and resumes a panic or Goexit of Options.Log (see Options.Log).
func (e *TextEncoder) release() {
	e.mu.RUnlock()
	e.logs.take().resume()
}

// Tokenize returns the token ids of text exactly as the reference's
// clip.tokenize(text, truncate=True)[0] does: ContextLength ids, the start
// token 49406, the text's BPE ids, the end token 49407, then zeros. Invalid
// UTF-8 and NUL bytes are ErrInvalidArgument; a text too long for the
// context is cut unless Options.NoTruncate was set (then ErrTooLarge).
func (e *TextEncoder) Tokenize(text string) ([]int32, error) {
	const op = "Tokenize"
	ctext, err := cString(op, "text", text)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(ctext))
	h, err := e.acquire()
	if err != nil {
		return nil, err
	}
	defer e.release()
	ids := make([]int32, e.context)
	r := C.golclip_tokenize(h, ctext, (*C.int32_t)(unsafe.Pointer(&ids[0])), C.size_t(len(ids)), nil)
	if err := check(op, r); err != nil {
		return nil, err
	}
	return ids, nil
}

// Encode returns the embedding of one text.
func (e *TextEncoder) Encode(text string) ([]float32, error) {
	const op = "Encode"
	ctext, err := cString(op, "text", text)
	if err != nil {
		return nil, err
	}
	defer C.free(unsafe.Pointer(ctext))
	h, err := e.acquire()
	if err != nil {
		return nil, err
	}
	defer e.release()
	out := make([]float32, e.dim)
	if err := check(op, C.golclip_text_encode(h, ctext, floatPtr(out))); err != nil {
		return nil, err
	}
	return out, nil
}

// EncodeBatch returns the embeddings of several texts, row i for texts[i], in
// one batched call that runs them through the text tower in passes (the
// texts' tokens are packed together, so a batch of short captions costs what
// their tokens cost). An empty texts gives an empty result.
func (e *TextEncoder) EncodeBatch(texts []string) ([][]float32, error) {
	return e.encodeBatch(context.Background(), "EncodeBatch", texts, nil, nil)
}

// EncodeBatchContext is EncodeBatch with a context and progress reports, as
// ImageEncoder.EncodeFilesContext.
func (e *TextEncoder) EncodeBatchContext(ctx context.Context, texts []string, progress ProgressFunc) ([][]float32, error) {
	return e.encodeBatch(ctx, "EncodeBatchContext", texts, progress, nil)
}

// EncodeBatchEach is EncodeBatchContext with per-input results, as
// ImageEncoder.EncodeFilesEach: a text that cannot be encoded (invalid
// UTF-8, a NUL byte, over MaxTextBytes, too long with NoTruncate) gets its
// *Error in errs[i] and a nil row. An encoder without a vocabulary fails
// the call (ErrUnsupported).
func (e *TextEncoder) EncodeBatchEach(ctx context.Context, texts []string, progress ProgressFunc) (rows [][]float32, errs []error, err error) {
	errs = make([]error, len(texts))
	if rows, err = e.encodeBatch(ctx, "EncodeBatchEach", texts, progress, errs); err != nil {
		return nil, nil, err
	}
	return rows, errs, nil
}

// encodeBatch makes lclip_text_encode_batch_ex, all or nothing when errs is
// nil, else with per-input results in errs (see runBatch).
func (e *TextEncoder) encodeBatch(ctx context.Context, op string, texts []string, progress ProgressFunc,
	errs []error) ([][]float32, error) {
	// Invalid UTF-8: C refuses it without encoding anything.
	arr, err := newCStringArray(op, "text", texts, errs, "\xff")
	if err != nil {
		return nil, err
	}
	defer arr.free()
	h, err := e.acquire()
	if err != nil {
		return nil, err
	}
	defer e.release()
	return runBatch(ctx, op, len(texts), e.dim, progress, errs,
		func(out *C.float, status *C.lclip_status, messages **C.char, progress C.uintptr_t) C.golclip_result {
			return C.golclip_text_encode_batch_ex(h, arr.ptr, C.size_t(len(texts)), out, status, messages, progress)
		})
}

// EncodeTokens returns the embeddings of already tokenized texts, each
// ContextLength ids as Tokenize returns them, in one batched call (in
// passes, as EncodeBatch). Each text is pooled where its largest id first
// occurs (the end token), as the reference does. It works on an encoder
// opened without a vocabulary.
func (e *TextEncoder) EncodeTokens(tokens [][]int32) ([][]float32, error) {
	return e.encodeTokens(context.Background(), "EncodeTokens", tokens, nil, nil)
}

// EncodeTokensContext is EncodeTokens with a context and progress reports,
// as ImageEncoder.EncodeFilesContext.
func (e *TextEncoder) EncodeTokensContext(ctx context.Context, tokens [][]int32, progress ProgressFunc) ([][]float32, error) {
	return e.encodeTokens(ctx, "EncodeTokensContext", tokens, progress, nil)
}

// EncodeTokensEach is EncodeTokensContext with per-input results, as
// ImageEncoder.EncodeFilesEach: a text with an id outside the vocabulary
// gets its *Error in errs[i] and a nil row. A row that is not ContextLength
// ids long is the caller's mistake, not the input's: it fails the call.
func (e *TextEncoder) EncodeTokensEach(ctx context.Context, tokens [][]int32, progress ProgressFunc) (rows [][]float32, errs []error, err error) {
	errs = make([]error, len(tokens))
	if rows, err = e.encodeTokens(ctx, "EncodeTokensEach", tokens, progress, errs); err != nil {
		return nil, nil, err
	}
	return rows, errs, nil
}

// encodeTokens makes lclip_text_encode_tokens_ex, all or nothing when errs
// is nil, else with per-input results in errs (see runBatch).
func (e *TextEncoder) encodeTokens(ctx context.Context, op string, tokens [][]int32, progress ProgressFunc,
	errs []error) ([][]float32, error) {
	ids := make([]int32, 0, len(tokens)*e.context)
	for i, t := range tokens {
		if len(t) != e.context {
			return nil, &Error{Op: op, Status: ErrInvalidArgument, Message: "text " + strconv.Itoa(i) +
				" has " + strconv.Itoa(len(t)) + " token ids, not the context length " + strconv.Itoa(e.context)}
		}
		ids = append(ids, t...)
	}
	h, err := e.acquire()
	if err != nil {
		return nil, err
	}
	defer e.release()
	return runBatch(ctx, op, len(tokens), e.dim, progress, errs,
		func(out *C.float, status *C.lclip_status, messages **C.char, progress C.uintptr_t) C.golclip_result {
			return C.golclip_text_encode_tokens_ex(h, (*C.int32_t)(unsafe.Pointer(&ids[0])), C.size_t(len(tokens)),
				out, status, messages, progress)
		})
}
