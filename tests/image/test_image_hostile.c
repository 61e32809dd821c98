/* Broken and hostile inputs: every one must end in a clean status, never a
 * crash, a hang or an out-of-bounds access (run under ASan/UBSan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>
#include <png.h>

#include "image/image_input.h"
#include "image_test_util.h"
#include "support/test_util.h"

static const lclip_image_input_options opts = {.max_pixels = 178956970u, .exif_orientation = 1};

/* Deterministic pseudo-random numbers (xorshift). */
static uint32_t next_random(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *state = x;
}

static lclip_status run(const uint8_t *data, size_t size)
{
    lclip_vision_config cfg = clip_config(8);
    float out[3 * 8 * 8];
    /* An exact-size copy, so that any overread is ASan's to see. */
    uint8_t *copy = malloc(size ? size : 1);
    assert_non_null(copy);
    if (size)
        memcpy(copy, data, size);
    lclip_status s = lclip_image_input_memory(copy, size, &opts, &cfg, out);
    free(copy);
    if (s != LCLIP_OK)
        assert_true(lclip_last_error()[0] != '\0');
    return s;
}

static void assert_clean_error(lclip_status s)
{
    assert_true(s == LCLIP_E_FORMAT || s == LCLIP_E_UNSUPPORTED || s == LCLIP_E_TOO_LARGE);
}

static byte_buffer small_png(int interlaced)
{
    enum { W = 19, H = 11 };
    uint16_t samples[W * H * 3];
    for (int i = 0; i < W * H * 3; i++)
        samples[i] = (uint16_t)(i * 7919 % 256);
    png_spec spec = {W, H, PNG_COLOR_TYPE_RGB, 8, interlaced, samples, NULL, 0, NULL, 0};
    return encode_png(&spec);
}

static byte_buffer small_jpeg(int progressive, int restart_rows)
{
    enum { W = 21, H = 13 };
    uint8_t samples[W * H * 3];
    for (int i = 0; i < W * H * 3; i++)
        samples[i] = (uint8_t)(i * 31 % 256);
    jpeg_spec spec = {W, H, 3, 85, progressive, restart_rows, 0, samples, NULL, 0};
    return encode_jpeg(&spec);
}

/* Deterministic samples for the self-made files below. */
static uint8_t *pattern(size_t n, unsigned mul)
{
    uint8_t *p = malloc(n);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * mul % 251);
    return p;
}

/* kind 0 lossy RGB, 1 lossless RGB, 2 lossy RGBA. */
static byte_buffer small_webp(int kind)
{
    enum { W = 23, H = 13 };
    int channels = kind == 2 ? 4 : 3;
    uint8_t *samples = pattern((size_t)W * H * (size_t)channels, 37);
    webp_spec spec = {W, H, channels, kind == 1, samples};
    byte_buffer b = encode_webp(&spec);
    free(samples);
    return b;
}

static byte_buffer small_gif(int interlaced, int frames)
{
    enum { W = 19, H = 11 };
    uint8_t *indices = pattern(W * H, 7);
    uint8_t *palette = pattern(3 * 256, 11);
    gif_spec spec = {W, H, 0, 0, W, H, interlaced, indices, palette, 256, 3, frames};
    byte_buffer b = encode_gif(&spec);
    free(palette);
    free(indices);
    return b;
}

/* kind 0: 24-bit, top-down; 1: 8-bit, 40 colours; 2: 8-bit, 12-byte
 * header (no colour count: always 256 entries; bottom-up). Width 9: rows
 * are padded. */
static byte_buffer small_bmp(int kind)
{
    enum { W = 9, H = 7 };
    uint8_t *samples = pattern((size_t)W * H * 3, 13);
    uint8_t *palette = pattern(3 * 256, 29);
    bmp_spec spec = {W, H, kind ? 8 : 24, kind == 0, kind == 2 ? 12 : 40, 0, samples, palette, kind == 2 ? 0 : 40};
    if (kind)
        for (int i = 0; i < W * H; i++)
            samples[i] %= 40;
    byte_buffer b = encode_bmp(&spec);
    free(palette);
    free(samples);
    return b;
}

