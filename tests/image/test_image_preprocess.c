/* Decoding and preprocessing against the reference (PIL.Image.open +
 * torchvision's CLIP transform): the fixture goldens at 224 and 32, the
 * decoded pixels, PNG and JPEG variants made here, EXIF orientation, raw
 * RGB input. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <png.h>

#include "image/decode.h"
#include "image/image_input.h"
#include "image_test_util.h"
#include "support/test_util.h"

static const char *const golden_images[] = {
    "photo_astronaut_512x512.png",         "photo_chelsea_451x300_q90_420.jpg",
    "photo_coffee_600x400_progressive.jpg", "photo_rocket_640x427_q92_444.jpg",
    "photo_coffee_crop_333x251_q88_422.jpg", "photo_astronaut_240x250_exif6.jpg",
    "photo_rocket_panorama_1000x120.png",   "synth_exact_224x224.png",
    "synth_tiny_17x33.png",                 "synth_gray_300x200.png",
    "synth_rgba_256x192.png",               "synth_palette_120x90.png",
    "synth_16bit_rgb_160x120.png",
};
enum { N_GOLDEN = sizeof golden_images / sizeof *golden_images };

static const lclip_image_input_options default_opts = {.max_pixels = 178956970u, .exif_orientation = 0};

/* "dir/sub/name" with name's extension replaced by ext. */
static char *fixture_path(const char *dir, const char *sub, const char *name, const char *ext)
{
    char base[256];
    snprintf(base, sizeof base, "%s", name);
    if (ext) {
        char *dot = strrchr(base, '.');
        assert_non_null(dot);
        snprintf(dot, sizeof base - (size_t)(dot - base), "%s", ext);
    }
    char *subdir = join_path(dir, sub);
    char *path = join_path(subdir, base);
    free(subdir);
    return path;
}

static float *preprocess_file_or_fail(const char *path, int size, const lclip_image_input_options *opts)
{
    lclip_vision_config cfg = clip_config(size);
    float *out = malloc(sizeof(float) * 3 * (size_t)size * (size_t)size);
    assert_non_null(out);
    lclip_status s = lclip_image_input_file(path, opts, &cfg, out);
    if (s != LCLIP_OK)
        fail_msg("%s: %s", lclip_strerror(s), lclip_last_error());
    return out;
}

static void check_goldens_at(const char *dir, int size)
{
    char sub[32];
    snprintf(sub, sizeof sub, "golden/preprocess-%d", size);
    double worst = 0.0;
    for (int i = 0; i < N_GOLDEN; i++) {
        char *image = fixture_path(dir, "images", golden_images[i], NULL);
        char *golden_path = fixture_path(dir, sub, golden_images[i], ".f32");
        size_t len;
        float *golden = read_whole_file(golden_path, &len);
        assert_non_null(golden);
        assert_int_equal(len, sizeof(float) * 3 * (size_t)size * (size_t)size);
        float *got = preprocess_file_or_fail(image, size, &default_opts);
        double diff = max_abs_diff(got, golden, len / sizeof(float));
        print_message("preprocess-%d %-40s max abs diff %.3g\n", size, golden_images[i], diff);
        if (diff > worst)
            worst = diff;
        assert_true(diff <= 1e-5);
        free(got);
        free(golden);
        free(golden_path);
        free(image);
    }
    print_message("preprocess-%d: worst max abs diff %.3g\n", size, worst);
}

static void test_goldens_224(void **state)
{
    (void)state;
    const char *dir = fixtures_dir();
    if (!dir)
        skip();
    check_goldens_at(dir, 224);
}

static void test_goldens_32(void **state)
{
    (void)state;
    const char *dir = fixtures_dir();
    if (!dir)
        skip();
    check_goldens_at(dir, 32);
}

/* The ResNet fixture's resolution (resnet.json), when the fixtures have it. */
static void test_goldens_64(void **state)
{
    (void)state;
    const char *dir = fixtures_dir();
    if (!dir)
        skip();
    char *resnet = join_path(dir, "resnet.json");
    FILE *probe = fopen(resnet, "rb");
    free(resnet);
    if (!probe) {
        print_message("fixtures without resnet.json: no 64-pixel goldens, skipped\n");
        skip();
    }
    fclose(probe);
    check_goldens_at(dir, 64);
}

