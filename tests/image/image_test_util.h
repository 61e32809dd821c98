/* Helpers shared by the image tests: encoding PNGs, JPEGs, WebPs, GIFs and
 * BMPs in memory (so no binary test files are committed) and comparing
 * tensors. */
#ifndef LCLIP_TESTS_IMAGE_TEST_UTIL_H
#define LCLIP_TESTS_IMAGE_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "load/config.h"

/* A growable byte buffer (free data with free()). */
typedef struct byte_buffer {
    uint8_t *data;
    size_t size, cap;
} byte_buffer;

/* A PNG of width x height with the given colour type and bit depth from
 * samples[] (one uint16 per sample, row-major, channels interleaved, values
 * within the depth). palette: n_palette RGB triples; trns: n_trns alphas. */
typedef struct png_spec {
    int width, height, color_type, depth, interlaced;
    const uint16_t *samples;
    const uint8_t *palette;
    int n_palette;
    const uint8_t *trns;
    int n_trns;
} png_spec;
byte_buffer encode_png(const png_spec *spec);

/* A JPEG from 8-bit samples (components 1, 3 or 4 = Adobe CMYK, stored
 * inverted as Adobe does). restart_rows > 0 adds restart markers. */
typedef struct jpeg_spec {
    int width, height, components, quality, progressive, restart_rows;
    int ycck; /* components 4: store as YCCK instead of CMYK */
    const uint8_t *samples;
    const uint8_t *exif; /* APP1 payload after "Exif\0\0", or NULL */
    size_t exif_size;
} jpeg_spec;
byte_buffer encode_jpeg(const jpeg_spec *spec);

/* A WebP from 8-bit RGB (channels 3) or RGBA (4) samples, lossy at quality
 * 80 or lossless. */
typedef struct webp_spec {
    int width, height, channels, lossless;
    const uint8_t *samples;
} webp_spec;
byte_buffer encode_webp(const webp_spec *spec);

/* A GIF89a: a screen_width x screen_height screen with n_colors global
 * palette entries (a power of two, 2..256; giflib writes no file without a
 * palette) and `frames` copies of one width x height image of indices at (left, top),
 * each after a graphic control extension naming `transparent` (-1: none). */
typedef struct gif_spec {
    int screen_width, screen_height;
    int left, top, width, height, interlaced;
    const uint8_t *indices;
    const uint8_t *palette;
    int n_colors, transparent, frames;
} gif_spec;
byte_buffer encode_gif(const gif_spec *spec);

/* A BMP with a 12- or 40-byte header. bits 24: samples are RGB triples;
 * bits 8: indices, palette n_colors RGB triples (n_colors 0 writes the
 * colour count as 0, meaning 256, and 256 entries; palette NULL: black). Other bits or a non-zero
 * compression write the header with zeroed pixel data of the right size,
 * for variants that must be refused. */
typedef struct bmp_spec {
    int width, height, bits, top_down, header_size;
    unsigned compression;
    const uint8_t *samples;
    const uint8_t *palette;
    int n_colors;
} bmp_spec;
byte_buffer encode_bmp(const bmp_spec *spec);

/* A vision config with CLIP's mean/std and resize = crop = size. */
lclip_vision_config clip_config(int size);
/* mean 0, std 1: outputs are exactly v / 255.0f. */
lclip_vision_config unit_config(int resize, int crop);

/* Largest |a[i] - b[i]|. */
double max_abs_diff(const float *a, const float *b, size_t n);

#endif
