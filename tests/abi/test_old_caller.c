/* A program built against libclip 0.1.0, run on this library: compiled with
 * 0.1.0's libclip.h as its only libclip header (tests/abi/v0.1.0), linked
 * against this build's libclip.so. Whatever 0.1.0 promised it must still
 * get; check_old_binary.sh checks that it needs only 0.1.0's symbols. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "libclip.h"
#include "support/test_util.h"
#include "support/tiny_model.h"

#if LCLIP_VERSION_MAJOR != 0 || LCLIP_VERSION_MINOR != 1 || defined(LCLIP_VERSION_NUMBER)
#error "this test must see 0.1.0's libclip.h (tests/abi/v0.1.0), not the current one"
#endif

#define DIM 16  /* tiny_spec_default().embed_dim */
#define SIZE 16 /* its image_size */
#define PIXELS (3 * SIZE * SIZE)
#define CONTEXT 8
#define W 20
#define H 12

/* ---- a PNG in memory (zlib only: libpng is libclip's business) ---------- */

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8),
    p[3] = (unsigned char)v;
}

static size_t put_chunk(unsigned char *out, const char *type, const unsigned char *data, size_t len)
{
    put32(out, (uint32_t)len);
    memcpy(out + 4, type, 4);
    if (len)
        memcpy(out + 8, data, len);
    put32(out + 8 + len, (uint32_t)crc32(0L, out + 4, (uInt)(len + 4)));
    return len + 12;
}

/* An 8-bit RGB PNG of rgb[h][w][3] (to free). */
static unsigned char *make_png(const uint8_t *rgb, int w, int h, size_t *size)
{
    size_t raw_len = (size_t)h * (1 + 3 * (size_t)w);
    unsigned char *raw = malloc(raw_len);
    for (int y = 0; y < h; y++) {
        raw[(size_t)y * (1 + 3 * (size_t)w)] = 0; /* filter: none */
        memcpy(raw + (size_t)y * (1 + 3 * (size_t)w) + 1, rgb + (size_t)y * 3 * (size_t)w, 3 * (size_t)w);
    }
    uLongf z_len = compressBound((uLong)raw_len);
    unsigned char *z = malloc(z_len);
    assert_int_equal(compress(z, &z_len, raw, (uLong)raw_len), Z_OK);
    unsigned char *png = malloc(8 + 25 + 12 + z_len + 12), ihdr[13] = {0};
    memcpy(png, "\x89PNG\r\n\x1a\n", 8);
    put32(ihdr, (uint32_t)w);
    put32(ihdr + 4, (uint32_t)h);
    ihdr[8] = 8, ihdr[9] = 2; /* depth 8, truecolour */
    size_t n = 8;
    n += put_chunk(png + n, "IHDR", ihdr, sizeof ihdr);
    n += put_chunk(png + n, "IDAT", z, z_len);
    n += put_chunk(png + n, "IEND", NULL, 0);
    free(z);
    free(raw);
    *size = n;
    return png;
}

/* ---- fixture: a self-made model and two images in a temp dir ------------- */

typedef struct fixture {
    char *dir;
    char *png[2];
    uint8_t rgb[2][H * W * 3];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = make_temp_dir();
    tiny_spec spec = tiny_spec_default();
    tiny_write_hf(f->dir, &spec, "F32");
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < H * W * 3; i++)
            f->rgb[k][i] = (uint8_t)((i * (7 + 6 * k) + 31 * k) % 251);
        size_t size;
        unsigned char *png = make_png(f->rgb[k], W, H, &size);
        char name[16];
        snprintf(name, sizeof name, "%d.png", k);
        f->png[k] = join_path(f->dir, name);
        write_bytes_file(f->png[k], png, size);
        free(png);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    rm_tree(f->dir);
    free(f->dir);
    free(f->png[0]);
    free(f->png[1]);
    free(f);
    return 0;
}

static double norm(const float *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)v[i] * v[i];
    return sqrt(s);
}

static void assert_close(const float *a, const float *b, size_t n, double tolerance)
{
    for (size_t i = 0; i < n; i++)
        assert_float_equal(a[i], b[i], tolerance);
}

static lclip_image_encoder *open_image(const fixture *f, const lclip_options *opts)
{
    lclip_image_encoder *enc;
    if (lclip_image_encoder_open(f->dir, opts, &enc) != LCLIP_OK)
        fail_msg("%s", lclip_last_error());
    return enc;
}