/* Decoded pixels before resizing, for the images that have them pinned. */
static void test_decoded_pixels_exact(void **state)
{
    (void)state;
    const char *dir = fixtures_dir();
    if (!dir)
        skip();
    int checked = 0;
    for (int i = 0; i < N_GOLDEN; i++) {
        char *golden_path = fixture_path(dir, "golden/decoded-rgb8", golden_images[i], ".rgb8");
        size_t golden_len, file_len;
        uint8_t *golden = read_whole_file(golden_path, &golden_len);
        free(golden_path);
        if (!golden)
            continue;
        char *image = fixture_path(dir, "images", golden_images[i], NULL);
        uint8_t *file = read_whole_file(image, &file_len);
        assert_non_null(file);
        lclip_pixels px;
        lclip_status s = lclip_image_decode(file, file_len, image, &default_opts, &px);
        if (s != LCLIP_OK)
            fail_msg("%s: %s", image, lclip_last_error());
        assert_int_equal(px.mode, LCLIP_MODE_RGB);
        assert_int_equal((size_t)px.width * (size_t)px.height * 3, golden_len);
        assert_int_equal(px.stride, (size_t)px.width * 3);
        assert_memory_equal(px.data, golden, golden_len);
        print_message("decoded-rgb8 %-40s identical\n", golden_images[i]);
        lclip_pixels_free(&px);
        free(file);
        free(image);
        free(golden);
        checked++;
    }
    assert_int_equal(checked, 6);
}


/* ---- PNG and JPEG variants made here, against Pillow -------------------
 * Each variant is a 13 x 9 image from the patterns below, preprocessed with
 * resize 6 / crop 5 (resized 8 x 6, crop offset (2, 0): a round-half-even
 * case) and mean 0 / std 1, so every output is exactly v / 255.0f. The
 * expected 5 x 5 RGB bytes are what Pillow 9.4 + the reference transform
 * give for the very same encoded bytes: run this test with
 * LCLIP_IMAGE_TEST_DUMP_DIR=dir to write them out, then
 * tests/image/pillow_variant_expectations.py dir prints the table. */
enum { VAR_W = 13, VAR_H = 9, VAR_RESIZE = 6, VAR_CROP = 5, N_PALETTE = 12 };

typedef struct variant {
    const char *name;
    int is_jpeg;
    int color_type; /* PNG colour type, or JPEG component count */
    int depth;      /* PNG bit depth */
    int interlaced, with_trns, progressive, restart_rows, ycck;
    const char *expected; /* hex of the 5 x 5 x 3 bytes, row-major */
} variant;

static const variant variants[] = {
#include "variant_expectations.inc"
};
enum { N_VARIANTS = sizeof variants / sizeof *variants };

static unsigned pattern8(int x, int y, int c)
{
    return (unsigned)(x * 37 + y * 71 + c * 113 + (x * y % 13) * 7) % 256;
}

/* Transparent, opaque and partial alphas. */
static unsigned alpha8(int x, int y)
{
    int k = x * y + 3 * x + y;
    return k % 5 == 0 ? 0 : k % 7 == 0 ? 255 : (unsigned)(x + 2 * y) * 29 % 256;
}

static int variant_channels(const variant *v)
{
    if (v->is_jpeg)
        return v->color_type;
    switch (v->color_type) {
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_RGB: return 3;
    case PNG_COLOR_TYPE_RGB_ALPHA: return 4;
    default: return 1;
    }
}

static uint16_t variant_sample(const variant *v, int x, int y, int c)
{
    int channels = variant_channels(v);
    int is_alpha = !v->is_jpeg && (v->color_type & PNG_COLOR_MASK_ALPHA) && c == channels - 1;
    unsigned base = is_alpha ? alpha8(x, y) : pattern8(x, y, c);
    if (v->is_jpeg)
        return (uint16_t)base;
    if (v->color_type == PNG_COLOR_TYPE_PALETTE) /* some indices past the PLTE */
        return (uint16_t)(pattern8(x, y, 0) % (v->depth == 8 ? N_PALETTE + 3 : 1u << v->depth));
    if (v->depth == 16 && v->color_type == PNG_COLOR_TYPE_GRAY) /* mode "I": some rows above 255 */
        return (uint16_t)(y % 2 ? base * 257 : base);
    if (v->depth == 16) /* the low byte must not matter */
        return (uint16_t)(base << 8 | ((unsigned)(x * 13 + y * 7 + c) & 255));
    return (uint16_t)(base >> (8 - v->depth));
}

