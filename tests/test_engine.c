/* The engine options as an application sees them: values checked, what an
 * encoder runs on described, requests the build or the CPU cannot meet
 * refused with a message, every engine giving the same embeddings in F32,
 * and BF16 within its documented tolerance of the reference.
 * LIBCLIP_EXPECT_BF16=unsupported (a ctest run with oneDNN limited to AVX2)
 * asks for the refusal instead. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, sysconf */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "libclip.h"
#include "support/golden.h"
#include "support/test_util.h"
#include "support/tiny_model.h"

#define MAX_DIM 64

typedef struct fixture {
    char *dir; /* a self-made HF checkpoint */
    int onednn_built;
    int bf16; /* this machine runs BF16 (oneDNN built, native bf16) */
} fixture;

/* BF16's tolerance, per row against the F32 reference: measured 0.99994 at
 * worst on the fixtures' models (docs/api.md). */
#define BF16_MIN_COSINE 0.9999

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = make_temp_dir();
    tiny_spec spec = tiny_spec_default();
    tiny_write_hf(f->dir, &spec, "F32");
    f->onednn_built = strstr(lclip_build_info(), "engines=cblas,onednn") != NULL;
    lclip_options opts;
    lclip_options_init(&opts);
    opts.precision = LCLIP_PRECISION_BF16;
    lclip_image_encoder *enc;
    f->bf16 = lclip_image_encoder_open(f->dir, &opts, &enc) == LCLIP_OK;
    lclip_image_encoder_close(f->bf16 ? enc : NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    rm_tree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

static lclip_status open_image(const char *dir, int engine, int precision, int threads, lclip_image_encoder **enc)
{
    lclip_options opts;
    lclip_options_init(&opts);
    opts.engine = engine;
    opts.precision = precision;
    opts.n_threads = threads;
    return lclip_image_encoder_open(dir, &opts, enc);
}

static void test_values_outside_the_enums_are_refused(void **state)
{
    fixture *f = *state;
    lclip_image_encoder *enc = (lclip_image_encoder *)&enc;
    assert_int_equal(open_image(f->dir, 3, LCLIP_PRECISION_F32, 0, &enc), LCLIP_E_INVALID_ARGUMENT);
    assert_null(enc);
    assert_non_null(strstr(lclip_last_error(), "engine 3"));
    assert_int_equal(open_image(f->dir, LCLIP_ENGINE_AUTO, -1, 0, &enc), LCLIP_E_INVALID_ARGUMENT);
    assert_non_null(strstr(lclip_last_error(), "precision -1"));
    assert_string_equal(lclip_image_encoder_describe(NULL), "");
    assert_string_equal(lclip_text_encoder_describe(NULL), "");
}

/* "key=value" fields, the engine first. */
static void test_describe_says_what_runs(void **state)
{
    fixture *f = *state;
    lclip_image_encoder *enc;
    assert_int_equal(open_image(f->dir, LCLIP_ENGINE_CBLAS, LCLIP_PRECISION_F32, 2, &enc), LCLIP_OK);
    const char *about = lclip_image_encoder_describe(enc);
    assert_true(strncmp(about, "engine=cblas precision=f32 blas=", 32) == 0);
    assert_non_null(strstr(about, " kernels="));
    assert_non_null(strstr(about, " threads=2"));
    lclip_image_encoder_close(enc);

    lclip_text_encoder *text;
    lclip_options opts;
    lclip_options_init(&opts);
    assert_int_equal(lclip_text_encoder_open(f->dir, &opts, &text), LCLIP_OK);
    about = lclip_text_encoder_describe(text);
    assert_true(strncmp(about, f->onednn_built ? "engine=onednn" : "engine=cblas", 12) == 0 ||
                strncmp(about, "engine=cblas", 12) == 0); /* AUTO may fall back on a CPU oneDNN cannot serve */
    lclip_text_encoder_close(text);
}

/* Without oneDNN in the build, ONEDNN and BF16 say what is missing. */
static void test_requests_the_build_cannot_meet(void **state)
{
    fixture *f = *state;
    if (f->onednn_built)
        skip();
    lclip_image_encoder *enc;
    assert_int_equal(open_image(f->dir, LCLIP_ENGINE_ONEDNN, LCLIP_PRECISION_F32, 0, &enc), LCLIP_E_UNSUPPORTED);
    assert_non_null(strstr(lclip_last_error(), "built without oneDNN"));
    assert_int_equal(open_image(f->dir, LCLIP_ENGINE_AUTO, LCLIP_PRECISION_BF16, 0, &enc), LCLIP_E_UNSUPPORTED);
    assert_non_null(strstr(lclip_last_error(), "precision BF16"));
    assert_int_equal(open_image(f->dir, LCLIP_ENGINE_CBLAS, LCLIP_PRECISION_BF16, 0, &enc), LCLIP_E_UNSUPPORTED);
}

/* The self-made model's towers on every engine and thread count this
 * build has: F32 agrees with the CBLAS to float rounding. */
static void encode_pixels(lclip_image_encoder *enc, float *out, size_t n)
{
    size_t size = (size_t)lclip_image_encoder_image_size(enc), plane = 3 * size * size;
    float *pixels = malloc(n * plane * sizeof *pixels);
    for (size_t i = 0; i < n * plane; i++)
        pixels[i] = (float)sin(0.37 * (double)i);
    assert_int_equal(lclip_image_encode_pixels(enc, pixels, n, out), LCLIP_OK);
    free(pixels);
}

static void engines_agree(const fixture *f, size_t n)
{
    float *want = malloc(n * MAX_DIM * sizeof *want), *got = malloc(n * MAX_DIM * sizeof *got);
    lclip_image_encoder *enc;
    assert_int_equal(open_image(f->dir, LCLIP_ENGINE_CBLAS, LCLIP_PRECISION_F32, 0, &enc), LCLIP_OK);
    size_t dim = lclip_image_encoder_dim(enc);
    assert_true(dim <= MAX_DIM);
    encode_pixels(enc, want, n);
    lclip_image_encoder_close(enc);
    const int engines[2] = {LCLIP_ENGINE_AUTO, LCLIP_ENGINE_ONEDNN}, threads[4] = {0, 1, 2, 3};
    for (int e = 0; e < (f->onednn_built ? 2 : 1); e++)
        for (int t = 0; t < 4; t++) {
            assert_int_equal(open_image(f->dir, engines[e], LCLIP_PRECISION_F32, threads[t], &enc), LCLIP_OK);
            encode_pixels(enc, got, n);
            for (size_t i = 0; i < n * dim; i++)
                if (fabsf(got[i] - want[i]) > 1e-5f)
                    fail_msg("%zu images, %s: element %zu is %g, the CBLAS gives %g", n,
                             lclip_image_encoder_describe(enc), i, (double)got[i], (double)want[i]);
            lclip_image_encoder_close(enc);
        }
    free(got);
    free(want);
}

/* 5 tokens per image: 25 rows go by columns; 150 by columns in two row
 * chunks on 3 threads (50 rows per thread, under 64), by rows on 2 (75);
 * 500 by rows. */
static void test_engines_agree(void **state)
{
    engines_agree(*state, 5);
    engines_agree(*state, 30);
    engines_agree(*state, 100);
}

/* 600 texts of 8 tokens go in two passes of 2400 rows: oneDNN's teams of 2
 * and 3 share them by rows (1200 and 800 each: the activation and the
 * residual sum fused, the column slices viewing one packed copy). */
static void test_engines_agree_on_long_text_passes(void **state)
{
    fixture *f = *state;
    enum { N = 600, CONTEXT = 8 };
    int32_t *tokens = malloc(N * CONTEXT * sizeof *tokens);
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < CONTEXT; j++) /* the largest id, the end token, last */
            tokens[i * CONTEXT + j] = j == CONTEXT - 1 ? 99 : (int32_t)(1 + (i * 7 + j * 13) % 90);
    float *want = malloc(N * MAX_DIM * sizeof *want), *got = malloc(N * MAX_DIM * sizeof *got);
    lclip_options opts;
    lclip_options_init(&opts);
    opts.engine = LCLIP_ENGINE_CBLAS;
    lclip_text_encoder *enc;
    assert_int_equal(lclip_text_encoder_open(f->dir, &opts, &enc), LCLIP_OK);
    assert_int_equal(lclip_text_encoder_context_length(enc), CONTEXT);
    size_t dim = lclip_text_encoder_dim(enc);
    assert_int_equal(lclip_text_encode_tokens(enc, tokens, N, want), LCLIP_OK);
    lclip_text_encoder_close(enc);
    for (int threads = 0; f->onednn_built && threads <= 3; threads++) {
        opts.engine = LCLIP_ENGINE_ONEDNN;
        opts.n_threads = threads;
        assert_int_equal(lclip_text_encoder_open(f->dir, &opts, &enc), LCLIP_OK);
        assert_int_equal(lclip_text_encode_tokens(enc, tokens, N, got), LCLIP_OK);
        for (size_t i = 0; i < N * dim; i++)
            if (fabsf(got[i] - want[i]) > 1e-5f)
                fail_msg("%s: element %zu is %g, the CBLAS gives %g", lclip_text_encoder_describe(enc), i,
                         (double)got[i], (double)want[i]);
        lclip_text_encoder_close(enc);
    }
    free(got);
    free(want);
    free(tokens);
}

