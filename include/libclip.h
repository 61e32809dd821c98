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
 *    in and may free it as soon as the call returns. The one exception is
 *    the log callback and its argument (lclip_options.log, log_user), which
 *    must stay valid until the encoder is closed.
 *  - Handles are safe to use from several threads at once for every function
 *    taking a const handle or documented as thread-safe; closing a handle must
 *    not race with any other use of it.
 *  - The library never prints and never calls exit() or abort() on bad input.
 *    Diagnostics that are not errors go to the optional log callback
 *    (lclip_options.log).
 *  - Global state, all of it: each thread's error message; facts found once
 *    and then only read (the build information, the BLAS's threading); a
 *    lock that serialises cJSON's parser (it keeps a process-wide error
 *    position) while configs are read at open; and, only with
 *    lclip_options.n_threads > 0 and the CBLAS engine, the BLAS's thread
 *    count (see n_threads), changed under a lock. Handles share nothing
 *    else.
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
#define LCLIP_VERSION_MINOR 4
#define LCLIP_VERSION_PATCH 0
/* MAJOR * 10000 + MINOR * 100 + PATCH: 400 for 0.4.0. Compare it with
 * lclip_version_number() to learn which library was actually loaded. */
#define LCLIP_VERSION_NUMBER (LCLIP_VERSION_MAJOR * 10000 + LCLIP_VERSION_MINOR * 100 + LCLIP_VERSION_PATCH)

#if defined(_WIN32) && defined(LCLIP_BUILDING_SHARED)
#define LCLIP_API __declspec(dllexport)
#elif defined(_WIN32) && !defined(LCLIP_STATIC)
#define LCLIP_API __declspec(dllimport)
#elif defined(__GNUC__) || defined(__clang__)
#define LCLIP_API __attribute__((visibility("default")))
#else
#define LCLIP_API
#endif

/* The release that added a function. LCLIP_API alone marks the functions of
 * 0.1.0 (version node LIBCLIP_0 of the shared library); each later minor
 * release has its own marker and node (0.2.0: LIBCLIP_0.2). A program that
 * uses a function marked 0.2 needs libclip 0.2.0 or later at run time; on
 * ELF systems (symbol versioning) the dynamic loader says so at start-up
 * instead of failing at the call. Code built with this header uses the
 * lclip_options_init macro, a 0.2 function. docs/api.md, "ABI rules", says
 * how the ABI may grow. */
#define LCLIP_AVAILABLE_IN_0_2 LCLIP_API
#define LCLIP_AVAILABLE_IN_0_3 LCLIP_API
#define LCLIP_AVAILABLE_IN_0_4 LCLIP_API

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
    LCLIP_E_TOO_LARGE = 6,        /* input exceeds a configured resource limit */
    LCLIP_E_CANCELLED = 7         /* a progress callback asked the call to stop (since 0.2.0) */
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

/* LCLIP_VERSION_NUMBER of the library actually loaded. Thread-safe. */
LCLIP_AVAILABLE_IN_0_2 unsigned lclip_version_number(void);

/* How the loaded library was built and what it runs on, as "key=value"
 * fields separated by "; ", for bug reports and logs:
 *   version=0.2.0; blas=OpenBLAS; blas_config=OpenBLAS 0.3.21 DYNAMIC_ARCH
 *   NO_AFFINITY SkylakeX MAX_THREADS=64; blas_threading=pthreads;
 *   engines=cblas; simd=sse2; compiler=gcc 12.2.0
 * blas_threading is pthreads, openmp, serial or unknown; engines lists the
 * lclip_engine values built in (cblas, onednn). Keys may be added;
 * none is removed. Thread-safe; built at the first call, then static.
 * Never NULL. */
LCLIP_AVAILABLE_IN_0_2 const char *lclip_build_info(void);