static byte_buffer encode_variant(const variant *v)
{
    int channels = variant_channels(v);
    size_t n = (size_t)VAR_W * VAR_H * (size_t)channels;
    uint16_t samples[VAR_W * VAR_H * 4];
    uint8_t bytes[VAR_W * VAR_H * 4];
    for (int y = 0; y < VAR_H; y++)
        for (int x = 0; x < VAR_W; x++)
            for (int c = 0; c < channels; c++) {
                size_t i = ((size_t)y * VAR_W + (size_t)x) * (size_t)channels + (size_t)c;
                samples[i] = variant_sample(v, x, y, c);
                bytes[i] = (uint8_t)samples[i];
            }
    (void)n;
    if (v->is_jpeg) {
        jpeg_spec spec = {VAR_W, VAR_H, v->color_type, 90, v->progressive, v->restart_rows, v->ycck, bytes,
                          NULL, 0};
        return encode_jpeg(&spec);
    }
    /* A PLTE may not be longer than the depth allows. */
    int n_palette = v->depth < 8 && (1 << v->depth) < N_PALETTE ? 1 << v->depth : N_PALETTE;
    uint8_t palette[3 * N_PALETTE];
    for (int i = 0; i < n_palette; i++) {
        palette[3 * i] = (uint8_t)(i * 20);
        palette[3 * i + 1] = (uint8_t)(255 - i * 17);
        palette[3 * i + 2] = (uint8_t)(i * 53 % 256);
    }
    static const uint8_t trns[4] = {0, 128, 255, 7};
    int is_palette = v->color_type == PNG_COLOR_TYPE_PALETTE;
    png_spec spec = {VAR_W, VAR_H, v->color_type, v->depth, v->interlaced, samples,
                     is_palette ? palette : NULL, is_palette ? n_palette : 0,
                     v->with_trns ? trns : NULL, v->with_trns ? 4 : 0};
    return encode_png(&spec);
}

