#include "common/options.h"

#include <assert.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "common/error.h"

#define DEFAULT_MAX_HEADER_BYTES (100u * 1024u * 1024u)
#define DEFAULT_MAX_TENSOR_COUNT 65536u
#define DEFAULT_MAX_TEXT_BYTES (1024u * 1024u)

/* A caller's struct_size above this is not a struct from any header but an
 * uninitialised field: refused before the tail check reads that far. */
#define MAX_PLAUSIBLE_STRUCT_SIZE 4096u

/* 0.1.0's lclip_options, frozen: the size its callers pass, and what the
 * 0.1.0 symbol lclip_options_init fills. */
typedef struct options_0_1 {
    size_t struct_size;
    int n_threads;
    int normalize;
    uint64_t max_header_bytes;
    uint64_t max_tensor_count;
    const char *vocab_path;
    int truncate_text;
    uint64_t max_text_bytes;
    uint64_t max_image_pixels;
    int exif_orientation;
} options_0_1;

/* 0.2.0's, frozen likewise. */
typedef struct options_0_2 {
    options_0_1 v0_1;
#if UINTPTR_MAX == UINT32_MAX
    int32_t reserved_ilp32;
#endif
    lclip_log_fn log;
    void *log_user;
} options_0_2;

/* The layout rules of libclip.h, checked for every release: each release's
 * fields start at or beyond the previous release's size (never in its tail
 * padding), so struct_size tells every release apart. */
#define SAME_FIELD(f) (offsetof(options_0_1, f) == offsetof(lclip_options, f))
static_assert(SAME_FIELD(n_threads) && SAME_FIELD(normalize) && SAME_FIELD(max_header_bytes) &&
                  SAME_FIELD(max_tensor_count) && SAME_FIELD(vocab_path) && SAME_FIELD(truncate_text) &&
                  SAME_FIELD(max_text_bytes) && SAME_FIELD(max_image_pixels) && SAME_FIELD(exif_orientation),
              "lclip_options: a 0.1.0 field moved");
static_assert(offsetof(lclip_options, log) >= sizeof(options_0_1), "lclip_options: 0.2.0 starts in 0.1.0's tail");
static_assert(offsetof(options_0_2, log) == offsetof(lclip_options, log) &&
                  offsetof(options_0_2, log_user) == offsetof(lclip_options, log_user),
              "lclip_options: a 0.2.0 field moved");
static_assert(offsetof(lclip_options, engine) >= sizeof(options_0_2), "lclip_options: 0.3.0 starts in 0.2.0's tail");
#if UINTPTR_MAX == UINT64_MAX
/* LP64: whole 8-byte units, no padding inside a release's block. */
static_assert(sizeof(options_0_1) == 72 && sizeof(options_0_2) == 88 && sizeof(lclip_options) == 96,
              "lclip_options: LP64 sizes in libclip.h");
static_assert(offsetof(lclip_options, log) == 72 &&
                  sizeof(options_0_2) - sizeof(options_0_1) == sizeof(lclip_log_fn) + sizeof(void *),
              "lclip_options: 0.2.0's block has padding");
static_assert(offsetof(lclip_options, engine) == 88 &&
                  sizeof(lclip_options) - sizeof(options_0_2) == 2 * sizeof(int),
              "lclip_options: 0.3.0's block has padding");
static_assert(sizeof(lclip_batch_options) == 40, "lclip_batch_options: LP64 size");
/* 0.4.0's probe options: whole 8-byte units, no padding. */
static_assert(offsetof(lclip_probe_options, c) == 8 && offsetof(lclip_probe_options, tolerance) == 16 &&
                  offsetof(lclip_probe_options, max_iterations) == 24 &&
                  offsetof(lclip_probe_options, reserved) == 28 && sizeof(lclip_probe_options) == 32,
              "lclip_probe_options: LP64 layout in libclip.h");
#endif

/* Every size lclip_options has had, oldest first; the last is this one's. */
static const size_t options_sizes[] = {sizeof(options_0_1), sizeof(options_0_2), sizeof(lclip_options)};
static const size_t batch_options_sizes[] = {sizeof(lclip_batch_options)};
static const size_t probe_options_sizes[] = {sizeof(lclip_probe_options)};

/* A versioned struct: its name in messages and the sizes of its releases. */
typedef struct struct_kind {
    const char *name;
    const size_t *sizes;
    size_t n_sizes;
} struct_kind;

