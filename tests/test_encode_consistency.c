/* What a user relies on beyond matching the reference: a batch gives what
 * one-by-one calls give, the thread count does not change results (and with
 * libclip's own threads a call repeats bit for bit), and
 * several threads encoding on one handle at once get the serial results. */
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

#include "libclip.h"
#include "support/golden.h"
#include "support/test_util.h"

#define N_IMAGES 13
#define N_TEXTS 40
#define CONTEXT 77
#define EMBED 32
#define PIXELS (3 * 32 * 32)

typedef struct inputs {
    float pixels[N_IMAGES * PIXELS];
    int32_t tokens[N_TEXTS * CONTEXT];
    char model[1024];
} inputs;

static int setup(void **state)
{
    const char *fixtures = fixtures_dir();
    if (!fixtures) {
        *state = NULL;
        return 0;
    }
    inputs *in = malloc(sizeof *in);
    size_t count;
    float *pixels = golden_pixels(fixtures, 32, &count);
    assert_int_equal(count, N_IMAGES);
    memcpy(in->pixels, pixels, sizeof in->pixels);
    free(pixels);
    int32_t *tokens = golden_text_tokens(fixtures);
    memcpy(in->tokens, tokens, sizeof in->tokens);
    free(tokens);
    snprintf(in->model, sizeof in->model, "%s/models/tiny-quickgelu/hf", fixtures);
    *state = in;
    return 0;
}

static int teardown(void **state)
{
    free(*state);
    return 0;
}

static void assert_close(const float *a, const float *b, size_t n, double limit, const char *what)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++)
        worst = fmax(worst, fabs((double)a[i] - b[i]));
    if (worst > limit)
        fail_msg("%s: max abs difference %.3g > %.3g", what, worst, limit);
}

static lclip_image_encoder *open_image(const char *model, int threads)
{
    lclip_options opts;
    lclip_options_init(&opts);
    opts.n_threads = threads;
    lclip_image_encoder *enc;
    assert_int_equal(lclip_image_encoder_open(model, &opts, &enc), LCLIP_OK);
    return enc;
}

static lclip_text_encoder *open_text(const char *model, int threads)
{
    lclip_options opts;
    lclip_options_init(&opts);
    opts.n_threads = threads;
    lclip_text_encoder *enc;
    assert_int_equal(lclip_text_encoder_open(model, &opts, &enc), LCLIP_OK);
    return enc;
}

static void test_batch_equals_one_by_one(void **state)
{
    inputs *in = *state;
    if (!in)
        skip();
    lclip_image_encoder *image = open_image(in->model, 0);
    lclip_text_encoder *text = open_text(in->model, 0);
    float batch[N_TEXTS * EMBED], single[N_TEXTS * EMBED];
    assert_int_equal(lclip_image_encode_pixels(image, in->pixels, N_IMAGES, batch), LCLIP_OK);
    for (int i = 0; i < N_IMAGES; i++)
        assert_int_equal(lclip_image_encode_pixels(image, in->pixels + i * PIXELS, 1, single + i * EMBED), LCLIP_OK);
    assert_close(batch, single, N_IMAGES * EMBED, 1e-6, "images batched vs one by one");
    /* mixed lengths: the golden texts run from empty to truncated */
    assert_int_equal(lclip_text_encode_tokens(text, in->tokens, N_TEXTS, batch), LCLIP_OK);
    for (int i = 0; i < N_TEXTS; i++)
        assert_int_equal(lclip_text_encode_tokens(text, in->tokens + i * CONTEXT, 1, single + i * EMBED), LCLIP_OK);
    assert_close(batch, single, N_TEXTS * EMBED, 1e-6, "texts batched vs one by one");
    lclip_text_encoder_close(text);
    lclip_image_encoder_close(image);
}