/* ------------------------------------------------------------------------ */
/* Options.
 *
 * The struct grows at its end from release to release. struct_size tells
 * the library which release's layout the caller was compiled with: fields
 * beyond it take their defaults, and a caller compiled against a newer
 * header than the loaded library is accepted only while the fields this
 * library does not know are zero (their "default"), so that a setting is
 * never silently dropped (LCLIP_E_INVALID_ARGUMENT names the first non-zero
 * byte otherwise). Always start from lclip_options_init().
 *
 * Layout rules (docs/api.md, "ABI rules"): fields are only appended; each
 * release appends whole 8-byte units without implicit padding, so every
 * release has a distinct struct_size (on LP64: 0.1.0 72 bytes, 0.2.0 88,
 * 0.3.0 96); a field added after 0.1.0 means "default" when zero. */
#define LCLIP_MAX_THREADS 256 /* the most n_threads may ask for */

/* Levels of lclip_options.log, most severe first; a later release may add
 * less severe ones after these (since 0.2.0). */
typedef enum lclip_log_level {
    LCLIP_LOG_WARNING = 1, /* something looks wrong but the call goes on (a JPEG with corrupt data, a
                            * text encoder without a vocabulary) */
    LCLIP_LOG_INFO = 2     /* a choice the library made (hyperparameters inferred from the tensors) */
} lclip_log_level;

/* A log callback: message is one line without a trailing newline, valid
 * during the call. See lclip_options.log for the threads it runs on. */
typedef void (*lclip_log_fn)(void *user, lclip_log_level level, const char *message);

/* What runs the matrix products of the linear layers (since 0.3.0). */
typedef enum lclip_engine {
    LCLIP_ENGINE_AUTO = 0,  /* oneDNN when built in and it has a JIT kernel for this CPU, else CBLAS */
    LCLIP_ENGINE_CBLAS = 1, /* the CBLAS libclip is built against, on the F32 weights in place */
    LCLIP_ENGINE_ONEDNN = 2 /* oneDNN, weights packed once at open (LCLIP_E_UNSUPPORTED if not built in) */
} lclip_engine;

/* The numbers the linear layers' products run in (since 0.3.0). */
typedef enum lclip_precision {
    LCLIP_PRECISION_F32 = 0, /* float32 throughout: the reference's results to the tested tolerances */
    LCLIP_PRECISION_BF16 = 1 /* weights stored and products' inputs rounded to bfloat16, float32
                              * accumulation, everything else float32; oneDNN on a CPU with
                              * native bf16 (AVX512-BF16 or AMX), else LCLIP_E_UNSUPPORTED */
} lclip_precision;

typedef struct lclip_options {
    size_t struct_size; /* set by lclip_options_init() to the caller's sizeof(lclip_options) */

    /* --- 0.1.0 --------------------------------------------------------- */

    /* Threads per encode call.
     *   0  (default) libclip runs on the calling thread and starts no thread;
     *      matrix products use the BLAS's own threads, as the process has
     *      them set (OPENBLAS_NUM_THREADS, openblas_set_num_threads(), or all
     *      cores). libclip changes no BLAS setting.
     *   N > 0  each encode call runs on N threads: the calling thread and
     *      N - 1 that libclip starts for the call and joins before it
     *      returns. Every step (matrix products, attention, layer norms) is
     *      shared out among them. oneDNN's products run single-threaded
     *      on each; the oneDNN engine calls the BLAS only where oneDNN runs
     *      out of memory for an attention product, and libclip then changes
     *      no BLAS setting (after 0.4.0). With the CBLAS engine the
     *      BLAS must run single-threaded inside them, and how libclip
     *      ensures that depends on the BLAS:
     *      - OpenBLAS built with OpenMP (openblas_get_parallel() == 2): the
     *        thread count is each OpenMP thread's own; libclip sets it to 1
     *        on its helper threads and on the calling thread for the call
     *        (its callbacks included), and restores the calling thread's
     *        when the call returns. Nothing process-wide changes (tested
     *        with OpenBLAS 0.3.21).
     *      - OpenBLAS with its own threads (pthreads), or BLIS: the count is
     *        one setting for the whole process. libclip sets it to 1 before
     *        each encode call and leaves it there (the log callback hears of
     *        it): every other user of that BLAS in the process (numpy on the
     *        same OpenBLAS) then runs single-threaded too.
     *      - Another CBLAS: configure it single-threaded yourself.
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

    /* Text. The BPE vocabulary comes from vocab_path when set (OpenAI's
     * bpe_simple_vocab_16e6.txt.gz, or a directory holding it or vocab.json +
     * merges.txt); else from vocab.json + merges.txt or that .gz beside the
     * weights; else from libclip's own copy of OpenAI's .gz, installed under
     * <datadir>/libclip (docs/api.md, "Vocabulary"). A vocabulary that is
     * named or present but broken fails the open; with none at all the text
     * encoder opens for lclip_text_encode_tokens only. The describe string's
     * vocab= field says which was used. The string is copied at open. */
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

    /* --- 0.2.0 --------------------------------------------------------- */

    /* Diagnostics that are not errors (NULL, the default: dropped): JPEG and
     * PNG warnings, and choices made at open. Called during the open and
     * encode calls of the encoder, with log_user; both must stay valid until
     * the encoder is closed. Decoding may run on libclip's helper threads
     * (n_threads > 1), so log may be called from several threads at once: it
     * must be thread-safe. It may call libclip functions, except closing the
     * encoder that is logging. */
#if UINTPTR_MAX == UINT32_MAX
    /* Where uint64_t is 8-byte aligned on a 32-bit target, 0.1.0's struct
     * ends in 4 bytes of padding; this keeps 0.2.0's fields beyond them. */
    int32_t reserved_ilp32;
#endif
    lclip_log_fn log;
    void *log_user;

    /* --- 0.3.0 --------------------------------------------------------- */

    /* LCLIP_ENGINE_* (default AUTO) and LCLIP_PRECISION_* (default F32).
     * lclip_image_encoder_describe() says what an encoder got. Packed
     * weights (oneDNN) are the encoder's own memory, not the shared page
     * cache of the mapped file. */
    int engine;
    int precision;
} lclip_options;

