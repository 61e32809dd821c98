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
typedef struct lclip_options {
    size_t struct_size; /* sizeof(lclip_options) as the caller was compiled */

    /* Threads for matrix products. OpenBLAS keeps ONE thread count for the
     * whole process, so libclip leaves it alone by default:
     *   0  (default) do not touch it: OpenBLAS uses OPENBLAS_NUM_THREADS, or
     *      whatever the host set with openblas_set_num_threads(), or all cores;
     *   N > 0  set OpenBLAS's process-wide thread count to N when the encoder
     *      is opened. This affects every other OpenBLAS user in the process.
     * Negative values are LCLIP_E_INVALID_ARGUMENT. */
    int n_threads;

    /* 1 (default): encode functions return L2-normalised vectors;
     * 0: the raw projection output, as the reference's encode_image/text. */
    int normalize;

    /* Untrusted-input limits for model files; exceeding one is
     * LCLIP_E_TOO_LARGE, reported before anything is allocated for it.
     * 0 selects the default. */
    uint64_t max_header_bytes;  /* safetensors JSON header; default 100 MiB */
    uint64_t max_tensor_count;  /* tensors in one file; default 65536 */
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

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* LIBCLIP_H */