static lclip_text_encoder *open_text(const char *dir, const lclip_options *opts)
{
    lclip_text_encoder *enc;
    if (lclip_text_encoder_open(dir, opts, &enc) != LCLIP_OK)
        fail_msg("%s", lclip_last_error());
    return enc;
}

/* ---- tests ---------------------------------------------------------------- */

/* The exported lclip_options_init is frozen to 0.1.0's layout: an old
 * binary's struct is 72 bytes and whatever follows it is the caller's. */
static void test_init_fills_exactly_the_0_1_0_struct(void **state)
{
    (void)state;
    struct {
        lclip_options opts;
        unsigned char guard[64];
    } buf;
    memset(&buf, 0xa5, sizeof buf);
    lclip_options_init(&buf.opts);
    for (size_t i = 0; i < sizeof buf.guard; i++)
        assert_int_equal(buf.guard[i], 0xa5);
    assert_int_equal(buf.opts.struct_size, sizeof buf.opts);
#if UINTPTR_MAX == UINT64_MAX
    assert_int_equal(sizeof buf.opts, 72);
#endif
    /* 0.1.0's documented defaults */
    assert_int_equal(buf.opts.n_threads, 0);
    assert_int_equal(buf.opts.normalize, 1);
    assert_true(buf.opts.max_header_bytes > 0);
    assert_true(buf.opts.max_tensor_count > 0);
    assert_null(buf.opts.vocab_path);
    assert_int_equal(buf.opts.truncate_text, 1);
    assert_true(buf.opts.max_text_bytes > 0);
    assert_true(buf.opts.max_image_pixels > 0);
    assert_int_equal(buf.opts.exif_orientation, 0);
    lclip_options_init(NULL); /* 0.1.0: a no-op */
}

/* A newer library may return codes 0.1.0 did not list; they still read as
 * real messages, and the library says it is a newer 0.x. */
static void test_status_strings_and_version(void **state)
{
    (void)state;
    const char *unknown = lclip_strerror((lclip_status)9999);
    for (int s = 0; s <= 7; s++) {
        const char *text = lclip_strerror((lclip_status)s);
        assert_non_null(text);
        assert_string_not_equal(text, unknown);
        for (int t = 0; t < s; t++)
            assert_string_not_equal(text, lclip_strerror((lclip_status)t));
    }
    int major = -1, minor = -1;
    assert_int_equal(sscanf(lclip_version(), "%d.%d", &major, &minor), 2);
    assert_int_equal(major, 0);
    assert_true(minor >= 1);
    lclip_image_encoder *enc;
    assert_int_equal(lclip_image_encoder_open(NULL, NULL, &enc), LCLIP_E_INVALID_ARGUMENT);
    assert_true(strlen(lclip_last_error()) > 0);
}

/* Every 0.1.0 image function, with 0.1.0-sized options; the inputs' routes
 * (file, memory, pixels, tensors) agree and give unit vectors by default. */
static void test_image_entry_points(void **state)
{
    fixture *f = *state;
    lclip_options opts;
    lclip_options_init(&opts);
    lclip_image_encoder *enc = open_image(f, &opts);
    assert_int_equal(lclip_image_encoder_dim(enc), DIM);
    assert_int_equal(lclip_image_encoder_image_size(enc), SIZE);
    assert_float_equal(lclip_image_encoder_logit_scale(enc), expf(tiny_spec_default().logit_scale), 1e-4);

    float chw[2 * PIXELS], file[DIM], files[2 * DIM], memory[DIM], rgb[DIM], pixels[2 * DIM];
    assert_int_equal(lclip_image_preprocess_file(enc, f->png[0], chw), LCLIP_OK);
    assert_int_equal(lclip_image_preprocess_file(enc, f->png[1], chw + PIXELS), LCLIP_OK);
    assert_int_equal(lclip_image_encode_file(enc, f->png[0], file), LCLIP_OK);
    const char *paths[2] = {f->png[0], f->png[1]};
    assert_int_equal(lclip_image_encode_files(enc, paths, 2, files), LCLIP_OK);
    size_t size;
    void *png = read_whole_file(f->png[0], &size);
    assert_int_equal(lclip_image_encode_memory(enc, png, size, memory), LCLIP_OK);
    free(png);
    assert_int_equal(lclip_image_encode_rgb(enc, f->rgb[0], W, H, 3 * W, rgb), LCLIP_OK);
    assert_int_equal(lclip_image_encode_pixels(enc, chw, 2, pixels), LCLIP_OK);

    assert_float_equal(norm(file, DIM), 1.0, 1e-5);
    assert_close(files, file, DIM, 1e-6);
    assert_close(memory, file, DIM, 1e-6);
    assert_close(rgb, file, DIM, 1e-6);
    assert_close(pixels, files, 2 * DIM, 1e-6);
    assert_int_equal(lclip_image_encode_file(enc, "/nonexistent/libclip.png", file), LCLIP_E_IO);
    lclip_image_encoder_close(enc);
}