static void parse_hex(const char *hex, uint8_t *out, size_t n)
{
    assert_int_equal(strlen(hex), 2 * n);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

static void dump_variant(const char *dir, const variant *v, const byte_buffer *file)
{
    char name[128];
    snprintf(name, sizeof name, "%s.%s", v->name, v->is_jpeg ? "jpg" : "png");
    char *path = join_path(dir, name);
    write_bytes_file(path, file->data, file->size);
    free(path);
}

static void test_variants_match_pillow(void **state)
{
    (void)state;
    const char *dump_dir = getenv("LCLIP_IMAGE_TEST_DUMP_DIR");
    lclip_vision_config cfg = unit_config(VAR_RESIZE, VAR_CROP);
    enum { N = 3 * VAR_CROP * VAR_CROP, PLANE = VAR_CROP * VAR_CROP };
    int failed = 0;
    for (int i = 0; i < N_VARIANTS; i++) {
        const variant *v = &variants[i];
        byte_buffer file = encode_variant(v);
        if (dump_dir)
            dump_variant(dump_dir, v, &file);
        float got[N];
        lclip_status s = lclip_image_input_memory(file.data, file.size, &default_opts, &cfg, got);
        if (s != LCLIP_OK)
            fail_msg("%s: %s", v->name, lclip_last_error());
        uint8_t expected[N];
        parse_hex(v->expected, expected, N);
        int mismatches = 0;
        char got_hex[2 * N + 1];
        for (int p = 0; p < PLANE; p++)
            for (int c = 0; c < 3; c++) {
                float value = got[c * PLANE + p];
                snprintf(got_hex + 2 * (3 * p + c), 3, "%02x", (unsigned)lrintf(value * 255.0f) & 255);
                if (value != (float)expected[3 * p + c] / 255.0f)
                    mismatches++;
            }
        print_message("variant %-22s %s\n", v->name, mismatches ? "DIFFERS" : "matches Pillow");
        if (mismatches)
            print_message("  got      %s\n  expected %s\n", got_hex, v->expected);
        failed += mismatches != 0;
        free(file.data);
    }
    assert_int_equal(failed, 0);
}

/* Interlacing and tRNS change the file, never the result. */
static void test_interlace_and_trns_are_transparent(void **state)
{
    (void)state;
    lclip_vision_config cfg = unit_config(VAR_RESIZE, VAR_CROP);
    for (int i = 0; i < N_VARIANTS; i++) {
        variant plain = variants[i];
        if (plain.is_jpeg || (!plain.interlaced && !plain.with_trns))
            continue;
        const variant *v = &variants[i];
        plain.interlaced = 0;
        plain.with_trns = 0;
        byte_buffer a = encode_variant(v), b = encode_variant(&plain);
        assert_true(a.size != b.size || memcmp(a.data, b.data, a.size) != 0);
        float out_a[3 * VAR_CROP * VAR_CROP], out_b[3 * VAR_CROP * VAR_CROP];
        assert_int_equal(lclip_image_input_memory(a.data, a.size, &default_opts, &cfg, out_a), LCLIP_OK);
        assert_int_equal(lclip_image_input_memory(b.data, b.size, &default_opts, &cfg, out_b), LCLIP_OK);
        assert_memory_equal(out_a, out_b, sizeof out_a);
        free(a.data);
        free(b.data);
    }
}

/* The modes Pillow would give, which decide resizing and conversion. */
static void test_decoded_modes(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        lclip_pixel_mode mode;
    } cases[] = {
        {"grey1", LCLIP_MODE_1},       {"grey2", LCLIP_MODE_L},     {"grey4", LCLIP_MODE_L},
        {"grey8", LCLIP_MODE_L},       {"grey16", LCLIP_MODE_I},    {"grey_alpha8", LCLIP_MODE_LA},
        {"grey_alpha16", LCLIP_MODE_RGBA}, {"palette8_trns", LCLIP_MODE_P}, {"rgb16", LCLIP_MODE_RGB},
        {"rgba16_interlaced", LCLIP_MODE_RGBA},   {"jpeg_grey", LCLIP_MODE_L}, {"jpeg_cmyk", LCLIP_MODE_CMYK},
    };
    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        const variant *v = NULL;
        for (int i = 0; i < N_VARIANTS; i++)
            if (strcmp(variants[i].name, cases[c].name) == 0)
                v = &variants[i];
        assert_non_null(v);
        byte_buffer file = encode_variant(v);
        lclip_pixels px;
        assert_int_equal(lclip_image_decode(file.data, file.size, v->name, &default_opts, &px), LCLIP_OK);
        assert_int_equal(px.mode, cases[c].mode);
        assert_int_equal(px.width, VAR_W);
        assert_int_equal(px.height, VAR_H);
        lclip_pixels_free(&px);
        free(file.data);
    }
}

/* ---- EXIF orientation ---------------------------------------------------- */

static uint8_t *read_fixture(const char *dir, const char *sub, const char *name, size_t *len)
{
    char *path = fixture_path(dir, sub, name, NULL);
    uint8_t *data = read_whole_file(path, len);
    assert_non_null(data);
    free(path);
    return data;
}

/* photo_astronaut_240x250_exif6.jpg says "rotate 90 degrees clockwise".
 * Off (the default), it is ignored like the reference does; on, the result
 * equals preprocessing the decoded pixels rotated by hand. */
