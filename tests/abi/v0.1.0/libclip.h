/*
 * libclip — CLIP inference as an embeddable C library.
 *
 * One header, opaque handles, explicit status codes. An application opens an
 * image encoder and/or a text encoder from a CLIP checkpoint, turns images and
 * texts into vectors in one shared space, and compares them.
 *
 * Conventions that hold for every function below unless its comment says
 * otherwise:
 *  - Functions that can fail return an lclip_status. On failure, nothing is
 *    written to output arguments except that handle outputs are set to NULL,
 *    and lclip_last_error() describes what went wrong on the calling thread.
 *  - Pointers are never adopted: the caller keeps ownership of what it passes
 *    in and may free it as soon as the call returns.
 *  - Handles are safe to use from several threads at once for every function
 *    taking a const handle or documented as thread-safe; closing a handle must
 *    not race with any other use of it.
 *  - The library never prints, never calls exit() or abort() on bad input, and
 *    keeps no global mutable state (apart from each thread's error message).
 *  - Model files are memory-mapped: truncating or rewriting a weights file
 *    while an encoder has it open is outside the contract (the OS may then
 *    deliver SIGBUS on access); replace model files by renaming new ones in.
 *  - Symbols are prefixed lclip_ / LCLIP_ so that libclip can be linked beside
 *    clip.cpp or llama.cpp, which export clip_* names.
 *
 * Licence: MIT (see LICENSE).
 */
#ifndef LIBCLIP_H
#define LIBCLIP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The single source of the version number: CMake reads these three lines. */
#define LCLIP_VERSION_MAJOR 0
#define LCLIP_VERSION_MINOR 1
#define LCLIP_VERSION_PATCH 0

#if defined(_WIN32) && defined(LCLIP_BUILDING_SHARED)
#define LCLIP_API __declspec(dllexport)
#elif defined(_WIN32) && !defined(LCLIP_STATIC)
#define LCLIP_API __declspec(dllimport)
#elif defined(__GNUC__) || defined(__clang__)
#define LCLIP_API __attribute__((visibility("default")))
#else
#define LCLIP_API
#endif

/* ------------------------------------------------------------------------ */
/* Status codes. Values are part of the ABI and are never renumbered; new
 * codes are only ever appended. */
typedef enum lclip_status {
    LCLIP_OK = 0,
    LCLIP_E_INVALID_ARGUMENT = 1, /* NULL where a pointer is required, bad option value, wrong size */
    LCLIP_E_IO = 2,               /* a file is missing, unreadable or cannot be mapped */
    LCLIP_E_FORMAT = 3,           /* a file or buffer is malformed, truncated or inconsistent */
    LCLIP_E_UNSUPPORTED = 4,      /* well-formed, but a variant libclip does not implement */
    LCLIP_E_NOMEM = 5,            /* an allocation failed */
    LCLIP_E_TOO_LARGE = 6         /* input exceeds a configured resource limit */
} lclip_status;

/* A static English description of a status code ("unknown status" for values
 * this version does not know). Thread-safe; never NULL. */
LCLIP_API const char *lclip_strerror(lclip_status status);

/* The detail message of the most recent failure on the calling thread, e.g.
 * "model.safetensors: tensor 'logit_scale': data_offsets [8, 4] are reversed".
 * Successful calls do not clear it. The string is owned by the library and
 * stays valid until the next libclip call on the same thread. Never NULL
 * (empty if no call on this thread has failed). */
LCLIP_API const char *lclip_last_error(void);

/* "MAJOR.MINOR.PATCH" of the library actually loaded. Thread-safe. */
LCLIP_API const char *lclip_version(void);

/* ------------------------------------------------------------------------ */
/* Options. The struct may grow at its end in later versions; struct_size
 * tells the library how much of it the caller knows about, and fields beyond
 * it take their defaults. Always start from lclip_options_init(). */
#define LCLIP_MAX_THREADS 256 /* the most n_threads may ask for */

