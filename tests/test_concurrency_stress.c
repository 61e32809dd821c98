/* Several threads sharing ONE image encoder and ONE text encoder, each
 * running a mixed stream of calls (single inputs and batches of different
 * sizes, every input kind, and failing calls in between) must get exactly
 * what serial calls give, and each thread must see its own error message.
 * CI also runs this under ThreadSanitizer (.ci/reliability).
 *
 * With the fixtures: tiny-quickgelu (HF layout, with its vocabulary), image
 * files and texts. Without: a self-made model, raw RGB and token ids only.
 * LCLIP_STRESS_THREADS / LCLIP_STRESS_ROUNDS override the load. */
#define _POSIX_C_SOURCE 200809L /* pthread barriers */
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
#include "support/tiny_model.h"

enum { N_RGB = 6, N_FILES_MAX = 13, N_TEXTS = 8, MAX_BATCH = 5, MAX_THREADS = 32 };

/* Rows batched and one-by-one differ by GEMM blocking only (about 1e-6
 * relative, fixtures/README.md); unit vectors, so an absolute bound. */
#define TOLERANCE 2e-5

static const char *const texts[N_TEXTS] = {
    "a photo of a cat", "a diagram", "two dogs playing in the snow at night", "",
    "caf\xc3\xa9 &amp; cr\xc3\xa8me br\xc3\xbb" "l\xc3\xa9" "e", "rocket", "an astronaut riding a horse on the moon",
    "\xe7\x8c\xab\xe3\x81\xae\xe5\x86\x99\xe7\x9c\x9f",
};

typedef struct rgb_image {
    uint8_t *pixels;
    int width, height;
} rgb_image;

typedef struct shared {
    char *tmp_dir;       /* self-made model, or NULL */
    int have_vocab;      /* text strings can be encoded */
    lclip_image_encoder *image;
    lclip_text_encoder *text;
    size_t image_dim, text_dim;
    int image_size, context;
    rgb_image rgb[N_RGB];
    char **files;        /* fixture images, or NULL */
    size_t n_files;
    float *pixels;       /* N_RGB preprocessed tensors: those of rgb[] via encode_pixels */
    int32_t *tokens;     /* N_TEXTS tokenized texts (or synthetic ids) */
    /* Serial results, one row per input. */
    float *ref_rgb, *ref_files, *ref_text, *ref_tokens;
    int threads, rounds;
    pthread_barrier_t start;
} shared;

typedef struct worker {
    shared *sh;
    pthread_t thread;
    unsigned seed;
    int calls, mismatches, bad_errors;
    char first_problem[256];
} worker;

static int env_int(const char *name, int fallback, int lo, int hi)
{
    const char *v = getenv(name);
    int n = v && *v ? atoi(v) : fallback;
    return n < lo ? lo : n > hi ? hi : n;
}

static void make_rgb(shared *sh)
{
    static const int sizes[N_RGB][2] = {{32, 32}, {17, 45}, {64, 20}, {3, 3}, {100, 90}, {31, 32}};
    for (int i = 0; i < N_RGB; i++) {
        rgb_image *im = &sh->rgb[i];
        im->width = sizes[i][0];
        im->height = sizes[i][1];
        size_t n = (size_t)im->width * (size_t)im->height * 3;
        im->pixels = malloc(n);
        assert_non_null(im->pixels);
        for (size_t k = 0; k < n; k++)
            im->pixels[k] = (uint8_t)((k * 2654435761u + (size_t)i * 977u) >> 7);
    }
}