static void test_exif_orientation_fixture(void **state)
{
    (void)state;
    const char *dir = fixtures_dir();
    if (!dir)
        skip();
    size_t jpeg_len, rgb_len;
    uint8_t *jpeg = read_fixture(dir, "images", "photo_astronaut_240x250_exif6.jpg", &jpeg_len);
    uint8_t *rgb = read_fixture(dir, "golden/decoded-rgb8", "photo_astronaut_240x250_exif6.rgb8", &rgb_len);
    enum { W = 240, H = 250 };
    assert_int_equal(rgb_len, (size_t)W * H * 3);
    uint8_t *rotated = malloc(rgb_len); /* H wide, W tall */
    assert_non_null(rotated);
    for (int y = 0; y < W; y++)
        for (int x = 0; x < H; x++)
            memcpy(rotated + ((size_t)y * H + (size_t)x) * 3, rgb + ((size_t)(H - 1 - x) * W + (size_t)y) * 3, 3);

    static const int sizes[2] = {224, 32};
    for (int k = 0; k < 2; k++) {
        int n = sizes[k];
        size_t count = 3 * (size_t)n * (size_t)n;
        lclip_vision_config cfg = clip_config(n);
        lclip_image_input_options on = {.max_pixels = 178956970u, .exif_orientation = 1};
        float *off_out = malloc(count * sizeof(float)), *on_out = malloc(count * sizeof(float));
        float *manual = malloc(count * sizeof(float));
        assert_non_null(manual);
        assert_int_equal(lclip_image_input_memory(jpeg, jpeg_len, &default_opts, &cfg, off_out), LCLIP_OK);
        assert_int_equal(lclip_image_input_memory(jpeg, jpeg_len, &on, &cfg, on_out), LCLIP_OK);
        assert_int_equal(lclip_image_input_rgb(rotated, H, W, (size_t)H * 3, &default_opts, &cfg, manual), LCLIP_OK);
        assert_memory_equal(on_out, manual, count * sizeof(float));
        assert_true(memcmp(on_out, off_out, count * sizeof(float)) != 0);
        free(off_out);
        free(on_out);
        free(manual);
    }
    free(rotated);
    free(rgb);
    free(jpeg);
}

