/* BMP: the uncompressed variants Pillow's BmpImagePlugin opens, read here
 * (no library) into the mode Pillow gives them:
 *   24-bit -> "RGB";
 *   8-bit whose palette is the grey ramp (entry i = (i, i, i) for every
 *     listed entry) -> "L", the indices taken as grey levels;
 *   other 8-bit -> "P" with the listed entries over Pillow's grey ramp.
 * Rows are bottom-up unless the height's top byte is 0xFF (Pillow's test for
 * a negative height), each padded to 4 bytes. Everything else (1/4/16/32
 * bits, RLE, bitfields, embedded JPEG/PNG, 8-bit black-and-white palettes
 * that Pillow would read as 1-bit) is LCLIP_E_UNSUPPORTED: Pillow decodes
 * those in ways this reader does not reproduce.
 *
 * Offsets follow Pillow too: the palette follows the header directly; the
 * pixel offset of the file header is used as given, except that an offset
 * pointing just past the header of a palette image skips 4 bytes a colour,
 * and 0 means "after the palette". */
#include <inttypes.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "image/decode.h"

enum { FILE_HEADER = 14, CORE_HEADER = 12 };

typedef struct bmp_info {
    uint32_t header_size, width, height;
    int top_down;
    unsigned bits;
    uint32_t compression, colors;
    size_t palette_at, entry_size, pixels_at, stride;
} bmp_info;

