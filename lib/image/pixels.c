/* Decoded-image buffers: size checks, allocation, EXIF transposition. */
#include <inttypes.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "image/pixels.h"

int lclip_pixel_size(lclip_pixel_mode mode)
{
    switch (mode) {
    case LCLIP_MODE_1:
    case LCLIP_MODE_L:
    case LCLIP_MODE_P:
        return 1;
    case LCLIP_MODE_LA:
        return 2;
    case LCLIP_MODE_RGB:
        return 3;
    case LCLIP_MODE_RGBA:
    case LCLIP_MODE_CMYK:
    case LCLIP_MODE_I:
        return 4;
    }
    return 4;
}

lclip_status lclip_pixels_check_size(const char *label, uint32_t width, uint32_t height, uint64_t max_pixels)
{
    if (width == 0 || height == 0)
        return lclip_fail(LCLIP_E_FORMAT, "%s: the image is %" PRIu32 " x %" PRIu32 " pixels", label, width,
                          height);
    uint64_t pixels = (uint64_t)width * height;
    if (pixels > max_pixels)
        return lclip_fail(LCLIP_E_TOO_LARGE, "%s: %" PRIu32 " x %" PRIu32 " pixels exceeds the limit of %" PRIu64,
                          label, width, height, max_pixels);
    /* Every later buffer is at most 8 bytes a pixel (16-bit RGBA rows inside
     * libpng) and its dimensions must fit an int. */
    size_t bytes;
    if (width > INT32_MAX || height > INT32_MAX || pixels > SIZE_MAX || !lclip_mul_size((size_t)pixels, 8, &bytes))
        return lclip_fail(LCLIP_E_TOO_LARGE, "%s: %" PRIu32 " x %" PRIu32 " pixels do not fit in memory", label,
                          width, height);
    return LCLIP_OK;
}

lclip_status lclip_pixels_alloc(lclip_pixels *px, lclip_pixel_mode mode, int width, int height,
                                const char *label)
{
    size_t stride, bytes;
    if (width <= 0 || height <= 0 || !lclip_mul_size((size_t)width, (size_t)lclip_pixel_size(mode), &stride) ||
        !lclip_mul_size(stride, (size_t)height, &bytes))
        return lclip_fail(LCLIP_E_TOO_LARGE, "%s: %d x %d pixels do not fit in memory", label, width, height);
    uint8_t *buf = lclip_malloc(bytes);
    if (!buf)
        return lclip_fail(LCLIP_E_NOMEM, "%s: out of memory for %d x %d pixels", label, width, height);
    px->mode = mode;
    px->width = width;
    px->height = height;
    px->stride = stride;
    px->data = buf;
    px->owned = buf;
    return LCLIP_OK;
}

void lclip_pixels_free(lclip_pixels *px)
{
    lclip_free(px->owned);
    px->owned = NULL;
    px->data = NULL;
}

void lclip_pixels_grey_palette(lclip_pixels *px)
{
    for (int i = 0; i < 256; i++)
        memset(px->palette + 3 * i, i, 3);
}

/* Source coordinates of output pixel (x, y) for an orientation, with w, h
 * the source size. Transpositions as ImageOps.exif_transpose maps them:
 * 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 clockwise,
 * 7 transverse, 8 rotate 90 counter-clockwise. */
static void oriented_source(int orientation, int w, int h, int x, int y, int *sx, int *sy)
{
    switch (orientation) {
    case 2: *sx = w - 1 - x; *sy = y; break;
    case 3: *sx = w - 1 - x; *sy = h - 1 - y; break;
    case 4: *sx = x; *sy = h - 1 - y; break;
    case 5: *sx = y; *sy = x; break;
    case 6: *sx = y; *sy = h - 1 - x; break;
    case 7: *sx = w - 1 - y; *sy = h - 1 - x; break;
    default: *sx = w - 1 - y; *sy = x; break; /* 8 */
    }
}

lclip_status lclip_pixels_orient(lclip_pixels *px, int orientation, const char *label)
{
    if (orientation < 2 || orientation > 8)
        return LCLIP_OK;
    int swap = orientation >= 5;
    lclip_pixels out = *px;
    lclip_status s = lclip_pixels_alloc(&out, px->mode, swap ? px->height : px->width,
                                        swap ? px->width : px->height, label);
    if (s != LCLIP_OK)
        return s;
    size_t size = (size_t)lclip_pixel_size(px->mode);
    for (int y = 0; y < out.height; y++) {
        uint8_t *dst = out.owned + (size_t)y * out.stride;
        for (int x = 0; x < out.width; x++, dst += size) {
            int sx, sy;
            oriented_source(orientation, px->width, px->height, x, y, &sx, &sy);
            memcpy(dst, px->data + (size_t)sy * px->stride + (size_t)sx * size, size);
        }
    }
    lclip_pixels_free(px);
    *px = out;
    return LCLIP_OK;
}