/* The text functions that need no vocabulary (self-made checkpoints have
 * none), and the error that says so. */
static void test_text_entry_points_without_vocabulary(void **state)
{
    fixture *f = *state;
    lclip_text_encoder *enc = open_text(f->dir, NULL);
    assert_int_equal(lclip_text_encoder_dim(enc), DIM);
    assert_int_equal(lclip_text_encoder_context_length(enc), CONTEXT);
    assert_float_equal(lclip_text_encoder_logit_scale(enc), expf(tiny_spec_default().logit_scale), 1e-4);
    int32_t ids[2 * CONTEXT] = {1, 5, 17, 99, 0, 0, 0, 0, 1, 42, 99};
    float out[2 * DIM];
    assert_int_equal(lclip_text_encode_tokens(enc, ids, 2, out), LCLIP_OK);
    assert_float_equal(norm(out, DIM), 1.0, 1e-5);
    size_t n;
    assert_int_equal(lclip_tokenize(enc, "a cat", ids, CONTEXT, &n), LCLIP_E_UNSUPPORTED);
    assert_int_equal(lclip_text_encode(enc, "a cat", out), LCLIP_E_UNSUPPORTED);
    const char *texts[1] = {"a cat"};
    assert_int_equal(lclip_text_encode_batch(enc, texts, 1, out), LCLIP_E_UNSUPPORTED);
    lclip_text_encoder_close(enc);
}

/* Strings through a vocabulary named by vocab_path, and the text limits.
 * OpenAI's vocabulary comes from the reference fixtures (skipped without). */
static void test_text_strings_and_limits(void **state)
{
    (void)state;
    const char *fixtures = fixtures_dir();
    if (!fixtures)
        skip();
    char *dir = make_temp_dir(), *vocab = join_path(fixtures, "bpe_simple_vocab_16e6.txt.gz");
    tiny_spec spec = tiny_spec_default();
    spec.vocab_size = 49408; /* room for the end token 49407 */
    tiny_write_hf(dir, &spec, "F32");
    lclip_options opts;
    lclip_options_init(&opts);
    opts.vocab_path = vocab;
    lclip_text_encoder *enc = open_text(dir, &opts);
    int32_t ids[CONTEXT];
    size_t n;
    float one[DIM], two[2 * DIM], tokens[DIM];
    assert_int_equal(lclip_tokenize(enc, "a photo of a cat", ids, CONTEXT, &n), LCLIP_OK);
    assert_int_equal(n, 7); /* start, 5 words, end */
    assert_int_equal(ids[0], 49406);
    assert_int_equal(ids[n - 1], 49407);
    assert_int_equal(lclip_text_encode(enc, "a photo of a cat", one), LCLIP_OK);
    const char *texts[2] = {"a diagram", "a photo of a cat"};
    assert_int_equal(lclip_text_encode_batch(enc, texts, 2, two), LCLIP_OK);
    assert_int_equal(lclip_text_encode_tokens(enc, ids, 1, tokens), LCLIP_OK);
    assert_close(two + DIM, one, DIM, 1e-6);
    assert_close(tokens, one, DIM, 1e-6);
    /* truncate_text 1 (default): cut to the context like the reference */
    assert_int_equal(lclip_tokenize(enc, "one two three four five six seven eight nine", ids, CONTEXT, &n), LCLIP_OK);
    assert_int_equal(n, CONTEXT);
    lclip_text_encoder_close(enc);

    opts.max_text_bytes = 16;
    opts.truncate_text = 0;
    enc = open_text(dir, &opts);
    assert_int_equal(lclip_tokenize(enc, "a photo of a cat", ids, CONTEXT, &n), LCLIP_OK); /* exactly 16 */
    assert_int_equal(lclip_text_encode(enc, "a photo of a cat!", one), LCLIP_E_TOO_LARGE);
    assert_int_equal(lclip_tokenize(enc, "1 2 3 4 5 6 7", ids, CONTEXT, &n), LCLIP_E_TOO_LARGE); /* 7 + 2 tokens */
    lclip_text_encoder_close(enc);
    free(vocab);
    rm_tree(dir);
    free(dir);
}

