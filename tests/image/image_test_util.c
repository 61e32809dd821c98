#include "image_test_util.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <gif_lib.h>
#include <jpeglib.h>
#include <png.h>
#include <webp/encode.h>

static void append(byte_buffer *b, const void *data, size_t n)
{
    if (b->size + n > b->cap) {
        b->cap = (b->size + n) * 2;
        b->data = realloc(b->data, b->cap);
        assert_non_null(b->data);
    }
    memcpy(b->data + b->size, data, n);
    b->size += n;
}

static void png_write_bytes(png_structp png, png_bytep data, size_t n)
{
    append(png_get_io_ptr(png), data, n);
}

static void png_flush_nothing(png_structp png)
{
    (void)png;
}

static int png_channels(int color_type)
{
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_RGB: return 3;
    case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
    default: return 1;
    }
}

/* Rows as libpng takes them: 16-bit big-endian, 8-bit bytes, and one byte a
 * sample below 8 bits (png_set_packing packs them). */
static uint8_t *png_rows(const png_spec *spec, size_t *row_bytes)
{
    size_t samples = (size_t)spec->width * (size_t)png_channels(spec->color_type);
    *row_bytes = samples * (spec->depth == 16 ? 2 : 1);
    uint8_t *rows = malloc(*row_bytes * (size_t)spec->height);
    assert_non_null(rows);
    for (size_t i = 0; i < samples * (size_t)spec->height; i++) {
        uint16_t v = spec->samples[i];
        if (spec->depth == 16) {
            rows[2 * i] = (uint8_t)(v >> 8);
            rows[2 * i + 1] = (uint8_t)v;
        } else {
            rows[i] = (uint8_t)v;
        }
    }
    return rows;
}