/* Fills the caller's struct with the defaults: size is the caller's
 * sizeof(lclip_options). Never writes beyond size bytes. A size larger than
 * this library knows (a program built against a newer header) gets the
 * fields it knows and zeroes beyond. LCLIP_E_INVALID_ARGUMENT for NULL or a
 * size that no release had. Use the lclip_options_init() macro. */
LCLIP_AVAILABLE_IN_0_2 lclip_status lclip_options_init_sized(lclip_options *opts, size_t size);

/* 0.1.0's initialiser, kept for programs built against 0.1.0: it fills
 * exactly 0.1.0's layout (struct_size 72 on LP64). Source code reaches
 * lclip_options_init_sized() through the macro below. */
LCLIP_API void lclip_options_init(lclip_options *opts);
#define lclip_options_init(opts) lclip_options_init_sized((opts), sizeof *(opts))

/* ------------------------------------------------------------------------ */
/* Encoders.
 *
 * model_path is one of:
 *  - a Hugging Face CLIP directory: config.json, model.safetensors (F32, F16
 *    or BF16), vocab.json + merges.txt, optionally preprocessor_config.json;
 *  - an open_clip / OpenAI-named .safetensors file (visual.conv1.weight, ...),
 *    with open_clip_config.json beside it when present (otherwise the
 *    hyperparameters are inferred from the tensor shapes as OpenAI's
 *    build_model does), or a directory holding open_clip_model.safetensors;
 *  - a sharded checkpoint: a directory (as above) whose weights are
 *    model.safetensors.index.json + the shards it names, or that index
 *    file itself.
 *
 * The weights file is memory-mapped read-only. With the CBLAS engine, F32
 * tensors are used in place (shared page cache between processes) and
 * F16/BF16 tensors are converted once at open; the oneDNN engine packs the
 * linear layers' weights into its own memory at open and releases their
 * mapped pages (or frees their converted copies). An image encoder reads
 * only the vision tower's tensors and logit_scale; a text encoder only the
 * text tower's.
 *
 * opts may be NULL (defaults). On success *out receives a handle the caller
 * frees with the matching _close(); on failure *out is set to NULL.
 * Errors: LCLIP_E_INVALID_ARGUMENT (NULL path/out, bad options), LCLIP_E_IO,
 * LCLIP_E_FORMAT, LCLIP_E_UNSUPPORTED, LCLIP_E_NOMEM, LCLIP_E_TOO_LARGE.
 * Opening is thread-safe (distinct calls share only the lock around config
 * parsing).
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
/* What the encoder runs on, as space-separated key=value fields, e.g.
 * "engine=onednn isa=avx512_core_bf16 precision=bf16 packed_bytes=175374336
 * threads=2" or "engine=cblas precision=f32 blas=OpenBLAS
 * kernels=Haswell threads=0". Valid until the encoder is closed; "" for
 * NULL. */
