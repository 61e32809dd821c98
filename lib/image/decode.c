/* Picks the decoder by the data's signature, never by a file name. */
#include <string.h>

#include "common/error.h"
#include "image/decode.h"

static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
/* SOI followed by the first marker's 0xFF. */
static const uint8_t jpeg_signature[3] = {0xff, 0xd8, 0xff};

lclip_status lclip_image_decode(const uint8_t *data, size_t size, const char *label,
                                const lclip_image_input_options *opts, lclip_pixels *out)
{
    memset(out, 0, sizeof *out);
    if (size >= sizeof png_signature && memcmp(data, png_signature, sizeof png_signature) == 0)
        return lclip_decode_png(data, size, label, opts->max_pixels, &opts->log, out);
    if (size < sizeof jpeg_signature || memcmp(data, jpeg_signature, sizeof jpeg_signature) != 0)
        return lclip_fail(LCLIP_E_UNSUPPORTED, "%s: not a PNG or JPEG", label);

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