static const struct_kind options_kind = {"lclip_options", options_sizes,
                                         sizeof options_sizes / sizeof *options_sizes};
static const struct_kind batch_options_kind = {"lclip_batch_options", batch_options_sizes,
                                               sizeof batch_options_sizes / sizeof *batch_options_sizes};
static const struct_kind probe_options_kind = {"lclip_probe_options", probe_options_sizes,
                                               sizeof probe_options_sizes / sizeof *probe_options_sizes};

static size_t known_size(const struct_kind *kind)
{
    return kind->sizes[kind->n_sizes - 1];
}

/* user (NULL: only the size is checked) is a caller's struct of size bytes. */
static lclip_status check_struct_size(const struct_kind *kind, const void *user, size_t size)
{
    size_t known = known_size(kind);
    if (size > known) {
        if (size > MAX_PLAUSIBLE_STRUCT_SIZE)
            return lclip_fail(LCLIP_E_INVALID_ARGUMENT,
                              "%s: struct_size %zu is implausible (initialise it with %s_init)", kind->name, size,
                              kind->name);
        /* A newer header's fields this library does not know: accepted only
         * at their defaults, which are zero, so no setting is ignored. */
        const unsigned char *bytes = user;
        for (size_t i = known; user && i < size; i++)
            if (bytes[i] != 0)
                return lclip_fail(LCLIP_E_INVALID_ARGUMENT,
                                  "%s: byte %zu is set, but libclip %s knows only the struct's first %zu bytes; "
                                  "the field there needs a newer libclip", kind->name, i, lclip_version(), known);
        return LCLIP_OK;
    }
    for (size_t v = 0; v < kind->n_sizes; v++)
        if (size == kind->sizes[v])
            return LCLIP_OK;
    return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: struct_size %zu is not the size of any release (initialise it "
                      "with %s_init)", kind->name, size, kind->name);
}

static void set_defaults(lclip_options *o)
{
    memset(o, 0, sizeof *o);
    o->struct_size = sizeof *o;
    o->normalize = 1;
    o->max_header_bytes = DEFAULT_MAX_HEADER_BYTES;
    o->max_tensor_count = DEFAULT_MAX_TENSOR_COUNT;
    o->truncate_text = 1;
    o->max_text_bytes = DEFAULT_MAX_TEXT_BYTES;
    o->max_image_pixels = LCLIP_DEFAULT_MAX_IMAGE_PIXELS;
}

/* Fills the first size bytes of a caller's struct (of a known release's size,
 * or larger) with the defaults, and zeroes what this library does not know. */
static lclip_status init_sized(const struct_kind *kind, void *user, size_t size, const void *defaults)
{
    if (!user)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s_init_sized: the struct is NULL", kind->name);
    lclip_status s = check_struct_size(kind, NULL, size);
    if (s != LCLIP_OK)
        return s;
    size_t known = known_size(kind);
    memcpy(user, defaults, size < known ? size : known);
    if (size > known)
        memset((unsigned char *)user + known, 0, size - known);
    memcpy(user, &size, sizeof size); /* struct_size is every struct's first field */
    return LCLIP_OK;
}

LCLIP_API lclip_status lclip_options_init_sized(lclip_options *opts, size_t size)
{
    lclip_options defaults;
    set_defaults(&defaults);
    return init_sized(&options_kind, opts, size, &defaults);
}

/* The 0.1.0 symbol: the header's macro of the same name hides it from new
 * code, and binaries built against 0.1.0 pass a 0.1.0-sized struct. */
#undef lclip_options_init
LCLIP_API void lclip_options_init(lclip_options *opts)
{
    if (opts)
        lclip_options_init_sized(opts, sizeof(options_0_1));
}

LCLIP_API lclip_status lclip_batch_options_init_sized(lclip_batch_options *batch, size_t size)
{
    lclip_batch_options defaults = {sizeof defaults, NULL, NULL, NULL, NULL};
    return init_sized(&batch_options_kind, batch, size, &defaults);
}

LCLIP_AVAILABLE_IN_0_4 lclip_status lclip_probe_options_init_sized(lclip_probe_options *opts, size_t size)
{
    lclip_probe_options defaults = {sizeof defaults, LCLIP_PROBE_DEFAULT_C, LCLIP_PROBE_DEFAULT_TOLERANCE,
                                    LCLIP_PROBE_DEFAULT_MAX_ITERATIONS, 0};
    return init_sized(&probe_options_kind, opts, size, &defaults);
}