LCLIP_AVAILABLE_IN_0_3 const char *lclip_image_encoder_describe(const lclip_image_encoder *enc);

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
/* As lclip_image_encoder_describe(), then the BPE vocabulary used:
 * "vocab=hf:PATH" (of vocab.json), "gz:PATH", "builtin:PATH" (libclip's own
 * copy) or "none"; whitespace, control bytes and '%' in PATH are written %XX. */
LCLIP_AVAILABLE_IN_0_3 const char *lclip_text_encoder_describe(const lclip_text_encoder *enc);

/* ------------------------------------------------------------------------ */
/* Batch calls with per-input results and progress (since 0.2.0).
 *
 * The batch functions below have an _ex form that takes an
 * lclip_batch_options (NULL: exactly the plain function):
 *
 *  - Per-input results: with item_status or on_item_error set, an input that
 *    fails (a corrupt file, invalid UTF-8, a token id outside the
 *    vocabulary) does not fail the call. Every other input is encoded, the
 *    failed input's row of out is filled with NaN (never mistaken for an
 *    embedding), item_status[i] receives each input's status (LCLIP_OK or
 *    its error), on_item_error is called for each failure, and the call
 *    returns LCLIP_OK, even when every input failed (LCLIP_E_NOMEM for one
 *    input means memory ran out while preparing it: a retry may succeed).
 *    Failures that are not one input's (a NULL array, a text encoder
 *    without a vocabulary, memory for the batch, the tower itself,
 *    cancellation) still fail the whole call, with out and item_status
 *    untouched; on_item_error may have been called for earlier passes'
 *    inputs by then. A good input's row equals what a batch without the
 *    failed inputs gives, to float rounding (passes are planned for all n
 *    inputs).
 *  - Progress: on_progress is called after each pass through the tower
 *    (batches run in passes of several inputs) with the inputs done so far
 *    and n. Returning non-zero cancels: the call stops before the next pass
 *    and returns LCLIP_E_CANCELLED, with out and item_status untouched;
 *    also after the last pass (done == n), so that a cancelled call never
 *    writes anything.
 *
 * Both callbacks run on the calling thread, in input order, and may call
 * libclip functions other than closing the encoder in use. */
typedef int (*lclip_progress_fn)(void *user, size_t done, size_t total);
/* index of the input in the call; message (as lclip_last_error() would give
 * it) is valid during the call. */
typedef void (*lclip_item_error_fn)(void *user, size_t index, lclip_status status, const char *message);

typedef struct lclip_batch_options {
    size_t struct_size;                /* set by lclip_batch_options_init(); grows like lclip_options */
    lclip_status *item_status;         /* NULL, or n entries the call fills */
    lclip_item_error_fn on_item_error; /* NULL, or called for each input that fails */
    lclip_progress_fn on_progress;     /* NULL, or called after each pass */
    void *user;                        /* passed to both callbacks */
} lclip_batch_options;

/* As lclip_options_init_sized(), for lclip_batch_options (all fields NULL). */
LCLIP_AVAILABLE_IN_0_2 lclip_status lclip_batch_options_init_sized(lclip_batch_options *batch, size_t size);
#define lclip_batch_options_init(batch) lclip_batch_options_init_sized((batch), sizeof *(batch))

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
LCLIP_API lclip_status lclip_text_encode(const lclip_text_encoder *enc, const char *utf8, float *out);

/* n texts into out[n * dim], row i for texts[i]. The texts' real tokens are
 * packed into one matrix per layer, so short captions cost what their tokens
 * cost. n == 0 is a no-op. */
LCLIP_API lclip_status lclip_text_encode_batch(const lclip_text_encoder *enc, const char *const *texts, size_t n,
                                               float *out);

/* n already-tokenized texts, tokens[n * context_length] as lclip_tokenize
 * writes them (start token, ids, end token, zero padding). Each text is
 * pooled where its largest id first occurs, as the reference's argmax does:
 * the end token. Ids outside the vocabulary are LCLIP_E_INVALID_ARGUMENT. */
