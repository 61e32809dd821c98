/* blis.h (a BLIS build) declares pthread barriers, which strict C11 hides. */
#define _POSIX_C_SOURCE 200809L

#include "common/options.h"

#include <stddef.h>
#include <string.h>

#include "common/error.h"

#if defined(LCLIP_HAVE_OPENBLAS_SET_NUM_THREADS)
#include <cblas.h>
#elif defined(LCLIP_HAVE_BLI_THREAD_SET_NUM_THREADS)
#include <blis.h>
#endif

#define DEFAULT_MAX_HEADER_BYTES (100u * 1024u * 1024u)
#define DEFAULT_MAX_TENSOR_COUNT 65536u
#define DEFAULT_MAX_TEXT_BYTES (1024u * 1024u)

LCLIP_API void lclip_options_init(lclip_options *opts)
{
    if (!opts)
        return;
    memset(opts, 0, sizeof *opts);
    opts->struct_size = sizeof *opts;
    opts->n_threads = 0;
    opts->normalize = 1;
    opts->max_header_bytes = DEFAULT_MAX_HEADER_BYTES;
    opts->max_tensor_count = DEFAULT_MAX_TENSOR_COUNT;
    opts->vocab_path = NULL;
    opts->truncate_text = 1;
    opts->max_text_bytes = DEFAULT_MAX_TEXT_BYTES;
    opts->max_image_pixels = LCLIP_DEFAULT_MAX_IMAGE_PIXELS;
    opts->exif_orientation = 0;
}

lclip_status lclip_options_resolve(const lclip_options *user, lclip_options *resolved)
{
    lclip_options_init(resolved);
    if (!user)
        return LCLIP_OK;
    if (user->struct_size < offsetof(lclip_options, n_threads))
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT,
                          "options: struct_size %zu is too small (initialise with lclip_options_init)",
                          user->struct_size);
    /* An older caller's struct is a prefix of ours; a newer caller's extra
     * fields are ones this version does not know and leaves at defaults. */
    size_t known = user->struct_size < sizeof *resolved ? user->struct_size : sizeof *resolved;
    memcpy(resolved, user, known);
    resolved->struct_size = sizeof *resolved;

    if (resolved->n_threads < 0 || resolved->n_threads > LCLIP_MAX_THREADS)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "options: n_threads %d is outside 0..%d", resolved->n_threads,
                          LCLIP_MAX_THREADS);
    if (resolved->normalize != 0 && resolved->normalize != 1)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "options: normalize must be 0 or 1, not %d",
                          resolved->normalize);
    if (resolved->max_header_bytes == 0)
        resolved->max_header_bytes = DEFAULT_MAX_HEADER_BYTES;
    if (resolved->max_tensor_count == 0)
        resolved->max_tensor_count = DEFAULT_MAX_TENSOR_COUNT;
    if (resolved->truncate_text != 0 && resolved->truncate_text != 1)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "options: truncate_text must be 0 or 1, not %d",
                          resolved->truncate_text);
    if (resolved->max_text_bytes == 0)
        resolved->max_text_bytes = DEFAULT_MAX_TEXT_BYTES;
    if (resolved->max_image_pixels == 0)
        resolved->max_image_pixels = LCLIP_DEFAULT_MAX_IMAGE_PIXELS;
    if (resolved->exif_orientation != 0 && resolved->exif_orientation != 1)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "options: exif_orientation must be 0 or 1, not %d",
                          resolved->exif_orientation);
    return LCLIP_OK;
}

void lclip_apply_thread_option(int n_threads)
{
    if (n_threads <= 0)
        return;
#if defined(LCLIP_HAVE_OPENBLAS_SET_NUM_THREADS)
    /* A BLAS thread count above 1 would make the team's concurrent products
     * queue for OpenBLAS's one pool, and its spinning workers take the
     * helpers' cores. */
    if (openblas_get_num_threads() != 1)
        openblas_set_num_threads(1);
#elif defined(LCLIP_HAVE_BLI_THREAD_SET_NUM_THREADS)
    if (bli_thread_get_num_threads() != 1)
        bli_thread_set_num_threads(1);
#endif
}