/* A TIFF header + IFD0 with one Orientation entry, in either byte order. */
static size_t make_exif(uint8_t *out, int big_endian, int orientation)
{
    static const uint8_t le[] = {'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t be[] = {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
    memcpy(out, big_endian ? be : le, sizeof le);
    out[big_endian ? 19 : 18] = (uint8_t)orientation;
    return sizeof le;
}

/* Where output (x, y) comes from, as flips and a transpose: an independent
 * formulation of the eight EXIF orientations. */
static void expected_source(int o, int w, int h, int x, int y, int *sx, int *sy)
{
    int transpose = o >= 5;
    int ox = x, oy = y;
    /* After an optional transpose the result is w' x h'; flips apply last. */
    int flip_x = o == 2 || o == 3 || o == 6 || o == 7;
    int flip_y = o == 3 || o == 4 || o == 7 || o == 8;
    int ow = transpose ? h : w, oh = transpose ? w : h;
    if (flip_x)
        ox = ow - 1 - ox;
    if (flip_y)
        oy = oh - 1 - oy;
    *sx = transpose ? oy : ox;
    *sy = transpose ? ox : oy;
}

static void test_exif_all_orientations(void **state)
{
    (void)state;
    enum { W = 7, H = 4 };
    uint8_t rgb[W * H * 3];
    for (int i = 0; i < W * H * 3; i++)
        rgb[i] = (uint8_t)(i * 37 % 256);
    for (int big = 0; big < 2; big++) {
        for (int o = 1; o <= 8; o++) {
            uint8_t exif[32];
            size_t exif_len = make_exif(exif, big, o);
            jpeg_spec spec = {W, H, 3, 95, 0, 0, 0, rgb, exif, exif_len};
            byte_buffer file = encode_jpeg(&spec);
            lclip_image_input_options on = {.max_pixels = 178956970u, .exif_orientation = 1};
            lclip_pixels plain, turned;
            assert_int_equal(lclip_image_decode(file.data, file.size, "t", &default_opts, &plain), LCLIP_OK);
            assert_int_equal(lclip_image_decode(file.data, file.size, "t", &on, &turned), LCLIP_OK);
            assert_int_equal(turned.width, o >= 5 ? H : W);
            assert_int_equal(turned.height, o >= 5 ? W : H);
            for (int y = 0; y < turned.height; y++)
                for (int x = 0; x < turned.width; x++) {
                    int sx, sy;
                    expected_source(o, W, H, x, y, &sx, &sy);
                    assert_memory_equal(turned.data + (size_t)y * turned.stride + (size_t)x * 3,
                                        plain.data + (size_t)sy * plain.stride + (size_t)sx * 3, 3);
                }
            lclip_pixels_free(&plain);
            lclip_pixels_free(&turned);
            free(file.data);
        }
    }
}

/* Every truncation and some lies of an EXIF block: never read out of bounds. */
static void test_exif_parser_is_bounded(void **state)
{
    (void)state;
    uint8_t exif[32];
    for (int big = 0; big < 2; big++) {
        size_t len = make_exif(exif, big, 6);
        assert_int_equal(lclip_exif_orientation(exif, len), 6);
        for (size_t cut = 0; cut < len - 6; cut++) {
            uint8_t *copy = malloc(cut ? cut : 1); /* exact size: ASan sees overreads */
            assert_non_null(copy);
            memcpy(copy, exif, cut);
            assert_int_equal(lclip_exif_orientation(copy, cut), 0);
            free(copy);
        }
    }
    make_exif(exif, 0, 6);
    exif[4] = 0xf0; /* IFD offset past the end */
    assert_int_equal(lclip_exif_orientation(exif, 26), 0);
    make_exif(exif, 0, 6);
    exif[8] = 0xff; /* 255 entries claimed */
    assert_int_equal(lclip_exif_orientation(exif, 26), 6);
    make_exif(exif, 0, 9); /* out of range */
    assert_int_equal(lclip_exif_orientation(exif, 26), 0);
    make_exif(exif, 0, 6);
    exif[12] = 2; /* ASCII type */
    assert_int_equal(lclip_exif_orientation(exif, 26), 0);
}

/* ---- raw RGB input -------------------------------------------------------- */

static void test_rgb_stride_and_arguments(void **state)
{
    (void)state;
    enum { W = 31, H = 23, PAD = 7 };
    uint8_t packed[W * H * 3], padded[(W * 3 + PAD) * H];
    memset(padded, 0xa5, sizeof padded);
    for (int y = 0; y < H; y++)
        for (int i = 0; i < W * 3; i++) {
            packed[y * W * 3 + i] = (uint8_t)((y * 131 + i * 17) % 256);
            padded[y * (W * 3 + PAD) + i] = packed[y * W * 3 + i];
        }
    lclip_vision_config cfg = clip_config(16);
    float a[3 * 16 * 16], b[3 * 16 * 16];
    assert_int_equal(lclip_image_input_rgb(packed, W, H, W * 3, NULL, &cfg, a), LCLIP_OK);
    assert_int_equal(lclip_image_input_rgb(padded, W, H, W * 3 + PAD, &default_opts, &cfg, b), LCLIP_OK);
    assert_memory_equal(a, b, sizeof a);

    assert_int_equal(lclip_image_input_rgb(NULL, W, H, W * 3, NULL, &cfg, a), LCLIP_E_INVALID_ARGUMENT);
    assert_int_equal(lclip_image_input_rgb(packed, 0, H, W * 3, NULL, &cfg, a), LCLIP_E_INVALID_ARGUMENT);
    assert_int_equal(lclip_image_input_rgb(packed, W, -1, W * 3, NULL, &cfg, a), LCLIP_E_INVALID_ARGUMENT);
    assert_int_equal(lclip_image_input_rgb(packed, W, H, W * 3 - 1, NULL, &cfg, a), LCLIP_E_INVALID_ARGUMENT);
    assert_int_equal(lclip_image_input_rgb(packed, W, H, W * 3, NULL, NULL, a), LCLIP_E_INVALID_ARGUMENT);
    assert_int_equal(lclip_image_input_rgb(packed, W, H, W * 3, NULL, &cfg, NULL), LCLIP_E_INVALID_ARGUMENT);
    lclip_image_input_options small = {.max_pixels = 100, .exif_orientation = 0};
    assert_int_equal(lclip_image_input_rgb(packed, W, H, W * 3, &small, &cfg, a), LCLIP_E_TOO_LARGE);
    lclip_image_input_options bad_exif = {.max_pixels = 0, .exif_orientation = 2};
    assert_int_equal(lclip_image_input_rgb(packed, W, H, W * 3, &bad_exif, &cfg, a), LCLIP_E_INVALID_ARGUMENT);
    lclip_vision_config bad = cfg;
    bad.crop_size = 0;
    assert_int_equal(lclip_image_input_rgb(packed, W, H, W * 3, NULL, &bad, a), LCLIP_E_INVALID_ARGUMENT);
    bad = cfg;
    bad.std[1] = 0.0f;
    assert_int_equal(lclip_image_input_rgb(packed, W, H, W * 3, NULL, &bad, a), LCLIP_E_INVALID_ARGUMENT);
}

/* resize < crop: torchvision pads the resized image with zeros around it.
 * 8 x 5 resized to 3 becomes 4 x 3 (longer side int(3 * 8 / 5)); cropped to
 * 6 it is padded by (6 - 4) / 2 = 1 on the left and (6 - 3) / 2 = 1 on top. */
static void test_padding_when_crop_exceeds_resize(void **state)
{
    (void)state;
    enum { W = 8, H = 5 };
    uint8_t rgb[W * H * 3];
    memset(rgb, 200, sizeof rgb);
    lclip_vision_config cfg = unit_config(3, 6);
    float out[3 * 36];
    assert_int_equal(lclip_image_input_rgb(rgb, W, H, W * 3, NULL, &cfg, out), LCLIP_OK);
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < 6; y++)
            for (int x = 0; x < 6; x++) {
                int inside = x >= 1 && x < 5 && y >= 1 && y < 4;
                assert_true(out[c * 36 + y * 6 + x] == (inside ? 200.0f / 255.0f : 0.0f));
            }
}