LCLIP_API lclip_status lclip_text_encode_tokens(const lclip_text_encoder *enc, const int32_t *tokens, size_t n,
                                                float *out);

/* lclip_text_encode_batch and lclip_text_encode_tokens with per-input results
 * and progress (see lclip_batch_options); batch may be NULL. */
LCLIP_AVAILABLE_IN_0_2 lclip_status lclip_text_encode_batch_ex(const lclip_text_encoder *enc,
                                                               const char *const *texts, size_t n, float *out,
                                                               const lclip_batch_options *batch);
LCLIP_AVAILABLE_IN_0_2 lclip_status lclip_text_encode_tokens_ex(const lclip_text_encoder *enc,
                                                                const int32_t *tokens, size_t n, float *out,
                                                                const lclip_batch_options *batch);

/* ------------------------------------------------------------------------ */
/* Images. Files and buffers are PNG, JPEG, WebP, GIF or BMP (chosen by
 * their first bytes; the first frame of an animation).
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

LCLIP_API lclip_status lclip_image_encode_file(const lclip_image_encoder *enc, const char *path, float *out);

/* n files into out[n * dim], decoded one by one and encoded in batched
 * passes through the tower (up to 768 tokens per pass: 15 ViT-B/32 images),
 * each linear layer one GEMM over all of a pass's images. */
LCLIP_API lclip_status lclip_image_encode_files(const lclip_image_encoder *enc, const char *const *paths,
                                                size_t n, float *out);

/* An encoded image (PNG, JPEG, WebP, GIF or BMP) in memory. */
LCLIP_API lclip_status lclip_image_encode_memory(const lclip_image_encoder *enc, const void *data, size_t size,
                                                 float *out);

/* Raw 8-bit RGB pixels, row r at rgb + r * stride (stride >= 3 * width). */
LCLIP_API lclip_status lclip_image_encode_rgb(const lclip_image_encoder *enc, const uint8_t *rgb, int width,
                                              int height, size_t stride, float *out);

/* n preprocessed tensors pixels[n * 3 * size * size] (as
 * lclip_image_preprocess_file writes them) into out[n * dim]. */
LCLIP_API lclip_status lclip_image_encode_pixels(const lclip_image_encoder *enc, const float *pixels, size_t n,
                                                 float *out);

/* lclip_image_encode_files and lclip_image_encode_pixels with per-input
 * results and progress (see lclip_batch_options); batch may be NULL.
 * Preprocessed tensors cannot fail one by one, so for pixels only progress
 * matters. */
LCLIP_AVAILABLE_IN_0_2 lclip_status lclip_image_encode_files_ex(const lclip_image_encoder *enc,
                                                                const char *const *paths, size_t n, float *out,
                                                                const lclip_batch_options *batch);
LCLIP_AVAILABLE_IN_0_2 lclip_status lclip_image_encode_pixels_ex(const lclip_image_encoder *enc,
                                                                 const float *pixels, size_t n, float *out,
                                                                 const lclip_batch_options *batch);

/* ------------------------------------------------------------------------ */
/* Classifiers (since 0.4.0).
 *
 * A classifier is a matrix of class vectors [n_classes][dim], a name per
 * class, a logit scale and a bias per class. Applied to an embedding e it
 * gives, for each class c,
 *     logit[c] = logit_scale * dot(e / |e|, vector[c]) + bias[c]
 * and the softmax of the logits. Embeddings are L2-normalised first, so raw
 * (opts.normalize = 0) and normalised embeddings give the same result.
 * A classifier is immutable once made: apply it from several threads at
 * once. It holds no encoder: save it, load it in a process that has only an
 * image encoder, or none (embeddings from an index). */
typedef struct lclip_classifier lclip_classifier;

/* How a classifier was made; recorded in its file. */
typedef enum lclip_classifier_kind {
    LCLIP_CLASSIFIER_VECTORS = 0,  /* from the caller's vectors (lclip_classifier_create) */
    LCLIP_CLASSIFIER_ZEROSHOT = 1, /* class names x prompt templates through a text encoder */
    LCLIP_CLASSIFIER_PROBE = 2     /* a linear probe trained on labelled image embeddings */
} lclip_classifier_kind;