typedef struct lclip_options {
    size_t struct_size; /* sizeof(lclip_options) as the caller was compiled */

    /* Threads per encode call.
     *   0  (default) libclip runs on the calling thread and starts no thread;
     *      matrix products use the BLAS's own threads, as the process has
     *      them set (OPENBLAS_NUM_THREADS, openblas_set_num_threads(), or all
     *      cores).
     *   N > 0  each encode call runs on N threads: the calling thread and
     *      N - 1 that libclip starts for the call and joins before it
     *      returns. Every step (matrix products, attention, layer norms) is
     *      shared out among them, and the BLAS runs single-threaded inside.
     *      For that, libclip sets OpenBLAS's (or BLIS's) process-wide thread
     *      count to 1 when the encoder opens and before each encode; this
     *      affects every other user of that BLAS in the process. Against
     *      another CBLAS, configure it single-threaded yourself.
     * N = the number of cores is the fastest. Concurrent calls each start
     * their own threads. Results do not depend on N beyond float rounding.
     * Values outside 0..LCLIP_MAX_THREADS are LCLIP_E_INVALID_ARGUMENT. */
    int n_threads;

    /* 1 (default): encode functions return L2-normalised vectors;
     * 0: the raw projection output, as the reference's encode_image/text. */
    int normalize;

    /* Untrusted-input limits for model files; exceeding one is
     * LCLIP_E_TOO_LARGE, reported before anything is allocated for it.
     * 0 selects the default. */
    uint64_t max_header_bytes;  /* safetensors JSON header; default 100 MiB */
    uint64_t max_tensor_count;  /* tensors in one file; default 65536 */

    /* Text. The BPE vocabulary comes from vocab.json + merges.txt beside the
     * weights (HF layout) or from OpenAI's bpe_simple_vocab_16e6.txt.gz, found
     * beside the weights or at vocab_path (NULL: look beside the weights).
     * A vocabulary that is named or present but broken fails the open; with
     * none at all the text encoder opens for lclip_text_encode_tokens only.
     * The string is copied at open. */
    const char *vocab_path;
    /* 1 (default): a text longer than the context is cut as the reference's
     * clip.tokenize(truncate=True) does (first context-1 tokens, then the end
     * token); 0: it is LCLIP_E_TOO_LARGE. */
    int truncate_text;
    uint64_t max_text_bytes;    /* one text's UTF-8 length; default 1 MiB */

    /* Images. */
    uint64_t max_image_pixels;  /* width x height of a decoded image; default 178956970 (Pillow's) */
    /* 1: apply the EXIF orientation of JPEGs before preprocessing; 0
     * (default): ignore it, as the reference (PIL.Image.open) does. */
    int exif_orientation;
} lclip_options;

/* Fills *opts with the defaults and sets struct_size. Passing NULL is a no-op. */
LCLIP_API void lclip_options_init(lclip_options *opts);

/* ------------------------------------------------------------------------ */
/* Encoders.
 *
 * model_path is one of:
 *  - a Hugging Face CLIP directory: config.json, model.safetensors (F32, F16
 *    or BF16), vocab.json + merges.txt, optionally preprocessor_config.json;
 *  - an open_clip / OpenAI-named .safetensors file (visual.conv1.weight, ...),
 *    with open_clip_config.json beside it when present (otherwise the
 *    hyperparameters are inferred from the tensor shapes as OpenAI's
 *    build_model does), or a directory holding open_clip_model.safetensors.
 *
 * The weights file is memory-mapped read-only: F32 tensors are used in place
 * (shared page cache between processes), F16/BF16 tensors are converted once
 * at open. An image encoder reads only the vision tower's tensors and
 * logit_scale; a text encoder only the text tower's.
 *
 * opts may be NULL (defaults). On success *out receives a handle the caller
 * frees with the matching _close(); on failure *out is set to NULL.
 * Errors: LCLIP_E_INVALID_ARGUMENT (NULL path/out, bad options), LCLIP_E_IO,
 * LCLIP_E_FORMAT, LCLIP_E_UNSUPPORTED, LCLIP_E_NOMEM, LCLIP_E_TOO_LARGE.
 * Opening is thread-safe (distinct calls share nothing).
 */
typedef struct lclip_image_encoder lclip_image_encoder;
typedef struct lclip_text_encoder lclip_text_encoder;

LCLIP_API lclip_status lclip_image_encoder_open(const char *model_path, const lclip_options *opts,
                                                lclip_image_encoder **out);
/* Frees the handle and unmaps the model. NULL is a no-op. */
LCLIP_API void lclip_image_encoder_close(lclip_image_encoder *enc);
/* Embedding dimension (projection output size); 0 for NULL. */
LCLIP_API size_t lclip_image_encoder_dim(const lclip_image_encoder *enc);
/* Square input resolution of the vision tower in pixels; 0 for NULL. */
LCLIP_API int lclip_image_encoder_image_size(const lclip_image_encoder *enc);
/* exp(logit_scale): the multiplier of cosine similarities for zero-shot
 * logits (100 for trained OpenAI models); NaN for NULL. */
LCLIP_API float lclip_image_encoder_logit_scale(const lclip_image_encoder *enc);

LCLIP_API lclip_status lclip_text_encoder_open(const char *model_path, const lclip_options *opts,
                                               lclip_text_encoder **out);
/* Frees the handle and unmaps the model. NULL is a no-op. */
LCLIP_API void lclip_text_encoder_close(lclip_text_encoder *enc);
/* Embedding dimension (projection output size); 0 for NULL. */
LCLIP_API size_t lclip_text_encoder_dim(const lclip_text_encoder *enc);
/* Tokens per text, start and end tokens included (77 for CLIP); 0 for NULL. */
LCLIP_API int lclip_text_encoder_context_length(const lclip_text_encoder *enc);
/* exp(logit_scale), as for the image encoder; NaN for NULL. */
LCLIP_API float lclip_text_encoder_logit_scale(const lclip_text_encoder *enc);