static uint32_t u16le(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t u32le(const uint8_t *p)
{
    return u16le(p) | u16le(p + 2) << 16;
}

static void read_core_header(const uint8_t *h, bmp_info *bmp)
{
    bmp->width = u16le(h);
    bmp->height = u16le(h + 2);
    bmp->bits = u16le(h + 6);
    bmp->compression = 0;
    bmp->colors = 0;
    bmp->entry_size = 3;
}

static void read_info_header(const uint8_t *h, bmp_info *bmp)
{
    bmp->width = u32le(h);
    uint32_t height = u32le(h + 4);
    /* Pillow: top byte 0xFF is a negative (top-down) height; any other value
     * is unsigned, so a less negative one is simply enormous. */
    bmp->top_down = height >> 24 == 0xff;
    bmp->height = bmp->top_down ? (uint32_t)(0u - height) : height;
    bmp->bits = u16le(h + 10);
    bmp->compression = u32le(h + 12);
    bmp->colors = u32le(h + 28);
    bmp->entry_size = 4;
}

static const char *compression_name(uint32_t compression)
{
    static const char *const names[] = {"uncompressed", "RLE8", "RLE4", "bitfields", "JPEG", "PNG"};
    return compression < sizeof names / sizeof *names ? names[compression] : "unknown";
}

/* The header fields, each checked against the file size. */
static lclip_status read_header(const uint8_t *data, size_t size, const char *label, bmp_info *bmp)
{
    memset(bmp, 0, sizeof *bmp);
    if (size < FILE_HEADER + 4)
        return lclip_fail(LCLIP_E_FORMAT, "%s: invalid BMP: the file is truncated", label);
    bmp->header_size = u32le(data + FILE_HEADER);
    uint32_t h = bmp->header_size;
    if (h != CORE_HEADER && h != 40 && h != 64 && h != 108 && h != 124)
        return lclip_fail(LCLIP_E_UNSUPPORTED, "%s: BMP with a %" PRIu32 "-byte header", label, h);
    if (size - FILE_HEADER < h)
        return lclip_fail(LCLIP_E_FORMAT, "%s: invalid BMP: the header is truncated", label);
    if (h == CORE_HEADER)
        read_core_header(data + FILE_HEADER + 4, bmp);
    else
        read_info_header(data + FILE_HEADER + 4, bmp);
    if (bmp->bits != 8 && bmp->bits != 24)
        return lclip_fail(LCLIP_E_UNSUPPORTED, "%s: %u-bit BMP (only 8- and 24-bit are supported)", label,
                          bmp->bits);
    if (bmp->compression != 0)
        return lclip_fail(LCLIP_E_UNSUPPORTED, "%s: BMP with %s compression (%" PRIu32 ")", label,
                          compression_name(bmp->compression), bmp->compression);
    bmp->palette_at = FILE_HEADER + h;
    return LCLIP_OK;
}

/* Palette size and position, and where the rows start (see the top). */
static lclip_status locate_data(const uint8_t *data, size_t size, const char *label, bmp_info *bmp)
{
    uint64_t colors = bmp->colors ? bmp->colors : (uint64_t)1 << bmp->bits;
    uint64_t offset = u32le(data + 10);
    if (bmp->bits == 8) {
        if (colors > 256)
            return lclip_fail(LCLIP_E_UNSUPPORTED, "%s: 8-bit BMP with a palette of %" PRIu64 " colours", label,
                              colors);
        bmp->colors = (uint32_t)colors;
        if (bmp->entry_size * colors > size - bmp->palette_at)
            return lclip_fail(LCLIP_E_FORMAT, "%s: invalid BMP: the palette is truncated", label);
        if (offset == bmp->palette_at)
            offset += 4 * colors;
        else if (offset == 0)
            offset = bmp->palette_at + bmp->entry_size * colors;
    } else if (offset == 0) {
        offset = bmp->palette_at;
    }
    bmp->pixels_at = (size_t)offset;
    return LCLIP_OK;
}

/* Every row present: Pillow needs all but the last row's padding. */
static lclip_status check_rows(size_t size, const char *label, bmp_info *bmp)
{
    size_t row_bytes = (size_t)bmp->width * (bmp->bits / 8); /* width checked: fits an int */
    bmp->stride = (row_bytes + 3) & ~(size_t)3;
    size_t needed;
    if (!lclip_mul_size(bmp->stride, (size_t)bmp->height - 1, &needed) || row_bytes > SIZE_MAX - needed ||
        bmp->pixels_at > size || needed + row_bytes > size - bmp->pixels_at)
        return lclip_fail(LCLIP_E_FORMAT, "%s: invalid BMP: the pixel data is truncated or lies past the end",
                          label);
    return LCLIP_OK;
}

/* 1: every listed entry is (i, i, i) (Pillow's greyscale test); -1: the two
 * entries are black and white, which Pillow would unpack as 1-bit data. */
static int grey_palette(const uint8_t *p, const bmp_info *bmp)
{
    for (uint32_t i = 0; i < bmp->colors; i++) {
        const uint8_t *e = p + i * bmp->entry_size;
        uint8_t want = bmp->colors == 2 ? (uint8_t)(i ? 255 : 0) : (uint8_t)i;
        if (e[0] != want || e[1] != want || e[2] != want)
            return 0;
    }
    return bmp->colors == 2 ? -1 : 1;
}

/* Pillow's palette: its grey ramp, the BGR(X) entries over it. */
static void load_palette(const uint8_t *p, const bmp_info *bmp, lclip_pixels *px)
{
    lclip_pixels_grey_palette(px);
    for (uint32_t i = 0; i < bmp->colors; i++) {
        const uint8_t *e = p + i * bmp->entry_size;
        px->palette[3 * i + 0] = e[2];
        px->palette[3 * i + 1] = e[1];
        px->palette[3 * i + 2] = e[0];
    }
}

static void copy_rows(const uint8_t *data, const bmp_info *bmp, lclip_pixels *px)
{
    for (int y = 0; y < px->height; y++) {
        size_t file_row = bmp->top_down ? (size_t)y : (size_t)(px->height - 1 - y);
        const uint8_t *src = data + bmp->pixels_at + file_row * bmp->stride;
        uint8_t *dst = px->owned + (size_t)y * px->stride;
        if (bmp->bits == 8) {
            memcpy(dst, src, (size_t)px->width);
            continue;
        }
        for (int x = 0; x < px->width; x++, src += 3, dst += 3) {
            dst[0] = src[2];
            dst[1] = src[1];
            dst[2] = src[0];
        }
    }
}

lclip_status lclip_decode_bmp(const uint8_t *data, size_t size, const char *label, uint64_t max_pixels,
                              lclip_pixels *out)
{
    bmp_info bmp;
    lclip_status s = read_header(data, size, label, &bmp);
    if (s == LCLIP_OK)
        s = lclip_pixels_check_size(label, bmp.width, bmp.height, max_pixels);
    if (s == LCLIP_OK)
        s = locate_data(data, size, label, &bmp);
    if (s == LCLIP_OK)
        s = check_rows(size, label, &bmp);
    if (s != LCLIP_OK)
        return s;

    const uint8_t *palette = data + bmp.palette_at;
    lclip_pixel_mode mode = LCLIP_MODE_RGB;
    if (bmp.bits == 8) {
        int grey = grey_palette(palette, &bmp);
        if (grey < 0)
            return lclip_fail(LCLIP_E_UNSUPPORTED, "%s: 8-bit BMP with a black-and-white palette", label);
        mode = grey ? LCLIP_MODE_L : LCLIP_MODE_P;
    }
    if ((s = lclip_pixels_alloc(out, mode, (int)bmp.width, (int)bmp.height, label)) != LCLIP_OK)
        return s;
    if (mode == LCLIP_MODE_P)
        load_palette(palette, &bmp, out);
    copy_rows(data, &bmp, out);
    return LCLIP_OK;
}