/* A built-in set of prompt templates, each holding "{}" where the class name
 * goes: "imagenet", the 80 templates of the CLIP paper's ImageNet ensemble
 * (openai/CLIP, notebooks/Prompt_Engineering_for_ImageNet.ipynb), or
 * "photo", the single "a photo of a {}.". Static strings; *count receives
 * their number. NULL (and *count 0) for a name not known. Thread-safe. */
LCLIP_AVAILABLE_IN_0_4 const char *const *lclip_template_set(const char *name, size_t *count);

/* Zero-shot, the CLIP paper's prompt ensemble: for each class, every
 * template with its "{}" replaced by the class name (a template without
 * "{}" gets " " and the name appended) is encoded, each embedding
 * L2-normalised, their mean L2-normalised: the class vector. The logit
 * scale is the text encoder's, biases are 0.
 * batch may be NULL; only its on_progress (called after each class with
 * the classes done and n_classes; non-zero cancels: LCLIP_E_CANCELLED) and
 * user are used; item_status and on_item_error must be NULL, as a class
 * cannot fail alone.
 * Errors: LCLIP_E_INVALID_ARGUMENT (NULL, no classes, no templates, an
 * empty or duplicate class name, a template with more than one "{}",
 * invalid UTF-8), LCLIP_E_UNSUPPORTED (an encoder without a vocabulary),
 * LCLIP_E_TOO_LARGE (a prompt over max_text_bytes, or too long for the
 * context with truncate_text 0), LCLIP_E_NOMEM, LCLIP_E_CANCELLED. */
LCLIP_AVAILABLE_IN_0_4 lclip_status lclip_classifier_zeroshot(const lclip_text_encoder *enc,
                                                              const char *const *class_names, size_t n_classes,
                                                              const char *const *templates, size_t n_templates,
                                                              const lclip_batch_options *batch,
                                                              lclip_classifier **out);

/* Linear-probe training options; grows like lclip_options. */
typedef struct lclip_probe_options {
    size_t struct_size; /* set by lclip_probe_options_init() */
    /* Inverse L2 regularisation strength, as scikit-learn's
     * LogisticRegression(C=...): training minimises
     *     C * sum_i cross_entropy(i) + |W|^2 / 2
     * (the biases are not regularised). 0: 1.0. */
    double c;
    /* Stop when |gradient| / max(1, |parameters|) falls below this
     * (liblbfgs's epsilon). 0: 1e-6. */
    double tolerance;
    int max_iterations; /* 0: 1000; reaching it is not an error */
    int reserved;       /* must be 0 */
} lclip_probe_options;

LCLIP_AVAILABLE_IN_0_4 lclip_status lclip_probe_options_init_sized(lclip_probe_options *opts, size_t size);
#define lclip_probe_options_init(opts) lclip_probe_options_init_sized((opts), sizeof *(opts))

/* A linear probe, the CLIP paper's: multinomial logistic regression with L2
 * regularisation (scikit-learn's LogisticRegression, lbfgs, multinomial)
 * on the L2-normalised rows of embeddings[n][dim], labels[i] in
 * [0, n_classes) naming each row's class (class_names[n_classes] are
 * copied). The class vectors are the weights, logit scale 1, biases the
 * intercepts. opts may be NULL.
 * Errors: LCLIP_E_INVALID_ARGUMENT (NULL, n or dim 0, fewer than 2
 * classes, a label out of range, a class without examples, a non-finite or
 * zero embedding, bad options), LCLIP_E_NOMEM. */
LCLIP_AVAILABLE_IN_0_4 lclip_status lclip_classifier_train_probe(const float *embeddings, size_t n, size_t dim,
                                                                 const int32_t *labels,
                                                                 const char *const *class_names,
                                                                 size_t n_classes,
                                                                 const lclip_probe_options *opts,
                                                                 lclip_classifier **out);