static void open_encoders(shared *sh)
{
    const char *fixtures = fixtures_dir();
    char model[1024];
    if (fixtures) {
        snprintf(model, sizeof model, "%s/models/tiny-quickgelu/hf", fixtures);
        sh->have_vocab = 1;
        sh->files = golden_image_files(fixtures, &sh->n_files);
        if (sh->n_files > N_FILES_MAX)
            sh->n_files = N_FILES_MAX;
    } else {
        sh->tmp_dir = make_temp_dir();
        tiny_spec spec = tiny_spec_default();
        tiny_write_hf(sh->tmp_dir, &spec, "F16");
        snprintf(model, sizeof model, "%s", sh->tmp_dir);
    }
    assert_int_equal(lclip_image_encoder_open(model, NULL, &sh->image), LCLIP_OK);
    assert_int_equal(lclip_text_encoder_open(model, NULL, &sh->text), LCLIP_OK);
    sh->image_dim = lclip_image_encoder_dim(sh->image);
    sh->text_dim = lclip_text_encoder_dim(sh->text);
    sh->image_size = lclip_image_encoder_image_size(sh->image);
    sh->context = lclip_text_encoder_context_length(sh->text);
}

/* Serial reference rows, one call per input. */
static void compute_references(shared *sh)
{
    size_t plane = 3 * (size_t)sh->image_size * (size_t)sh->image_size;
    sh->ref_rgb = calloc(N_RGB, sh->image_dim * sizeof(float));
    sh->pixels = calloc(N_RGB, plane * sizeof(float));
    for (int i = 0; i < N_RGB; i++) {
        const rgb_image *im = &sh->rgb[i];
        assert_int_equal(lclip_image_encode_rgb(sh->image, im->pixels, im->width, im->height,
                                                (size_t)im->width * 3, sh->ref_rgb + i * sh->image_dim),
                         LCLIP_OK);
        /* Arbitrary but fixed tensors for encode_pixels. */
        for (size_t k = 0; k < plane; k++)
            sh->pixels[(size_t)i * plane + k] = (float)sin((double)(k + 1) * (i + 1) * 0.37);
    }
    sh->ref_files = calloc(sh->n_files ? sh->n_files : 1, sh->image_dim * sizeof(float));
    for (size_t i = 0; i < sh->n_files; i++)
        assert_int_equal(lclip_image_encode_file(sh->image, sh->files[i], sh->ref_files + i * sh->image_dim),
                         LCLIP_OK);
    sh->tokens = calloc(N_TEXTS, (size_t)sh->context * sizeof(int32_t));
    for (int i = 0; i < N_TEXTS; i++) {
        int32_t *ids = sh->tokens + (size_t)i * (size_t)sh->context;
        if (sh->have_vocab) {
            assert_int_equal(lclip_tokenize(sh->text, texts[i], ids, (size_t)sh->context, NULL), LCLIP_OK);
        } else {
            /* start-like id, a few ids, the largest id last (the pooled position) */
            int n = 2 + i % (sh->context - 2);
            for (int k = 0; k < n; k++)
                ids[k] = 1 + (k * 7 + i) % 90;
            ids[n] = 99;
        }
    }
    sh->ref_text = calloc(N_TEXTS, sh->text_dim * sizeof(float));
    sh->ref_tokens = calloc(N_TEXTS, sh->text_dim * sizeof(float));
    for (int i = 0; i < N_TEXTS; i++) {
        if (sh->have_vocab)
            assert_int_equal(lclip_text_encode(sh->text, texts[i], sh->ref_text + i * sh->text_dim), LCLIP_OK);
        assert_int_equal(lclip_text_encode_tokens(sh->text, sh->tokens + (size_t)i * (size_t)sh->context, 1,
                                                  sh->ref_tokens + i * sh->text_dim),
                         LCLIP_OK);
    }
}

static unsigned next_random(unsigned *state)
{
    *state = *state * 1103515245u + 12345u;
    return (*state >> 16) & 0x7fff;
}