byte_buffer encode_png(const png_spec *spec)
{
    byte_buffer out = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    assert_non_null(info);
    size_t row_bytes;
    uint8_t *rows = png_rows(spec, &row_bytes);
    if (setjmp(png_jmpbuf(png)))
        fail_msg("libpng could not write the test PNG");
    png_set_write_fn(png, &out, png_write_bytes, png_flush_nothing);
    png_set_check_for_invalid_index(png, 0); /* indices past the PLTE are a test case */
    png_set_IHDR(png, info, (png_uint_32)spec->width, (png_uint_32)spec->height, spec->depth, spec->color_type,
                 spec->interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (spec->palette) {
        png_color colors[256];
        for (int i = 0; i < spec->n_palette; i++) {
            colors[i].red = spec->palette[3 * i];
            colors[i].green = spec->palette[3 * i + 1];
            colors[i].blue = spec->palette[3 * i + 2];
        }
        png_set_PLTE(png, info, colors, spec->n_palette);
    }
    if (spec->trns)
        png_set_tRNS(png, info, spec->trns, spec->n_trns, NULL);
    png_write_info(png, info);
    if (spec->depth < 8)
        png_set_packing(png);
    int passes = png_set_interlace_handling(png);
    for (int pass = 0; pass < passes; pass++)
        for (int y = 0; y < spec->height; y++)
            png_write_row(png, rows + (size_t)y * row_bytes);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(rows);
    return out;
}

byte_buffer encode_jpeg(const jpeg_spec *spec)
{
    struct jpeg_compress_struct cinfo;
    struct jpeg_error_mgr errors;
    cinfo.err = jpeg_std_error(&errors);
    jpeg_create_compress(&cinfo);
    unsigned char *mem = NULL;
    unsigned long mem_size = 0;
    jpeg_mem_dest(&cinfo, &mem, &mem_size);
    cinfo.image_width = (JDIMENSION)spec->width;
    cinfo.image_height = (JDIMENSION)spec->height;
    cinfo.input_components = spec->components;
    cinfo.in_color_space = spec->components == 1 ? JCS_GRAYSCALE : spec->components == 3 ? JCS_RGB : JCS_CMYK;
    jpeg_set_defaults(&cinfo);
    jpeg_set_quality(&cinfo, spec->quality, TRUE);
    if (spec->ycck)
        jpeg_set_colorspace(&cinfo, JCS_YCCK);
    if (spec->progressive)
        jpeg_simple_progression(&cinfo);
    if (spec->restart_rows)
        cinfo.restart_in_rows = spec->restart_rows;
    jpeg_start_compress(&cinfo, TRUE);
    if (spec->exif) {
        unsigned char *app1 = malloc(spec->exif_size + 6);
        assert_non_null(app1);
        memcpy(app1, "Exif\0\0", 6);
        memcpy(app1 + 6, spec->exif, spec->exif_size);
        jpeg_write_marker(&cinfo, JPEG_APP0 + 1, app1, (unsigned)(spec->exif_size + 6));
        free(app1);
    }
    size_t row_bytes = (size_t)spec->width * (size_t)spec->components;
    unsigned char *row = malloc(row_bytes);
    assert_non_null(row);
    while (cinfo.next_scanline < cinfo.image_height) {
        memcpy(row, spec->samples + cinfo.next_scanline * row_bytes, row_bytes);
        /* Adobe CMYK is stored inverted. */
        if (spec->components == 4)
            for (size_t i = 0; i < row_bytes; i++)
                row[i] = (unsigned char)(255 - row[i]);
        jpeg_write_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_compress(&cinfo);
    jpeg_destroy_compress(&cinfo);
    free(row);
    byte_buffer out = {0};
    append(&out, mem, mem_size);
    free(mem);
    return out;
}

byte_buffer encode_webp(const webp_spec *spec)
{
    uint8_t *mem = NULL;
    int stride = spec->width * spec->channels;
    size_t size;
    if (spec->channels == 4)
        size = spec->lossless ? WebPEncodeLosslessRGBA(spec->samples, spec->width, spec->height, stride, &mem)
                              : WebPEncodeRGBA(spec->samples, spec->width, spec->height, stride, 80, &mem);
    else
        size = spec->lossless ? WebPEncodeLosslessRGB(spec->samples, spec->width, spec->height, stride, &mem)
                              : WebPEncodeRGB(spec->samples, spec->width, spec->height, stride, 80, &mem);
    assert_true(size > 0);
    byte_buffer out = {0};
    append(&out, mem, size);
    WebPFree(mem);
    return out;
}

static int gif_write_bytes(GifFileType *gif, const GifByteType *data, int n)
{
    append(gif->UserData, data, (size_t)n);
    return n;
}

static void gif_put_frame(GifFileType *gif, const gif_spec *spec)
{
    if (spec->transparent >= 0) {
        GifByteType gce[4] = {1, 0, 0, (GifByteType)spec->transparent};
        assert_int_equal(EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, 4, gce), GIF_OK);
    }
    assert_int_equal(EGifPutImageDesc(gif, spec->left, spec->top, spec->width, spec->height, spec->interlaced, NULL),
                     GIF_OK);
    /* EGifPutLine writes rows as given: interlaced files list them by pass. */
    static const int starts[4] = {0, 4, 2, 1}, steps[4] = {8, 8, 4, 2};
    for (int pass = 0; pass < (spec->interlaced ? 4 : 1); pass++)
        for (int y = spec->interlaced ? starts[pass] : 0; y < spec->height; y += spec->interlaced ? steps[pass] : 1)
            assert_int_equal(EGifPutLine(gif, (GifPixelType *)spec->indices + (size_t)y * (size_t)spec->width,
                                         spec->width),
                             GIF_OK);
}

byte_buffer encode_gif(const gif_spec *spec)
{
    byte_buffer out = {0};
    int error = 0;
    GifFileType *gif = EGifOpen(&out, gif_write_bytes, &error);
    assert_non_null(gif);
    EGifSetGifVersion(gif, true);
    ColorMapObject *map = GifMakeMapObject(spec->n_colors, NULL);
    assert_non_null(map);
    memcpy(map->Colors, spec->palette, 3 * (size_t)spec->n_colors);
    assert_int_equal(EGifPutScreenDesc(gif, spec->screen_width, spec->screen_height, 8, 0, map), GIF_OK);
    for (int f = 0; f < (spec->frames > 0 ? spec->frames : 1); f++)
        gif_put_frame(gif, spec);
    assert_int_equal(EGifCloseFile(gif, &error), GIF_OK);
    GifFreeMapObject(map);
    return out;
}

static void put_le(byte_buffer *b, uint32_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) {
        uint8_t byte = (uint8_t)(v >> (8 * i));
        append(b, &byte, 1);
    }
}