static double seconds(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* A stopwatch of wall and process CPU time: what ran since one_core_start
 * used at most one core. */
typedef struct stopwatch {
    double wall, cpu;
} stopwatch;

static stopwatch one_core_start(void)
{
    return (stopwatch){seconds(CLOCK_MONOTONIC), seconds(CLOCK_PROCESS_CPUTIME_ID)};
}

static void assert_one_core_since(stopwatch start, const char *what)
{
    double wall = seconds(CLOCK_MONOTONIC) - start.wall, cpu = seconds(CLOCK_PROCESS_CPUTIME_ID) - start.cpu;
    print_message("  n_threads = 1, %s: %.1f ms of CPU time in %.1f ms\n", what, 1e3 * cpu, 1e3 * wall);
    assert_true(cpu <= 1.1 * wall + 0.002);
}

/* The second open of path on n_threads = 1 (the first puts the file in the
 * page cache and makes oneDNN's kernels); the encoder is left open. */
static lclip_image_encoder *open_on_one_core(const char *path, const char *what)
{
    lclip_image_encoder *enc;
    assert_int_equal(open_image(path, LCLIP_ENGINE_ONEDNN, LCLIP_PRECISION_F32, 1, &enc), LCLIP_OK);
    lclip_image_encoder_close(enc);
    stopwatch start = one_core_start();
    assert_int_equal(open_image(path, LCLIP_ENGINE_ONEDNN, LCLIP_PRECISION_F32, 1, &enc), LCLIP_OK);
    assert_one_core_since(start, what);
    return enc;
}

/* n_threads = 1 is one thread, as docs/api.md promises a server running a
 * request per core: the process's CPU time while an encoder opens (packing
 * its weights) and while it encodes stays within the wall time. (oneDNN's
 * OpenMP threads used every core for both before.) A ViT of 4 x 256 wide
 * layers over 197 tokens, so that oneDNN has work to share out. */
static void test_one_thread_is_one_core(void **state)
{
    fixture *f = *state;
    if (!f->onednn_built || sysconf(_SC_NPROCESSORS_ONLN) < 2)
        skip();
    char *dir = make_temp_dir();
    tiny_spec spec = tiny_spec_default();
    spec.vision_width = 256;
    spec.vision_heads = 4;
    spec.vision_mlp = 1024;
    spec.vision_layers = 4;
    spec.image_size = 224;
    spec.patch_size = 16;
    tiny_write_hf(dir, &spec, "F32");
    lclip_image_encoder *enc = open_on_one_core(dir, "open (packing)");
    enum { N = 4 };
    float out[N * MAX_DIM];
    encode_pixels(enc, out, N); /* primitives made, buffers touched */
    stopwatch start = one_core_start();
    encode_pixels(enc, out, N);
    assert_one_core_since(start, "encode");
    lclip_image_encoder_close(enc);

    /* A ResNet's convolutions: oneDNN packs their weights on every OpenMP
     * thread it has (RN50 took 820 ms of CPU time in 610 when it did). */
    tiny_resnet resnet = tiny_resnet_default();
    resnet.width = 64;
    resnet.image_size = 224;
    st_file file;
    tiny_build_resnet(&spec, &resnet, &file);
    char *weights = join_path(dir, "resnet.safetensors");
    st_write(weights, &file, 0, SIZE_MAX);
    st_file_free(&file);
    lclip_image_encoder_close(open_on_one_core(weights, "open of a ResNet"));
    free(weights);
    rm_tree(dir);
    free(dir);
}

/* Per-row cosine of got against ref, both [rows][dim]: the worst. */
static double worst_cosine(const float *got, const float *ref, size_t rows, size_t dim)
{
    double worst = 1.0;
    for (size_t r = 0; r < rows; r++) {
        double dot = 0, gg = 0, rr = 0;
        for (size_t d = 0; d < dim; d++) {
            dot += (double)got[r * dim + d] * ref[r * dim + d];
            gg += (double)got[r * dim + d] * got[r * dim + d];
            rr += (double)ref[r * dim + d] * ref[r * dim + d];
        }
        worst = fmin(worst, dot / sqrt(gg * rr));
    }
    return worst;
}

/* BF16 where the CPU has it, refused with the reason where it has not. */
static void test_bf16_runs_or_says_why_not(void **state)
{
    fixture *f = *state;
    const char *expect = getenv("LIBCLIP_EXPECT_BF16");
    if (expect && strcmp(expect, "unsupported") == 0 && f->bf16)
        fail_msg("BF16 opened, but this run expects it refused: %s", lclip_build_info());
    lclip_image_encoder *enc;
    lclip_status s = open_image(f->dir, LCLIP_ENGINE_AUTO, LCLIP_PRECISION_BF16, 0, &enc);
    if (!f->bf16) {
        assert_int_equal(s, LCLIP_E_UNSUPPORTED);
        print_message("  BF16 refused: %s\n", lclip_last_error());
        assert_true(strstr(lclip_last_error(), "AVX512-BF16") || strstr(lclip_last_error(), "oneDNN"));
        return;
    }
    assert_int_equal(s, LCLIP_OK);
    const char *about = lclip_image_encoder_describe(enc);
    assert_non_null(strstr(about, "engine=onednn"));
    assert_non_null(strstr(about, "precision=bf16"));
    enum { N = 5 };
    float want[N * MAX_DIM], got[N * MAX_DIM];
    size_t dim = lclip_image_encoder_dim(enc);
    encode_pixels(enc, got, N);
    lclip_image_encoder_close(enc);
    assert_int_equal(open_image(f->dir, LCLIP_ENGINE_CBLAS, LCLIP_PRECISION_F32, 0, &enc), LCLIP_OK);
    encode_pixels(enc, want, N);
    lclip_image_encoder_close(enc);
    double worst = worst_cosine(got, want, N, dim);
    print_message("  BF16 self-made model: worst cosine %.6f\n", worst);
    assert_true(worst >= BF16_MIN_COSINE);
}

/* The fixtures' models in BF16 against the reference's embeddings, images
 * and texts, through a team and without. */
static void test_bf16_against_the_reference(void **state)
{
    fixture *f = *state;
    const char *fixtures = fixtures_dir();
    if (!f->bf16 || !fixtures)
        skip();
    const char *models[2] = {"tiny-quickgelu", "tiny-gelu"};
    size_t n_images;
    float *pixels = golden_pixels(fixtures, 32, &n_images);
    int32_t *tokens = golden_text_tokens(fixtures);
    for (int m = 0; m < 2; m++)
        for (int threads = 0; threads <= 2; threads += 2) {
            char path[1024], relative[256];
            snprintf(path, sizeof path, "%s/models/%s/hf", fixtures, models[m]);
            lclip_options opts;
            lclip_options_init(&opts);
            opts.precision = LCLIP_PRECISION_BF16;
            opts.n_threads = threads;
            opts.normalize = 0;
            lclip_image_encoder *image;
            lclip_text_encoder *text;
            assert_int_equal(lclip_image_encoder_open(path, &opts, &image), LCLIP_OK);
            assert_int_equal(lclip_text_encoder_open(path, &opts, &text), LCLIP_OK);
            size_t dim = lclip_image_encoder_dim(image);
            float *got = malloc(GOLDEN_TEXTS * dim * sizeof *got);
            assert_int_equal(lclip_image_encode_pixels(image, pixels, n_images, got), LCLIP_OK);
            snprintf(relative, sizeof relative, "golden/%s/image_embeds.f32", models[m]);
            float *ref = golden_read(fixtures, relative, n_images * dim, sizeof(float));
            double worst_image = worst_cosine(got, ref, n_images, dim);
            free(ref);
            assert_int_equal(lclip_text_encode_tokens(text, tokens, GOLDEN_TEXTS, got), LCLIP_OK);
            snprintf(relative, sizeof relative, "golden/%s/text_embeds.f32", models[m]);
            ref = golden_read(fixtures, relative, GOLDEN_TEXTS * dim, sizeof(float));
            double worst_text = worst_cosine(got, ref, GOLDEN_TEXTS, dim);
            free(ref);
            print_message("  %s, %d threads, BF16: worst cosine to the reference: images %.6f, texts %.6f\n",
                          models[m], threads, worst_image, worst_text);
            assert_true(worst_image >= BF16_MIN_COSINE && worst_text >= BF16_MIN_COSINE);
            free(got);
            lclip_text_encoder_close(text);
            lclip_image_encoder_close(image);
        }
    free(tokens);
    free(pixels);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_outside_the_enums_are_refused),
        cmocka_unit_test(test_describe_says_what_runs),
        cmocka_unit_test(test_requests_the_build_cannot_meet),
        cmocka_unit_test(test_engines_agree),
        cmocka_unit_test(test_engines_agree_on_long_text_passes),
        cmocka_unit_test(test_one_thread_is_one_core),
        cmocka_unit_test(test_bf16_runs_or_says_why_not),
        cmocka_unit_test(test_bf16_against_the_reference),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
