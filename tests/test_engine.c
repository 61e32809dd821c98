/* The engine options as an application sees them: values checked, what an
 * encoder runs on described, requests the build or the CPU cannot meet
 * refused with a message, and every engine giving the same embeddings. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "libclip.h"
#include "support/test_util.h"
#include "support/tiny_model.h"

#define MAX_DIM 64

typedef struct fixture {
    char *dir; /* a self-made HF checkpoint */
    int onednn_built;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = make_temp_dir();
    tiny_spec spec = tiny_spec_default();
    tiny_write_hf(f->dir, &spec, "F32");
    f->onednn_built = strstr(lclip_build_info(), "engines=cblas,onednn") != NULL;
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

/* The self-made model's image tower on every engine and thread count this
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

static void test_engines_agree(void **state)
{
    fixture *f = *state;
    enum { N = 5 };
    float want[N * MAX_DIM], got[N * MAX_DIM];
    lclip_image_encoder *enc;
    assert_int_equal(open_image(f->dir, LCLIP_ENGINE_CBLAS, LCLIP_PRECISION_F32, 0, &enc), LCLIP_OK);
    size_t dim = lclip_image_encoder_dim(enc);
    assert_true(dim <= MAX_DIM);
    encode_pixels(enc, want, N);
    lclip_image_encoder_close(enc);
    const int engines[2] = {LCLIP_ENGINE_AUTO, LCLIP_ENGINE_ONEDNN}, threads[3] = {0, 1, 3};
    for (int e = 0; e < (f->onednn_built ? 2 : 1); e++)
        for (int t = 0; t < 3; t++) {
            assert_int_equal(open_image(f->dir, engines[e], LCLIP_PRECISION_F32, threads[t], &enc), LCLIP_OK);
            encode_pixels(enc, got, N);
            for (size_t i = 0; i < N * dim; i++)
                if (fabsf(got[i] - want[i]) > 1e-5f)
                    fail_msg("%s: element %zu is %g, the CBLAS gives %g", lclip_image_encoder_describe(enc), i,
                             (double)got[i], (double)want[i]);
            lclip_image_encoder_close(enc);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_outside_the_enums_are_refused),
        cmocka_unit_test(test_describe_says_what_runs),
        cmocka_unit_test(test_requests_the_build_cannot_meet),
        cmocka_unit_test(test_engines_agree),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