static void test_empty_and_non_images(void **state)
{
    (void)state;
    lclip_vision_config cfg = clip_config(8);
    float out[3 * 8 * 8];
    assert_int_equal(lclip_image_input_memory(NULL, 0, &opts, &cfg, out), LCLIP_E_FORMAT);
    assert_int_equal(lclip_image_input_memory(NULL, 5, &opts, &cfg, out), LCLIP_E_INVALID_ARGUMENT);
    assert_int_equal(lclip_image_input_memory("x", 1, &opts, NULL, out), LCLIP_E_INVALID_ARGUMENT);
    assert_int_equal(lclip_image_input_memory("x", 1, &opts, &cfg, NULL), LCLIP_E_INVALID_ARGUMENT);
    assert_int_equal(run((const uint8_t *)"", 0), LCLIP_E_FORMAT);
    static const char text[] = "this is a text file, not an image\n";
    assert_int_equal(run((const uint8_t *)text, sizeof text - 1), LCLIP_E_UNSUPPORTED);
    /* A GIF screen without an image, and signatures of formats not read. */
    static const uint8_t gif[] = {'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0, 0, 0};
    assert_int_equal(run(gif, sizeof gif), LCLIP_E_FORMAT);
    static const uint8_t gif90[] = {'G', 'I', 'F', '9', '0', 'a', 1, 0, 1, 0, 0, 0, 0};
    assert_int_equal(run(gif90, sizeof gif90), LCLIP_E_UNSUPPORTED);
    static const char riff_avi[] = "RIFF\x10\0\0\0AVI LIST";
    assert_int_equal(run((const uint8_t *)riff_avi, sizeof riff_avi - 1), LCLIP_E_UNSUPPORTED);
    static const char tiff[] = "II*\0\x08\0\0\0";
    assert_int_equal(run((const uint8_t *)tiff, sizeof tiff - 1), LCLIP_E_UNSUPPORTED);
    static const uint8_t soi_only[] = {0xff, 0xd8};
    assert_int_equal(run(soi_only, sizeof soi_only), LCLIP_E_UNSUPPORTED);
}

static void test_file_errors(void **state)
{
    (void)state;
    lclip_vision_config cfg = clip_config(8);
    float out[3 * 8 * 8];
    char *dir = make_temp_dir();
    char *missing = join_path(dir, "missing.png");
    assert_int_equal(lclip_image_input_file(missing, &opts, &cfg, out), LCLIP_E_IO);
    char *empty = join_path(dir, "empty.jpg");
    write_bytes_file(empty, "", 0);
    assert_int_equal(lclip_image_input_file(empty, &opts, &cfg, out), LCLIP_E_FORMAT);
    /* The extension does not matter, the bytes do. */
    byte_buffer png = small_png(0);
    char *misnamed = join_path(dir, "really_a_png.jpg");
    write_bytes_file(misnamed, png.data, png.size);
    assert_int_equal(lclip_image_input_file(misnamed, &opts, &cfg, out), LCLIP_OK);
    assert_int_equal(lclip_image_input_file(NULL, &opts, &cfg, out), LCLIP_E_INVALID_ARGUMENT);
    assert_int_equal(lclip_image_input_file(dir, &opts, &cfg, out), LCLIP_E_IO);
    free(png.data);
    free(misnamed);
    free(empty);
    free(missing);
    rm_tree(dir);
    free(dir);
}

/* Every prefix of a PNG fails cleanly until the image data is complete; a
 * file cut inside the trailing IEND chunk still decodes (Pillow does not
 * need it either). */
static void test_truncated_png_every_prefix(void **state)
{
    (void)state;
    for (int interlaced = 0; interlaced < 2; interlaced++) {
        byte_buffer png = small_png(interlaced);
        assert_int_equal(run(png.data, png.size), LCLIP_OK);
        const size_t iend = 12;
        for (size_t len = 0; len < png.size; len++) {
            lclip_status s = run(png.data, len);
            if (len >= png.size - iend)
                assert_int_equal(s, LCLIP_OK);
            else if (len < 8)
                assert_int_equal(s, len == 0 ? LCLIP_E_FORMAT : LCLIP_E_UNSUPPORTED);
            else
                assert_int_equal(s, LCLIP_E_FORMAT);
        }
        free(png.data);
    }
}

/* Every prefix of a JPEG fails: Pillow refuses truncated JPEGs too. */
static void test_truncated_jpeg_every_prefix(void **state)
{
    (void)state;
    for (int kind = 0; kind < 3; kind++) {
        byte_buffer jpeg = small_jpeg(kind == 1, kind == 2 ? 1 : 0);
        assert_int_equal(run(jpeg.data, jpeg.size), LCLIP_OK);
        for (size_t len = 0; len < jpeg.size; len++) {
            lclip_status s = run(jpeg.data, len);
            if (len == 0)
                assert_int_equal(s, LCLIP_E_FORMAT);
            else if (len < 3)
                assert_int_equal(s, LCLIP_E_UNSUPPORTED);
            else
                assert_int_equal(s, LCLIP_E_FORMAT);
        }
        free(jpeg.data);
    }
}

/* Every prefix of a WebP fails: the RIFF size and the chunks must be whole. */
static void test_truncated_webp_every_prefix(void **state)
{
    (void)state;
    for (int kind = 0; kind < 3; kind++) {
        byte_buffer webp = small_webp(kind);
        assert_int_equal(run(webp.data, webp.size), LCLIP_OK);
        for (size_t len = 0; len < webp.size; len++) {
            lclip_status s = run(webp.data, len);
            assert_int_equal(s, len == 0 || len >= 12 ? LCLIP_E_FORMAT : LCLIP_E_UNSUPPORTED);
        }
        free(webp.data);
    }
}

/* Every prefix of a GIF fails until the first image's pixel data is
 * complete; neither the trailer nor the data's closing empty block is
 * needed, as in Pillow (every prefix was compared with Pillow 9.4). */
static void test_truncated_gif_every_prefix(void **state)
{
    (void)state;
    for (int interlaced = 0; interlaced < 2; interlaced++) {
        byte_buffer gif = small_gif(interlaced, 1);
        assert_int_equal(run(gif.data, gif.size), LCLIP_OK);
        for (size_t len = 0; len < gif.size; len++) {
            lclip_status s = run(gif.data, len);
            if (len >= gif.size - 2)
                assert_int_equal(s, LCLIP_OK);
            else
                assert_int_equal(s, len == 0 || len >= 6 ? LCLIP_E_FORMAT : LCLIP_E_UNSUPPORTED);
        }
        free(gif.data);
    }
}

/* Every prefix of a BMP fails until the last row is whole (its padding is
 * not needed, as in Pillow). */
static void test_truncated_bmp_every_prefix(void **state)
{
    (void)state;
    for (int kind = 0; kind < 3; kind++) {
        byte_buffer bmp = small_bmp(kind);
        assert_int_equal(run(bmp.data, bmp.size), LCLIP_OK);
        size_t row = kind ? 9 : 27, padding = (4 - row % 4) % 4;
        for (size_t len = 0; len < bmp.size; len++) {
            lclip_status s = run(bmp.data, len);
            if (len >= bmp.size - padding) {
                if (s != LCLIP_OK)
                    fail_msg("kind %d, %zu of %zu bytes: %s", kind, len, bmp.size, lclip_last_error());
            }
            else
                assert_int_equal(s, len == 0 || len >= 2 ? LCLIP_E_FORMAT : LCLIP_E_UNSUPPORTED);
        }
        free(bmp.data);
    }
}

/* Only the first frame is read: frames after it may be cut or damaged, and
 * thousands of them cost nothing. */
static void test_gif_reads_only_the_first_frame(void **state)
{
    (void)state;
    byte_buffer one = small_gif(0, 1), many = small_gif(0, 3000);
    assert_true(many.size > 500000);
    lclip_vision_config cfg = clip_config(8);
    float a[3 * 8 * 8], b[3 * 8 * 8];
    assert_int_equal(lclip_image_input_memory(one.data, one.size, &opts, &cfg, a), LCLIP_OK);
    assert_int_equal(lclip_image_input_memory(many.data, many.size, &opts, &cfg, b), LCLIP_OK);
    assert_memory_equal(a, b, sizeof a);
    /* The second frame cut in half, then garbage instead of it. */
    assert_int_equal(run(many.data, 2 * one.size - one.size / 2), LCLIP_OK);
    memset(many.data + one.size, 0xee, many.size - one.size);
    assert_int_equal(run(many.data, many.size), LCLIP_OK);
    free(many.data);
    free(one.data);
}

static void put_u32le(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u16le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

/* BMP header fields that lie: sizes, offsets, palette counts. */
static void test_bmp_header_fields(void **state)
{
    (void)state;
    byte_buffer bmp = small_bmp(1); /* 8-bit, 40-byte header, 40 colours */
    uint8_t *copy = malloc(bmp.size);
    assert_non_null(copy);
    static const struct {
        size_t at;
        int bytes;
        uint32_t value;
        lclip_status expected;
    } cases[] = {
        {18, 4, 0, LCLIP_E_FORMAT},                   /* width 0 */
        {22, 4, 0, LCLIP_E_FORMAT},                   /* height 0 */
        {18, 4, 100000, LCLIP_E_FORMAT},              /* allowed, but the rows are not there */
        {18, 4, 0x7fffffff, LCLIP_E_TOO_LARGE},
        {18, 4, 0xfffffff7u, LCLIP_E_TOO_LARGE},      /* "negative" width: unsigned in Pillow too */
        {22, 4, 0x80000000u, LCLIP_E_TOO_LARGE},      /* negative but not 0xFF..: huge */
        {22, 4, 0xff000000u, LCLIP_E_FORMAT},         /* top-down, 2^24 rows: not in the file */
        {22, 4, (uint32_t)-7, LCLIP_OK},              /* top-down */
        {22, 4, 8, LCLIP_E_FORMAT},                   /* one row more than present */
        {10, 4, 0xffffffffu, LCLIP_E_FORMAT},         /* pixel offset past the end */
        {10, 4, 0xfffffff0u, LCLIP_E_FORMAT},
        {10, 4, 0, LCLIP_OK},                         /* 0: right after the palette */
        {46, 4, 257, LCLIP_E_UNSUPPORTED},            /* palette of 257 colours */
        {46, 4, 0xffffffffu, LCLIP_E_UNSUPPORTED},
        {46, 4, 256, LCLIP_E_FORMAT},                 /* 256 entries do not fit before the rows... */
        {14, 4, 0xffffffffu, LCLIP_E_UNSUPPORTED},    /* header size */
        {28, 2, 24, LCLIP_E_FORMAT},                  /* 24-bit: 9 x 7 x 3 bytes are not there */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        memcpy(copy, bmp.data, bmp.size);
        if (cases[i].bytes == 4)
            put_u32le(copy + cases[i].at, cases[i].value);
        else
            put_u16le(copy + cases[i].at, cases[i].value);
        lclip_status s = run(copy, bmp.size);
        if (s != cases[i].expected)
            fail_msg("case %zu: %s (%s)", i, lclip_strerror(s), lclip_last_error());
    }
    /* A V5 header (124 bytes) in a file that ends inside it. */
    memcpy(copy, bmp.data, bmp.size);
    put_u32le(copy + 14, 124);
    assert_int_equal(run(copy, 14 + 100), LCLIP_E_FORMAT);
    /* A 100000 x 100000 header with nothing after it. */
    assert_int_equal(run(bmp.data, 54), LCLIP_E_FORMAT);
    memcpy(copy, bmp.data, 54);
    put_u32le(copy + 18, 100000);
    put_u32le(copy + 22, 100000);
    assert_int_equal(run(copy, 54), LCLIP_E_TOO_LARGE);
    lclip_vision_config cfg = clip_config(8);
    float out[3 * 8 * 8];
    lclip_image_input_options just = {.max_pixels = 9 * 7}, under = {.max_pixels = 9 * 7 - 1};
    assert_int_equal(lclip_image_input_memory(bmp.data, bmp.size, &just, &cfg, out), LCLIP_OK);
    assert_int_equal(lclip_image_input_memory(bmp.data, bmp.size, &under, &cfg, out), LCLIP_E_TOO_LARGE);
    free(copy);
    free(bmp.data);
}

/* GIF screen and frame sizes: both count against max_pixels, before any
 * pixel is allocated (the files hold a single row of data). */
static void test_gif_dimensions(void **state)
{
    (void)state;
    byte_buffer gif = small_gif(0, 1); /* 19 x 11 screen and frame */
    uint8_t *copy = malloc(gif.size);
    assert_non_null(copy);
    /* Screen at 6, 8; the descriptor after the header, the 768-byte palette
     * and the 8-byte graphic control extension: left, top, width, height. */
    size_t desc = 13 + 768 + 8 + 1;
    assert_int_equal(gif.data[desc - 1], ',');
    static const struct {
        size_t at;
        uint32_t value;
        lclip_status expected;
    } cases[] = {
        {6, 65535, LCLIP_OK},                  /* a wider screen: padding around the frame */
        {8, 0, LCLIP_OK},                      /* the frame defines the canvas */
        {0, 0, LCLIP_OK},                      /* placeholder, replaced below */
    };
    for (size_t i = 0; i < 2; i++) {
        memcpy(copy, gif.data, gif.size);
        put_u16le(copy + cases[i].at, cases[i].value);
        lclip_status s = run(copy, gif.size);
        if (s != cases[i].expected)
            fail_msg("case %zu: %s (%s)", i, lclip_strerror(s), lclip_last_error());
    }
    lclip_vision_config cfg = clip_config(8);
    float out[3 * 8 * 8];
    lclip_image_input_options tight = {.max_pixels = 100000};
    memcpy(copy, gif.data, gif.size);
    put_u16le(copy + 6, 65535);
    put_u16le(copy + 8, 65535);
    assert_int_equal(run(copy, gif.size), LCLIP_E_TOO_LARGE);
    memcpy(copy, gif.data, gif.size);
    put_u16le(copy + desc, 60000); /* the frame pushed far right: the canvas grows */
    assert_int_equal(lclip_image_input_memory(copy, gif.size, &tight, &cfg, out), LCLIP_E_TOO_LARGE);
    put_u16le(copy + desc, 0);
    put_u16le(copy + desc + 4, 65535); /* frame width */
    put_u16le(copy + desc + 6, 65535);
    assert_int_equal(run(copy, gif.size), LCLIP_E_TOO_LARGE);
    put_u16le(copy + desc + 4, 0);
    assert_int_equal(run(copy, gif.size), LCLIP_E_FORMAT);
    put_u16le(copy + desc + 4, 19);
    put_u16le(copy + desc + 6, 12); /* one row more than the data */
    assert_int_equal(run(copy, gif.size), LCLIP_E_FORMAT);
    free(copy);
    free(gif.data);
}

/* A VP8X header alone (animation flag set, no frames): its canvas size is
 * checked before anything else is read. */
static void test_webp_dimensions(void **state)
{
    (void)state;
    uint8_t vp8x[30] = {'R', 'I', 'F', 'F', 22, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P', '8', 'X', 10, 0, 0, 0, 0x02};
    vp8x[24] = 0xff; /* width - 1 = 0x3fff: 16384 */
    vp8x[25] = 0x3f;
    vp8x[27] = 0xff; /* height 16384 */
    vp8x[28] = 0x3f;
    assert_int_equal(run(vp8x, sizeof vp8x), LCLIP_E_TOO_LARGE);
    vp8x[24] = vp8x[25] = vp8x[26] = vp8x[27] = vp8x[28] = vp8x[29] = 0; /* 1 x 1, no frame */
    assert_int_equal(run(vp8x, sizeof vp8x), LCLIP_E_FORMAT);

    byte_buffer webp = small_webp(0);
    lclip_vision_config cfg = clip_config(8);
    float out[3 * 8 * 8];
    lclip_image_input_options just = {.max_pixels = 23 * 13}, under = {.max_pixels = 23 * 13 - 1};
    assert_int_equal(lclip_image_input_memory(webp.data, webp.size, &just, &cfg, out), LCLIP_OK);
    assert_int_equal(lclip_image_input_memory(webp.data, webp.size, &under, &cfg, out), LCLIP_E_TOO_LARGE);
    /* A RIFF size larger than the file. */
    put_u32le(webp.data + 4, (uint32_t)webp.size + 100);
    assert_int_equal(run(webp.data, webp.size), LCLIP_E_FORMAT);
    free(webp.data);
}

/* Large real files, cut at a stride through them. */
static void test_truncated_fixtures(void **state)
{
    (void)state;
    const char *dir = fixtures_dir();
    if (!dir)
        skip();
    static const char *const names[] = {"photo_coffee_600x400_progressive.jpg", "photo_rocket_640x427_q92_444.jpg",
                                        "synth_rgba_256x192.png", "synth_palette_120x90.png"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        char *images = join_path(dir, "images");
        char *path = join_path(images, names[i]);
        size_t size;
        uint8_t *data = read_whole_file(path, &size);
        assert_non_null(data);
        for (size_t len = 8; len + 12 < size; len += 1237)
            assert_int_equal(run(data, len), LCLIP_E_FORMAT);
        free(data);
        free(path);
        free(images);
    }
}

/* Random byte changes: any clean outcome is fine, including success. */
static void test_corrupted_bytes(void **state)
{
    (void)state;
    uint32_t rng = 12345;
    for (int kind = 0; kind < 12; kind++) {
        byte_buffer file = kind < 2 ? small_png(kind) : kind < 4 ? small_jpeg(kind == 3, 0)
                           : kind < 7 ? small_webp(kind - 4) : kind < 9 ? small_gif(kind - 7, 2) : small_bmp(kind - 9);
        uint8_t *copy = malloc(file.size);
        assert_non_null(copy);
        for (int trial = 0; trial < 400; trial++) {
            memcpy(copy, file.data, file.size);
            int changes = 1 + (int)(next_random(&rng) % 4);
            for (int c = 0; c < changes; c++) {
                /* Half the time hit the headers, where the damage is worst. */
                size_t span = next_random(&rng) % 2 ? file.size : (file.size < 64 ? file.size : 64);
                copy[next_random(&rng) % span] = (uint8_t)next_random(&rng);
            }
            lclip_status s = run(copy, file.size);
            if (s != LCLIP_OK)
                assert_clean_error(s);
        }
        free(copy);
        free(file.data);
    }
}

static void test_random_garbage(void **state)
{
    (void)state;
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const uint8_t jpeg_sig[3] = {0xff, 0xd8, 0xff};
    uint32_t rng = 777;
    uint8_t buf[2048];
    for (int trial = 0; trial < 3000; trial++) {
        size_t len = next_random(&rng) % sizeof buf;
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)next_random(&rng);
        int prefix = trial % 6;
        if (prefix == 1 && len >= 8)
            memcpy(buf, png_sig, 8);
        if (prefix == 2 && len >= 3)
            memcpy(buf, jpeg_sig, 3);
        if (prefix == 3 && len >= 16)
            memcpy(buf, "RIFF\0\0\0\0WEBPVP8", 15);
        if (prefix == 4 && len >= 6)
            memcpy(buf, "GIF89a", 6);
        if (prefix == 5 && len >= 2)
            memcpy(buf, "BM", 2);
        lclip_status s = run(buf, len);
        assert_true(s != LCLIP_OK);
        assert_clean_error(s);
    }
}

/* ---- dimensions in headers ------------------------------------------------ */

static void put_u32be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Signature + IHDR claiming width x height (valid CRC) + an IDAT of a few
 * zero bytes: far too little data for any real size. */
static size_t png_with_header(uint8_t *out, uint32_t width, uint32_t height)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    memcpy(out, sig, 8);
    uint8_t *ihdr = out + 8;
    put_u32be(ihdr, 13);
    memcpy(ihdr + 4, "IHDR", 4);
    put_u32be(ihdr + 8, width);
    put_u32be(ihdr + 12, height);
    static const uint8_t rest[5] = {8, 2, 0, 0, 0}; /* 8-bit RGB */
    memcpy(ihdr + 16, rest, 5);
    put_u32be(ihdr + 21, (uint32_t)crc32(0, ihdr + 4, 17));
    uint8_t *idat = ihdr + 25;
    uint8_t z[16];
    uLongf zlen = sizeof z;
    static const uint8_t zero[4] = {0};
    assert_int_equal(compress(z, &zlen, zero, sizeof zero), Z_OK);
    put_u32be(idat, (uint32_t)zlen);
    memcpy(idat + 4, "IDAT", 4);
    memcpy(idat + 8, z, zlen);
    put_u32be(idat + 8 + zlen, (uint32_t)crc32(0, idat + 4, 4 + (uInt)zlen));
    return 8 + 25 + 12 + zlen;
}

/* A real JPEG with its SOF dimensions rewritten. */
static byte_buffer jpeg_with_size(uint16_t width, uint16_t height)
{
    byte_buffer jpeg = small_jpeg(0, 0);
    for (size_t i = 2; i + 9 < jpeg.size; i++) {
        if (jpeg.data[i] == 0xff && jpeg.data[i + 1] == 0xc0) {
            jpeg.data[i + 5] = (uint8_t)(height >> 8);
            jpeg.data[i + 6] = (uint8_t)height;
            jpeg.data[i + 7] = (uint8_t)(width >> 8);
            jpeg.data[i + 8] = (uint8_t)width;
            return jpeg;
        }
    }
    fail_msg("no SOF0 marker");
    return jpeg;
}

/* Over max_pixels is LCLIP_E_TOO_LARGE, decided from the header alone: the
 * files hold almost no data, so reaching the pixel allocation and decoder
 * would have given LCLIP_E_FORMAT (truncated) instead. */
static void test_header_dimensions(void **state)
{
    (void)state;
    uint8_t png[64];
    assert_int_equal(run(png, png_with_header(png, 0, 10)), LCLIP_E_FORMAT);
    assert_int_equal(run(png, png_with_header(png, 10, 0)), LCLIP_E_FORMAT);
    assert_int_equal(run(png, png_with_header(png, 100000, 100000)), LCLIP_E_TOO_LARGE);
    assert_int_equal(run(png, png_with_header(png, 0x7fffffff, 0x7fffffff)), LCLIP_E_TOO_LARGE);
    assert_int_equal(run(png, png_with_header(png, 0x7fffffff, 1)), LCLIP_E_TOO_LARGE);
    assert_int_equal(run(png, png_with_header(png, 0x80000000u, 1)), LCLIP_E_FORMAT); /* beyond PNG's range */
    assert_int_equal(run(png, png_with_header(png, 300, 200)), LCLIP_E_FORMAT);         /* plausible, no data */

    lclip_vision_config cfg = clip_config(8);
    float out[3 * 8 * 8];
    size_t len = png_with_header(png, 300, 200);
    lclip_image_input_options tight = {.max_pixels = 300 * 200 - 1, .exif_orientation = 0};
    assert_int_equal(lclip_image_input_memory(png, len, &tight, &cfg, out), LCLIP_E_TOO_LARGE);

    byte_buffer huge = jpeg_with_size(60000, 60000);
    assert_int_equal(run(huge.data, huge.size), LCLIP_E_TOO_LARGE);
    free(huge.data);
    huge = jpeg_with_size(65535, 2); /* beyond libjpeg's 65500 */
    assert_int_equal(run(huge.data, huge.size), LCLIP_E_TOO_LARGE);
    free(huge.data);
    byte_buffer empty = jpeg_with_size(0, 13);
    assert_int_equal(run(empty.data, empty.size), LCLIP_E_FORMAT);
    free(empty.data);
    /* Allowed, but the data is for 21 x 13: libjpeg meets the real end
     * marker early, warns and fills with grey. Pillow accepts this file
     * too (only running out of bytes is an error), so it decodes. */
    byte_buffer bigger = jpeg_with_size(4000, 3000);
    assert_int_equal(run(bigger.data, bigger.size), LCLIP_OK);
    free(bigger.data);
    byte_buffer fits = jpeg_with_size(21, 13);
    lclip_image_input_options just = {.max_pixels = 21 * 13, .exif_orientation = 0}, under = {.max_pixels = 21 * 13 - 1, .exif_orientation = 0};
    assert_int_equal(lclip_image_input_memory(fits.data, fits.size, &just, &cfg, out), LCLIP_OK);
    assert_int_equal(lclip_image_input_memory(fits.data, fits.size, &under, &cfg, out), LCLIP_E_TOO_LARGE);
    free(fits.data);
}

/* A long thin image: resized it would be 8 x 2^20 pixels, but only the crop
 * is ever computed. */
static void test_extreme_aspect_ratio(void **state)
{
    (void)state;
    enum { W = 1, H = 131072 };
    uint8_t *rgb = malloc((size_t)W * H * 3);
    assert_non_null(rgb);
    for (size_t i = 0; i < (size_t)W * H * 3; i++)
        rgb[i] = (uint8_t)(i * 13 % 256);
    lclip_vision_config cfg = clip_config(8);
    float out[3 * 8 * 8];
    assert_int_equal(lclip_image_input_rgb(rgb, W, H, 3, &opts, &cfg, out), LCLIP_OK);
    free(rgb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_and_non_images),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_truncated_png_every_prefix),
        cmocka_unit_test(test_truncated_jpeg_every_prefix),
        cmocka_unit_test(test_truncated_webp_every_prefix),
        cmocka_unit_test(test_truncated_gif_every_prefix),
        cmocka_unit_test(test_truncated_bmp_every_prefix),
        cmocka_unit_test(test_gif_reads_only_the_first_frame),
        cmocka_unit_test(test_bmp_header_fields),
        cmocka_unit_test(test_gif_dimensions),
        cmocka_unit_test(test_webp_dimensions),
        cmocka_unit_test(test_truncated_fixtures),
        cmocka_unit_test(test_corrupted_bytes),
        cmocka_unit_test(test_random_garbage),
        cmocka_unit_test(test_header_dimensions),
        cmocka_unit_test(test_extreme_aspect_ratio),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
