#include "image_test_util.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jpeglib.h>
#include <png.h>

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