/* Picks the probe's C by k-fold cross-validation over a log grid: each C
 * of c_grid[n_grid] (NULL: 10^-2, 10^-1.5, ..., 10^4) is trained on k - 1
 * folds and scored by accuracy on the held-out one, the folds stratified
 * by class (the j-th example of a class goes to fold j mod k). *best_c
 * gets the C of the highest mean accuracy (the smallest such C on ties),
 * *best_accuracy (may be NULL) that accuracy. folds >= 2, and every class
 * needs at least folds examples. opts's c is ignored. */
LCLIP_AVAILABLE_IN_0_4 lclip_status lclip_probe_select_c(const float *embeddings, size_t n, size_t dim,
                                                         const int32_t *labels, size_t n_classes,
                                                         const double *c_grid, size_t n_grid, int folds,
                                                         const lclip_probe_options *opts, double *best_c,
                                                         double *best_accuracy);

/* A classifier from the caller's class vectors[n_classes][dim] (used as
 * given, not normalised), bias[n_classes] (NULL: zeros) and logit_scale.
 * Names are copied.
 * Errors: LCLIP_E_INVALID_ARGUMENT (NULL, n_classes 0 or over 1000000, dim
 * 0 or over 65536, a non-finite value, a NULL, empty, duplicate or invalid
 * UTF-8 name or one over 1024 bytes, logits that could overflow float:
 * |logit_scale| x |vector| + |bias| over FLT_MAX / 2), LCLIP_E_NOMEM.
 * These limits hold for every classifier, made or loaded. */
LCLIP_AVAILABLE_IN_0_4 lclip_status lclip_classifier_create(const float *vectors, const float *bias,
                                                            const char *const *class_names, size_t n_classes,
                                                            size_t dim, float logit_scale,
                                                            lclip_classifier **out);

/* NULL is a no-op. */
LCLIP_AVAILABLE_IN_0_4 void lclip_classifier_free(lclip_classifier *cls);

/* Accessors; 0, NULL or NaN for NULL or an index out of range. Pointers stay
 * valid until the classifier is freed. */
LCLIP_AVAILABLE_IN_0_4 size_t lclip_classifier_classes(const lclip_classifier *cls);
LCLIP_AVAILABLE_IN_0_4 size_t lclip_classifier_dim(const lclip_classifier *cls);
LCLIP_AVAILABLE_IN_0_4 lclip_classifier_kind lclip_classifier_get_kind(const lclip_classifier *cls);
LCLIP_AVAILABLE_IN_0_4 const char *lclip_classifier_class_name(const lclip_classifier *cls, size_t index);
LCLIP_AVAILABLE_IN_0_4 float lclip_classifier_logit_scale(const lclip_classifier *cls);
LCLIP_AVAILABLE_IN_0_4 const float *lclip_classifier_vectors(const lclip_classifier *cls); /* [classes][dim] */
LCLIP_AVAILABLE_IN_0_4 const float *lclip_classifier_bias(const lclip_classifier *cls);    /* [classes] */

/* Classifies embeddings[n][dim]: logits and/or probabilities (softmax over
 * the classes), each [n][n_classes]; either output may be NULL. dim must
 * be the classifier's. n == 0 is a no-op.
 * Errors: LCLIP_E_INVALID_ARGUMENT (NULL, another dim, a non-finite or
 * zero embedding); outputs are untouched then. */
LCLIP_AVAILABLE_IN_0_4 lclip_status lclip_classifier_apply(const lclip_classifier *cls, const float *embeddings,
                                                           size_t n, size_t dim, float *logits, float *probs);

/* The classifier file (docs/api.md, "Classifier files"): versioned,
 * little-endian, checksummed. Saving writes a temporary file beside path
 * and renames it in, so path never holds a partial file. Loading treats
 * the file as untrusted: malformed, truncated or corrupted files are
 * LCLIP_E_FORMAT, a later format version LCLIP_E_UNSUPPORTED. */
LCLIP_AVAILABLE_IN_0_4 lclip_status lclip_classifier_save(const lclip_classifier *cls, const char *path);
LCLIP_AVAILABLE_IN_0_4 lclip_status lclip_classifier_load(const char *path, lclip_classifier **out);
LCLIP_AVAILABLE_IN_0_4 lclip_status lclip_classifier_load_memory(const void *data, size_t size,
                                                                 lclip_classifier **out);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* LIBCLIP_H */