static lclip_status validate(lclip_options *o)
{
    if (o->n_threads < 0 || o->n_threads > LCLIP_MAX_THREADS)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "options: n_threads %d is outside 0..%d", o->n_threads,
                          LCLIP_MAX_THREADS);
    if (o->normalize != 0 && o->normalize != 1)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "options: normalize must be 0 or 1, not %d", o->normalize);
    if (o->truncate_text != 0 && o->truncate_text != 1)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "options: truncate_text must be 0 or 1, not %d",
                          o->truncate_text);
    if (o->exif_orientation != 0 && o->exif_orientation != 1)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "options: exif_orientation must be 0 or 1, not %d",
                          o->exif_orientation);
    if (o->engine != LCLIP_ENGINE_AUTO && o->engine != LCLIP_ENGINE_CBLAS && o->engine != LCLIP_ENGINE_ONEDNN)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "options: engine %d is not an LCLIP_ENGINE_ value", o->engine);
    if (o->precision != LCLIP_PRECISION_F32 && o->precision != LCLIP_PRECISION_BF16)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "options: precision %d is not an LCLIP_PRECISION_ value",
                          o->precision);
    if (o->max_header_bytes == 0)
        o->max_header_bytes = DEFAULT_MAX_HEADER_BYTES;
    if (o->max_tensor_count == 0)
        o->max_tensor_count = DEFAULT_MAX_TENSOR_COUNT;
    if (o->max_text_bytes == 0)
        o->max_text_bytes = DEFAULT_MAX_TEXT_BYTES;
    if (o->max_image_pixels == 0)
        o->max_image_pixels = LCLIP_DEFAULT_MAX_IMAGE_PIXELS;
    return LCLIP_OK;
}

lclip_status lclip_options_resolve(const lclip_options *user, lclip_options *resolved)
{
    set_defaults(resolved);
    if (!user)
        return LCLIP_OK;
    lclip_status s = check_struct_size(&options_kind, user, user->struct_size);
    if (s != LCLIP_OK)
        return s;
    /* An older caller's struct is a prefix of ours. */
    memcpy(resolved, user, user->struct_size < sizeof *resolved ? user->struct_size : sizeof *resolved);
    resolved->struct_size = sizeof *resolved;
    return validate(resolved);
}

lclip_status lclip_batch_options_resolve(const lclip_batch_options *user, lclip_batch_options *resolved)
{
    memset(resolved, 0, sizeof *resolved);
    resolved->struct_size = sizeof *resolved;
    if (!user)
        return LCLIP_OK;
    lclip_status s = check_struct_size(&batch_options_kind, user, user->struct_size);
    if (s == LCLIP_OK) {
        memcpy(resolved, user, user->struct_size < sizeof *resolved ? user->struct_size : sizeof *resolved);
        resolved->struct_size = sizeof *resolved;
    }
    return s;
}

lclip_status lclip_probe_options_resolve(const lclip_probe_options *user, lclip_probe_options *resolved)
{
    memset(resolved, 0, sizeof *resolved);
    resolved->struct_size = sizeof *resolved;
    if (user) {
        lclip_status s = check_struct_size(&probe_options_kind, user, user->struct_size);
        if (s != LCLIP_OK)
            return s;
        memcpy(resolved, user, user->struct_size < sizeof *resolved ? user->struct_size : sizeof *resolved);
        resolved->struct_size = sizeof *resolved;
    }
    lclip_probe_options *o = resolved;
    if (!isfinite(o->c) || o->c < 0)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "probe options: c %g is not a finite value >= 0", o->c);
    if (!isfinite(o->tolerance) || o->tolerance < 0)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "probe options: tolerance %g is not a finite value >= 0",
                          o->tolerance);
    if (o->max_iterations < 0)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "probe options: max_iterations %d is negative",
                          o->max_iterations);
    if (o->reserved != 0)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "probe options: reserved must be 0, not %d", o->reserved);
    if (o->c == 0)
        o->c = LCLIP_PROBE_DEFAULT_C;
    if (o->tolerance == 0)
        o->tolerance = LCLIP_PROBE_DEFAULT_TOLERANCE;
    if (o->max_iterations == 0)
        o->max_iterations = LCLIP_PROBE_DEFAULT_MAX_ITERATIONS;
    return LCLIP_OK;
}
