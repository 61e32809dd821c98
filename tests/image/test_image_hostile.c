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
    for (int kind = 0; kind < 4; kind++) {
        byte_buffer file = kind < 2 ? small_png(kind) : small_jpeg(kind == 3, 0);
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
        int prefix = trial % 3;
        if (prefix == 1 && len >= 8)
            memcpy(buf, png_sig, 8);
        if (prefix == 2 && len >= 3)
            memcpy(buf, jpeg_sig, 3);
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
        cmocka_unit_test(test_truncated_fixtures),
        cmocka_unit_test(test_corrupted_bytes),
        cmocka_unit_test(test_random_garbage),
        cmocka_unit_test(test_header_dimensions),
        cmocka_unit_test(test_extreme_aspect_ratio),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