/* ------------------------------------------------------------------------ */
/* Text. All encode functions write dim floats per text into out (caller
 * allocated), L2-normalised unless opts.normalize was 0. They may be called
 * from several threads at once on one handle. On failure out is untouched,
 * also for a batch whose last text fails. */

/* Tokenizes utf8 exactly as the reference clip.tokenize: cleaning (ftfy-style
 * fixes, HTML unescaping, whitespace folding, lower-casing), byte-level BPE,
 * start token 49406, end token 49407. Writes context_length ids, zero-padded,
 * into tokens (capacity must be at least lclip_text_encoder_context_length())
 * and the number before the padding into *n_tokens (may be NULL).
 * Errors: LCLIP_E_INVALID_ARGUMENT (NULL, small capacity, invalid UTF-8),
 * LCLIP_E_TOO_LARGE (text over max_text_bytes, or too long for the context
 * with truncate_text 0), LCLIP_E_UNSUPPORTED (the encoder was opened without
 * a vocabulary: none beside the weights and no vocab_path; only
 * lclip_text_encode_tokens works then). */
LCLIP_API lclip_status lclip_tokenize(const lclip_text_encoder *enc, const char *utf8, int32_t *tokens,
                                      size_t capacity, size_t *n_tokens);

/* One text into out[dim]. */
LCLIP_API lclip_status lclip_text_encode(lclip_text_encoder *enc, const char *utf8, float *out);

/* n texts into out[n * dim], row i for texts[i]. The texts' real tokens are
 * packed into one matrix per layer, so short captions cost what their tokens
 * cost. n == 0 is a no-op. */
LCLIP_API lclip_status lclip_text_encode_batch(lclip_text_encoder *enc, const char *const *texts, size_t n,
                                               float *out);

/* n already-tokenized texts, tokens[n * context_length] as lclip_tokenize
 * writes them (start token, ids, end token, zero padding). Each text is
 * pooled where its largest id first occurs, as the reference's argmax does:
 * the end token. Ids outside the vocabulary are LCLIP_E_INVALID_ARGUMENT. */
LCLIP_API lclip_status lclip_text_encode_tokens(lclip_text_encoder *enc, const int32_t *tokens, size_t n,
                                                float *out);

/* ------------------------------------------------------------------------ */
/* Images. Files and buffers are PNG or JPEG (chosen by their first bytes).
 * Decoding and preprocessing follow the reference (PIL + torchvision's
 * CLIP transform) pixel for pixel: bicubic resize of the shorter side,
 * centre crop, normalisation with the model's mean/std. All encode
 * functions write dim floats per image, L2-normalised unless opts.normalize
 * was 0, and may be called from several threads at once on one handle. On
 * failure out is untouched, also for a batch whose last image fails.
 * Errors: LCLIP_E_INVALID_ARGUMENT, LCLIP_E_IO, LCLIP_E_FORMAT (corrupt or
 * truncated image), LCLIP_E_UNSUPPORTED, LCLIP_E_TOO_LARGE (over
 * max_image_pixels), LCLIP_E_NOMEM. */

/* The model's input tensor for an image file: out_chw[3 * size * size],
 * channels R, G, B, each size x size, normalised (size =
 * lclip_image_encoder_image_size()). */
LCLIP_API lclip_status lclip_image_preprocess_file(const lclip_image_encoder *enc, const char *path,
                                                   float *out_chw);

LCLIP_API lclip_status lclip_image_encode_file(lclip_image_encoder *enc, const char *path, float *out);

/* n files into out[n * dim], decoded one by one and encoded in batched
 * passes through the tower (up to 768 tokens per pass: 15 ViT-B/32 images),
 * each linear layer one GEMM over all of a pass's images. */
LCLIP_API lclip_status lclip_image_encode_files(lclip_image_encoder *enc, const char *const *paths, size_t n,
                                                float *out);

/* An encoded PNG or JPEG in memory. */
LCLIP_API lclip_status lclip_image_encode_memory(lclip_image_encoder *enc, const void *data, size_t size,
                                                 float *out);

/* Raw 8-bit RGB pixels, row r at rgb + r * stride (stride >= 3 * width). */
LCLIP_API lclip_status lclip_image_encode_rgb(lclip_image_encoder *enc, const uint8_t *rgb, int width,
                                              int height, size_t stride, float *out);

/* n preprocessed tensors pixels[n * 3 * size * size] (as
 * lclip_image_preprocess_file writes them) into out[n * dim]. */
LCLIP_API lclip_status lclip_image_encode_pixels(lclip_image_encoder *enc, const float *pixels, size_t n,
                                                 float *out);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* LIBCLIP_H */
