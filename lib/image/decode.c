/* Picks the decoder by the data's signature, never by a file name. */
#include <string.h>

#include "common/error.h"
#include "image/decode.h"

static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
/* SOI followed by the first marker's 0xFF. */
static const uint8_t jpeg_signature[3] = {0xff, 0xd8, 0xff};

static int starts_with(const uint8_t *data, size_t size, const void *prefix, size_t n)
{
    return size >= n && memcmp(data, prefix, n) == 0;
}

/* "RIFF", the chunk size, "WEBP". */
static int is_webp(const uint8_t *data, size_t size)
{
    return size >= 12 && memcmp(data, "RIFF", 4) == 0 && memcmp(data + 8, "WEBP", 4) == 0;
}

static int is_gif(const uint8_t *data, size_t size)
{
    return starts_with(data, size, "GIF87a", 6) || starts_with(data, size, "GIF89a", 6);
}

static lclip_status decode_jpeg(const uint8_t *data, size_t size, const char *label,
                                const lclip_image_input_options *opts, lclip_pixels *out)
{
    int orientation = 0;
    lclip_status s = lclip_decode_jpeg(data, size, label, opts->max_pixels, &opts->log,
                                       opts->exif_orientation ? &orientation : NULL, out);
    if (s == LCLIP_OK && orientation > 1) {
        s = lclip_pixels_orient(out, orientation, label);
        if (s != LCLIP_OK)
            lclip_pixels_free(out);
    }
    return s;
}

lclip_status lclip_image_decode(const uint8_t *data, size_t size, const char *label,
                                const lclip_image_input_options *opts, lclip_pixels *out)
{
    memset(out, 0, sizeof *out);
    if (starts_with(data, size, png_signature, sizeof png_signature))
        return lclip_decode_png(data, size, label, opts->max_pixels, &opts->log, out);
    if (starts_with(data, size, jpeg_signature, sizeof jpeg_signature))
        return decode_jpeg(data, size, label, opts, out);
    if (is_webp(data, size))
        return lclip_decode_webp(data, size, label, opts->max_pixels, out);
    if (is_gif(data, size))
        return lclip_decode_gif(data, size, label, opts->max_pixels, out);
    if (starts_with(data, size, "BM", 2))
        return lclip_decode_bmp(data, size, label, opts->max_pixels, out);
    return lclip_fail(LCLIP_E_UNSUPPORTED, "%s: not a PNG, JPEG, WebP, GIF or BMP image", label);
}