/* ---- several threads at once ---------------------------------------------- */

typedef struct thread_job {
    const char *dir;
    int index;
    int failures;
} thread_job;

/* Each thread preprocesses every golden image at 32 a few times, starting
 * at a different one, and checks each against the golden file. */
static void *preprocess_in_thread(void *arg)
{
    thread_job *job = arg;
    lclip_vision_config cfg = clip_config(32);
    float out[3 * 32 * 32];
    for (int round = 0; round < 3 * N_GOLDEN; round++) {
        const char *name = golden_images[(job->index + round) % N_GOLDEN];
        char *image = fixture_path(job->dir, "images", name, NULL);
        char *golden_path = fixture_path(job->dir, "golden/preprocess-32", name, ".f32");
        size_t len;
        float *golden = read_whole_file(golden_path, &len);
        if (!golden || lclip_image_input_file(image, &default_opts, &cfg, out) != LCLIP_OK ||
            memcmp(out, golden, sizeof out) != 0)
            job->failures++;
        free(golden);
        free(golden_path);
        free(image);
    }
    return NULL;
}

static void test_concurrent_calls(void **state)
{
    (void)state;
    const char *dir = fixtures_dir();
    if (!dir)
        skip();
    enum { THREADS = 4 };
    pthread_t threads[THREADS];
    thread_job jobs[THREADS];
    for (int i = 0; i < THREADS; i++) {
        jobs[i] = (thread_job){dir, i * 3, 0};
        assert_int_equal(pthread_create(&threads[i], NULL, preprocess_in_thread, &jobs[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        assert_int_equal(jobs[i].failures, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_goldens_224),
        cmocka_unit_test(test_goldens_32),
        cmocka_unit_test(test_goldens_64),
        cmocka_unit_test(test_decoded_pixels_exact),
        cmocka_unit_test(test_variants_match_pillow),
        cmocka_unit_test(test_interlace_and_trns_are_transparent),
        cmocka_unit_test(test_decoded_modes),
        cmocka_unit_test(test_exif_orientation_fixture),
        cmocka_unit_test(test_exif_all_orientations),
        cmocka_unit_test(test_exif_parser_is_bounded),
        cmocka_unit_test(test_rgb_stride_and_arguments),
        cmocka_unit_test(test_padding_when_crop_exceeds_resize),
        cmocka_unit_test(test_concurrent_calls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