/* Options an old binary sets in its 72-byte struct reach the new library. */
static void test_options_are_honoured(void **state)
{
    fixture *f = *state;
    lclip_options opts;
    lclip_options_init(&opts);
    float chw[2 * PIXELS], unit[2 * DIM], raw[2 * DIM], threaded[2 * DIM];
    lclip_image_encoder *enc = open_image(f, &opts);
    assert_int_equal(lclip_image_preprocess_file(enc, f->png[0], chw), LCLIP_OK);
    assert_int_equal(lclip_image_preprocess_file(enc, f->png[1], chw + PIXELS), LCLIP_OK);
    assert_int_equal(lclip_image_encode_pixels(enc, chw, 2, unit), LCLIP_OK);
    lclip_image_encoder_close(enc);

    /* normalize 0: the raw projection, the same direction */
    opts.normalize = 0;
    enc = open_image(f, &opts);
    assert_int_equal(lclip_image_encode_pixels(enc, chw, 2, raw), LCLIP_OK);
    lclip_image_encoder_close(enc);
    for (int k = 0; k < 2; k++) {
        double length = norm(raw + k * DIM, DIM);
        assert_true(fabs(length - 1.0) > 1e-3);
        for (int d = 0; d < DIM; d++)
            assert_float_equal(raw[k * DIM + d] / length, unit[k * DIM + d], 1e-5);
    }

    /* n_threads 2: libclip's own threads, the same result */
    opts.normalize = 1;
    opts.n_threads = 2;
    enc = open_image(f, &opts);
    assert_int_equal(lclip_image_encode_pixels(enc, chw, 2, threaded), LCLIP_OK);
    lclip_image_encoder_close(enc);
    assert_close(threaded, unit, 2 * DIM, 1e-5);
    lclip_text_encoder *text = open_text(f->dir, &opts);
    int32_t ids[2 * CONTEXT] = {1, 5, 17, 99, 0, 0, 0, 0, 1, 42, 99};
    assert_int_equal(lclip_text_encode_tokens(text, ids, 2, threaded), LCLIP_OK);
    lclip_text_encoder_close(text);
    opts.n_threads = 0;
    text = open_text(f->dir, &opts);
    assert_int_equal(lclip_text_encode_tokens(text, ids, 2, unit), LCLIP_OK);
    lclip_text_encoder_close(text);
    assert_close(threaded, unit, 2 * DIM, 1e-5);

    /* the limits */
    opts.max_image_pixels = W * H - 1;
    enc = open_image(f, &opts);
    assert_int_equal(lclip_image_encode_file(enc, f->png[0], raw), LCLIP_E_TOO_LARGE);
    lclip_image_encoder_close(enc);
    lclip_options_init(&opts);
    opts.max_tensor_count = 3;
    assert_int_equal(lclip_image_encoder_open(f->dir, &opts, &enc), LCLIP_E_TOO_LARGE);
    assert_null(enc);
    lclip_options_init(&opts);
    opts.max_header_bytes = 64;
    assert_int_equal(lclip_text_encoder_open(f->dir, &opts, &text), LCLIP_E_TOO_LARGE);
    assert_null(text);
    lclip_options_init(&opts);
    opts.n_threads = LCLIP_MAX_THREADS + 1;
    assert_int_equal(lclip_image_encoder_open(f->dir, &opts, &enc), LCLIP_E_INVALID_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_fills_exactly_the_0_1_0_struct),
        cmocka_unit_test(test_status_strings_and_version),
        cmocka_unit_test(test_image_entry_points),
        cmocka_unit_test(test_text_entry_points_without_vocabulary),
        cmocka_unit_test(test_text_strings_and_limits),
        cmocka_unit_test(test_options_are_honoured),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