static void note(worker *w, const char *fmt, ...)
{
    if (w->first_problem[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->first_problem, sizeof w->first_problem, fmt, ap);
    va_end(ap);
}

static void compare_rows(worker *w, const char *what, const float *got, const float *ref, size_t dim)
{
    double worst = 0;
    for (size_t d = 0; d < dim; d++)
        worst = fmax(worst, fabs((double)got[d] - (double)ref[d]));
    if (!(worst <= TOLERANCE)) {
        w->mismatches++;
        note(w, "%s differs from the serial result by %g", what, worst);
    }
}

/* A failing call in the middle of others: its status, its own message (the
 * missing path names this thread), and the output left as it was. */
static void failing_call(worker *w, float *out, size_t dim)
{
    shared *sh = w->sh;
    char missing[96];
    snprintf(missing, sizeof missing, "/nonexistent/libclip-stress-%p-%d.png", (void *)w, w->calls);
    static const char corrupt[] = "\x89PNG\r\n\x1a\n but no chunks follow";
    int use_file = next_random(&w->seed) & 1;
    for (size_t d = 0; d < dim; d++)
        out[d] = 7.0f;
    lclip_status s = use_file ? lclip_image_encode_file(sh->image, missing, out)
                              : lclip_image_encode_memory(sh->image, corrupt, sizeof corrupt - 1, out);
    int untouched = 1;
    for (size_t d = 0; d < dim; d++)
        untouched &= out[d] == 7.0f;
    int right = use_file ? s == LCLIP_E_IO && strstr(lclip_last_error(), missing) != NULL
                         : s == LCLIP_E_FORMAT && strstr(lclip_last_error(), "invalid PNG") != NULL;
    if (!right || !untouched) {
        w->bad_errors++;
        note(w, "failing call: status %d, output %s, message '%s'", s, untouched ? "untouched" : "written",
             lclip_last_error());
    }
}

static void one_call(worker *w, float *out)
{
    shared *sh = w->sh;
    size_t idim = sh->image_dim, tdim = sh->text_dim, ctx = (size_t)sh->context;
    size_t batch = 1 + next_random(&w->seed) % MAX_BATCH, first;
    int32_t ids[MAX_BATCH][128];
    int kind = (int)(next_random(&w->seed) % 7);
    w->calls++;
    switch (kind) {
    case 0: { /* one RGB image */
        first = next_random(&w->seed) % N_RGB;
        const rgb_image *im = &sh->rgb[first];
        if (lclip_image_encode_rgb(sh->image, im->pixels, im->width, im->height, (size_t)im->width * 3, out) !=
            LCLIP_OK)
            note(w, "encode_rgb failed: %s", lclip_last_error()), w->mismatches++;
        else
            compare_rows(w, "encode_rgb", out, sh->ref_rgb + first * idim, idim);
        break;
    }
    case 1: { /* a batch of preprocessed tensors, checked against their own serial rows */
        first = next_random(&w->seed) % (N_RGB - batch + 1);
        if (first + batch > N_RGB)
            batch = N_RGB - first;
        size_t plane = 3 * (size_t)sh->image_size * (size_t)sh->image_size;
        float single[4096];
        if (lclip_image_encode_pixels(sh->image, sh->pixels + first * plane, batch, out) != LCLIP_OK) {
            note(w, "encode_pixels failed: %s", lclip_last_error()), w->mismatches++;
            break;
        }
        for (size_t i = 0; i < batch && idim <= 4096; i++)
            if (lclip_image_encode_pixels(sh->image, sh->pixels + (first + i) * plane, 1, single) == LCLIP_OK)
                compare_rows(w, "encode_pixels batch row", out + i * idim, single, idim);
        break;
    }
    case 2: { /* a batch of files (fixtures only) */
        if (!sh->n_files)
            return failing_call(w, out, idim);
        first = next_random(&w->seed) % sh->n_files;
        if (first + batch > sh->n_files)
            batch = sh->n_files - first;
        if (lclip_image_encode_files(sh->image, (const char *const *)sh->files + first, batch, out) != LCLIP_OK) {
            note(w, "encode_files failed: %s", lclip_last_error()), w->mismatches++;
            break;
        }
        for (size_t i = 0; i < batch; i++)
            compare_rows(w, "encode_files row", out + i * idim, sh->ref_files + (first + i) * idim, idim);
        break;
    }
    case 3: { /* a batch of strings */
        if (!sh->have_vocab)
            return failing_call(w, out, idim);
        first = next_random(&w->seed) % N_TEXTS;
        if (first + batch > N_TEXTS)
            batch = N_TEXTS - first;
        if (lclip_text_encode_batch(sh->text, texts + first, batch, out) != LCLIP_OK) {
            note(w, "text_encode_batch failed: %s", lclip_last_error()), w->mismatches++;
            break;
        }
        for (size_t i = 0; i < batch; i++)
            compare_rows(w, "text batch row", out + i * tdim, sh->ref_text + (first + i) * tdim, tdim);
        break;
    }
    case 4: { /* a batch of token ids */
        first = next_random(&w->seed) % N_TEXTS;
        if (first + batch > N_TEXTS)
            batch = N_TEXTS - first;
        if (lclip_text_encode_tokens(sh->text, sh->tokens + first * ctx, batch, out) != LCLIP_OK) {
            note(w, "text_encode_tokens failed: %s", lclip_last_error()), w->mismatches++;
            break;
        }
        for (size_t i = 0; i < batch; i++)
            compare_rows(w, "token batch row", out + i * tdim, sh->ref_tokens + (first + i) * tdim, tdim);
        break;
    }
    case 5: { /* tokenize (the shared word cache) */
        if (!sh->have_vocab || ctx > 128)
            return failing_call(w, out, idim);
        first = next_random(&w->seed) % N_TEXTS;
        if (lclip_tokenize(sh->text, texts[first], ids[0], ctx, NULL) != LCLIP_OK ||
            memcmp(ids[0], sh->tokens + first * ctx, ctx * sizeof(int32_t)) != 0)
            note(w, "tokenize '%s' differs", texts[first]), w->mismatches++;
        break;
    }
    default:
        failing_call(w, out, idim);
        break;
    }
}

static void *work(void *arg)
{
    worker *w = arg;
    shared *sh = w->sh;
    size_t dim = sh->image_dim > sh->text_dim ? sh->image_dim : sh->text_dim;
    float *out = malloc(MAX_BATCH * dim * sizeof *out);
    pthread_barrier_wait(&sh->start);
    for (int r = 0; r < sh->rounds && out; r++)
        one_call(w, out);
    free(out);
    return NULL;
}

static void test_shared_handles_match_serial_results(void **state)
{
    (void)state;
    shared sh;
    memset(&sh, 0, sizeof sh);
    sh.threads = env_int("LCLIP_STRESS_THREADS", 6, 2, MAX_THREADS);
    sh.rounds = env_int("LCLIP_STRESS_ROUNDS", 40, 1, 100000);
    make_rgb(&sh);
    open_encoders(&sh);
    compute_references(&sh);

    worker workers[MAX_THREADS];
    memset(workers, 0, sizeof workers);
    assert_int_equal(pthread_barrier_init(&sh.start, NULL, (unsigned)sh.threads), 0);
    for (int i = 0; i < sh.threads; i++) {
        workers[i].sh = &sh;
        workers[i].seed = 12345u + (unsigned)i * 7919u;
        assert_int_equal(pthread_create(&workers[i].thread, NULL, work, &workers[i]), 0);
    }
    int calls = 0, problems = 0;
    for (int i = 0; i < sh.threads; i++) {
        assert_int_equal(pthread_join(workers[i].thread, NULL), 0);
        calls += workers[i].calls;
        problems += workers[i].mismatches + workers[i].bad_errors;
        if (workers[i].first_problem[0])
            print_message("thread %d: %s\n", i, workers[i].first_problem);
    }
    pthread_barrier_destroy(&sh.start);
    print_message("%d threads, %d calls, %d problems (%s)\n", sh.threads, calls, problems,
                  sh.files ? "fixtures" : "self-made model");
    assert_int_equal(problems, 0);
    assert_int_equal(calls, sh.threads * sh.rounds);

    lclip_image_encoder_close(sh.image);
    lclip_text_encoder_close(sh.text);
    for (int i = 0; i < N_RGB; i++)
        free(sh.rgb[i].pixels);
    if (sh.files)
        golden_free_names(sh.files, sh.n_files);
    free(sh.pixels);
    free(sh.tokens);
    free(sh.ref_rgb);
    free(sh.ref_files);
    free(sh.ref_text);
    free(sh.ref_tokens);
    if (sh.tmp_dir) {
        rm_tree(sh.tmp_dir);
        free(sh.tmp_dir);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_handles_match_serial_results),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
