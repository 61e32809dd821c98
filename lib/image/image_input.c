/* The module's entry points: argument checks, then decode (or borrow raw
 * RGB as a Pillow "RGB" image) and preprocess. */
#include "common/alloc.h"
#include "common/error.h"
#include "common/options.h"
#include "image/decode.h"
#include "image/image_input.h"
#include "image/preprocess.h"
#include "common/file.h"

/* An encoded image bigger than this is refused before it is read: it is far
 * beyond any photograph, and the decoded-size limit applies anyway. */
#define MAX_FILE_BYTES ((size_t)1 << 30)

/* Pillow's Image.MAX_IMAGE_PIXELS, used when opts is NULL or sets 0. */
static lclip_status resolve_options(const char *label, const lclip_image_input_options *opts,
                                    lclip_image_input_options *out)
{
    out->max_pixels = opts && opts->max_pixels ? opts->max_pixels : LCLIP_DEFAULT_MAX_IMAGE_PIXELS;
    out->exif_orientation = opts ? opts->exif_orientation : 0;
    out->log = opts ? opts->log : (lclip_logger){NULL, NULL};
    if (out->exif_orientation != 0 && out->exif_orientation != 1)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: exif_orientation must be 0 or 1", label);
    return LCLIP_OK;
}

static lclip_status check_common(const char *label, const lclip_vision_config *cfg, const float *out_chw)
{
    if (!cfg || !out_chw)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: %s is NULL", label, cfg ? "out_chw" : "cfg");
    return LCLIP_OK;
}

static lclip_status decode_and_preprocess(const uint8_t *data, size_t size, const char *label,
                                          const lclip_image_input_options *opts, const lclip_vision_config *cfg,
                                          float *out_chw)
{
    if (size == 0)
        return lclip_fail(LCLIP_E_FORMAT, "%s: no image data", label);
    lclip_pixels px;
    lclip_status s = lclip_image_decode(data, size, label, opts, &px);
    if (s != LCLIP_OK)
        return s;
    s = lclip_preprocess(&px, cfg, out_chw);
    lclip_pixels_free(&px);
    return s;
}

lclip_status lclip_image_input_file(const char *path, const lclip_image_input_options *opts,
                                    const lclip_vision_config *cfg, float *out_chw)
{
    lclip_image_input_options resolved;
    if (!path)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "lclip_image_input_file: path is NULL");
    lclip_status s = check_common(path, cfg, out_chw);
    if (s == LCLIP_OK)
        s = resolve_options(path, opts, &resolved);
    if (s != LCLIP_OK)
        return s;
    char *data;
    size_t size;
    if ((s = lclip_read_file(path, MAX_FILE_BYTES, &data, &size)) != LCLIP_OK)
        return s;
    s = decode_and_preprocess((const uint8_t *)data, size, path, &resolved, cfg, out_chw);
    lclip_free(data);
    return s;
}

lclip_status lclip_image_input_memory(const void *data, size_t size, const lclip_image_input_options *opts,
                                      const lclip_vision_config *cfg, float *out_chw)
{
    static const char label[] = "image in memory";
    lclip_image_input_options resolved;
    if (!data && size)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: data is NULL", label);
    lclip_status s = check_common(label, cfg, out_chw);
    if (s == LCLIP_OK)
        s = resolve_options(label, opts, &resolved);
    if (s != LCLIP_OK)
        return s;
    return decode_and_preprocess(data, size, label, &resolved, cfg, out_chw);
}

lclip_status lclip_image_input_rgb(const uint8_t *rgb, int width, int height, size_t stride,
                                   const lclip_image_input_options *opts, const lclip_vision_config *cfg,
                                   float *out_chw)
{
    static const char label[] = "RGB image";
    lclip_image_input_options resolved;
    if (!rgb || width <= 0 || height <= 0 || stride / 3 < (size_t)width)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: %s", label,
                          !rgb ? "pixels are NULL" : width <= 0 || height <= 0 ? "width and height must be positive"
                                                                               : "stride is less than 3 * width");
    lclip_status s = check_common(label, cfg, out_chw);
    if (s == LCLIP_OK)
        s = resolve_options(label, opts, &resolved);
    if (s == LCLIP_OK)
        s = lclip_pixels_check_size(label, (uint32_t)width, (uint32_t)height, resolved.max_pixels);
    if (s != LCLIP_OK)
        return s;
    /* Borrowed: RGB needs no premultiplication, so it is only read. */
    lclip_pixels px = {.mode = LCLIP_MODE_RGB, .width = width, .height = height, .stride = stride, .data = rgb};
    return lclip_preprocess(&px, cfg, out_chw);
}