static void test_thread_count_does_not_change_results(void **state)
{
    inputs *in = *state;
    if (!in)
        skip();
    /* 0: the calling thread with the BLAS as it is; 2 and 3: libclip's own
     * team, 3 splitting the tiny model's columns unevenly; 8 more members
     * than the model has column blocks or heads, some with nothing to do. */
    static const int counts[] = {0, 1, 2, 3, 8};
    enum { N_COUNTS = sizeof counts / sizeof counts[0] };
    static float results[N_COUNTS][2][N_TEXTS * EMBED], again[2][N_TEXTS * EMBED];
    for (int t = 0; t < N_COUNTS; t++) {
        lclip_image_encoder *image = open_image(in->model, counts[t]);
        lclip_text_encoder *text = open_text(in->model, counts[t]);
        assert_int_equal(lclip_image_encode_pixels(image, in->pixels, N_IMAGES, results[t][0]), LCLIP_OK);
        assert_int_equal(lclip_text_encode_tokens(text, in->tokens, N_TEXTS, results[t][1]), LCLIP_OK);
        /* With a team, each member's share is fixed by n_threads, so a
         * second call gives the same bits, not just close ones. */
        if (counts[t] > 0) {
            assert_int_equal(lclip_image_encode_pixels(image, in->pixels, N_IMAGES, again[0]), LCLIP_OK);
            assert_int_equal(lclip_text_encode_tokens(text, in->tokens, N_TEXTS, again[1]), LCLIP_OK);
            if (memcmp(again[0], results[t][0], N_IMAGES * EMBED * sizeof(float)) != 0 ||
                memcmp(again[1], results[t][1], N_TEXTS * EMBED * sizeof(float)) != 0)
                fail_msg("n_threads %d: a second call gave different bits", counts[t]);
        }
        lclip_text_encoder_close(text);
        lclip_image_encoder_close(image);
    }
    for (int t = 1; t < N_COUNTS; t++) {
        char what[64];
        snprintf(what, sizeof what, "images, n_threads 0 vs %d", counts[t]);
        assert_close(results[0][0], results[t][0], N_IMAGES * EMBED, 1e-6, what);
        snprintf(what, sizeof what, "texts, n_threads 0 vs %d", counts[t]);
        assert_close(results[0][1], results[t][1], N_TEXTS * EMBED, 1e-6, what);
    }
}

typedef struct worker {
    pthread_t thread;
    lclip_image_encoder *image;
    lclip_text_encoder *text;
    const inputs *in;
    int seed;
    float images[N_IMAGES * EMBED];
    float texts[N_TEXTS * EMBED];
    int failures;
} worker;

/* Each worker encodes everything in its own order of batch sizes. */
static void *work(void *arg)
{
    worker *w = arg;
    for (int round = 0; round < 5; round++) {
        int step = 1 + (w->seed + round) % 7;
        for (int i = 0; i < N_IMAGES; i += step) {
            int n = i + step > N_IMAGES ? N_IMAGES - i : step;
            w->failures += lclip_image_encode_pixels(w->image, w->in->pixels + i * PIXELS, (size_t)n,
                                                     w->images + i * EMBED) != LCLIP_OK;
        }
        for (int i = 0; i < N_TEXTS; i += step) {
            int n = i + step > N_TEXTS ? N_TEXTS - i : step;
            w->failures += lclip_text_encode_tokens(w->text, w->in->tokens + i * CONTEXT, (size_t)n,
                                                    w->texts + i * EMBED) != LCLIP_OK;
        }
    }
    return NULL;
}

static void test_threads_sharing_one_handle_get_serial_results(void **state)
{
    inputs *in = *state;
    if (!in)
        skip();
    /* Each call runs its own team of 2: 4 calls at once, 8 threads. */
    lclip_image_encoder *image = open_image(in->model, 2);
    lclip_text_encoder *text = open_text(in->model, 2);
    float images[N_IMAGES * EMBED], texts[N_TEXTS * EMBED];
    assert_int_equal(lclip_image_encode_pixels(image, in->pixels, N_IMAGES, images), LCLIP_OK);
    assert_int_equal(lclip_text_encode_tokens(text, in->tokens, N_TEXTS, texts), LCLIP_OK);
    worker workers[4];
    for (int i = 0; i < 4; i++) {
        workers[i] = (worker){.image = image, .text = text, .in = in, .seed = i};
        assert_int_equal(pthread_create(&workers[i].thread, NULL, work, &workers[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(workers[i].thread, NULL), 0);
        assert_int_equal(workers[i].failures, 0);
        assert_close(workers[i].images, images, N_IMAGES * EMBED, 1e-6, "concurrent images");
        assert_close(workers[i].texts, texts, N_TEXTS * EMBED, 1e-6, "concurrent texts");
    }
    lclip_text_encoder_close(text);
    lclip_image_encoder_close(image);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_equals_one_by_one),
        cmocka_unit_test(test_thread_count_does_not_change_results),
        cmocka_unit_test(test_threads_sharing_one_handle_get_serial_results),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