static void bmp_put_rows(byte_buffer *b, const bmp_spec *spec, size_t stride)
{
    uint8_t *row = calloc(stride, 1);
    assert_non_null(row);
    int supported = spec->compression == 0 && (spec->bits == 8 || spec->bits == 24);
    for (int r = 0; r < spec->height; r++) {
        int y = spec->top_down ? r : spec->height - 1 - r;
        for (int x = 0; supported && x < spec->width; x++) {
            if (spec->bits == 8) {
                row[x] = spec->samples[(size_t)y * (size_t)spec->width + (size_t)x];
                continue;
            }
            const uint8_t *p = spec->samples + 3 * ((size_t)y * (size_t)spec->width + (size_t)x);
            uint8_t bgr[3] = {p[2], p[1], p[0]};
            memcpy(row + 3 * (size_t)x, bgr, 3);
        }
        append(b, row, stride);
    }
    free(row);
}

byte_buffer encode_bmp(const bmp_spec *spec)
{
    int core = spec->header_size == 12;
    size_t entry = core ? 3 : 4, entries = spec->bits <= 8 ? (spec->n_colors ? (size_t)spec->n_colors : 256) : 0;
    size_t stride = (((size_t)spec->width * (size_t)spec->bits + 31) / 32) * 4;
    size_t offset = 14 + (core ? 12 : 40) + entry * entries;
    byte_buffer b = {0};
    append(&b, "BM", 2);
    put_le(&b, (uint32_t)(offset + stride * (size_t)spec->height), 4);
    put_le(&b, 0, 4);
    put_le(&b, (uint32_t)offset, 4);
    put_le(&b, core ? 12 : 40, 4);
    if (core) {
        put_le(&b, (uint32_t)spec->width, 2);
        put_le(&b, (uint32_t)spec->height, 2);
    } else {
        put_le(&b, (uint32_t)spec->width, 4);
        put_le(&b, spec->top_down ? (uint32_t)-spec->height : (uint32_t)spec->height, 4);
    }
    put_le(&b, 1, 2);
    put_le(&b, (uint32_t)spec->bits, 2);
    if (!core) {
        put_le(&b, spec->compression, 4);
        put_le(&b, 0, 4);
        put_le(&b, 2835, 4);
        put_le(&b, 2835, 4);
        put_le(&b, (uint32_t)spec->n_colors, 4);
        put_le(&b, 0, 4);
    }
    for (size_t i = 0; i < entries; i++) {
        const uint8_t *c = spec->palette ? spec->palette + 3 * i : NULL;
        uint8_t bgrx[4] = {c ? c[2] : 0, c ? c[1] : 0, c ? c[0] : 0, 0};
        append(&b, bgrx, entry);
    }
    bmp_put_rows(&b, spec, stride);
    return b;
}

lclip_vision_config clip_config(int size)
{
    lclip_clip_config cfg;
    lclip_config_defaults(&cfg);
    cfg.vision.resize_size = size;
    cfg.vision.crop_size = size;
    cfg.vision.image_size = size;
    return cfg.vision;
}

lclip_vision_config unit_config(int resize, int crop)
{
    lclip_vision_config v = clip_config(crop);
    v.resize_size = resize;
    for (int c = 0; c < 3; c++) {
        v.mean[c] = 0.0f;
        v.std[c] = 1.0f;
    }
    return v;
}

double max_abs_diff(const float *a, const float *b, size_t n)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (isnan(d))
            return INFINITY;
        if (d > worst)
            worst = d;
    }
    return worst;
}
