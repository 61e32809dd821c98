/* Linear probes: the probabilities of scikit-learn's LogisticRegression on
 * the same embeddings and C (probe_reference.py), cross-validated C
 * selection as documented, and bad input. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "libclip.h"
#include "support/golden.h"
#include "support/test_util.h"

static const char *const class_names[4] = {"receipt", "not a receipt", "cat", "Ærøskøbing"};

typedef struct dataset {
    float *x;
    int32_t *labels;
    size_t n, dim, k;
} dataset;

/* Deterministic uniform numbers in [-1, 1). */
static double next_uniform(uint64_t *state)
{
    *state = *state * 6364136223846793005u + 1442695040888963407u;
    return (double)(*state >> 11) / (double)(1ull << 52) - 1.0;
}

/* k clusters of per_class points in dim dimensions, overlapping (spread
 * beside the centres' distance), so that the optimum is finite for every C. */
static dataset clusters(size_t k, size_t per_class, size_t dim, double spread, uint64_t seed)
{
    dataset d = {malloc(k * per_class * dim * sizeof(float)), malloc(k * per_class * sizeof(int32_t)),
                 k * per_class, dim, k};
    double *centres = malloc(k * dim * sizeof *centres);
    for (size_t i = 0; i < k * dim; i++)
        centres[i] = next_uniform(&seed);
    for (size_t i = 0; i < d.n; i++) {
        size_t c = i % k; /* classes interleaved, as real data come */
        d.labels[i] = (int32_t)c;
        for (size_t j = 0; j < dim; j++)
            d.x[i * dim + j] = (float)(centres[c * dim + j] + spread * next_uniform(&seed) + (j == 0 ? 0.5 : 0.0));
    }
    free(centres);
    return d;
}

static void dataset_free(dataset *d)
{
    free(d->x);
    free(d->labels);
}

/* scikit-learn's probabilities for each C, [n_c][n][k]; NULL (the test
 * skipped, saying why) when python3 or scikit-learn is absent. */
static float *sklearn_probs(const dataset *d, const double *cs, size_t n_c)
{
    if (access(LCLIP_PYTHON3, X_OK) != 0) {
        print_message("skipping: %s not found (the scikit-learn comparison needs it)\n", LCLIP_PYTHON3);
        return NULL;
    }
    char *dir = make_temp_dir(), *emb = join_path(dir, "x.f32"), *lab = join_path(dir, "y.i32"),
         *out = join_path(dir, "p.f32");
    write_bytes_file(emb, d->x, d->n * d->dim * sizeof(float));
    write_bytes_file(lab, d->labels, d->n * sizeof(int32_t));
    char command[4096];
    int at = snprintf(command, sizeof command, "%s %s %s %s %zu %zu %s", LCLIP_PYTHON3, LCLIP_PROBE_REFERENCE, emb,
                      lab, d->n, d->dim, out);
    for (size_t i = 0; i < n_c; i++)
        at += snprintf(command + at, sizeof command - (size_t)at, " %.17g", cs[i]);
    int status = system(command);
    float *probs = NULL;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
        print_message("skipping: scikit-learn is not installed (python3-sklearn, a test dependency)\n");
    } else {
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail_msg("%s failed (status %d)", command, status);
        probs = golden_read(dir, "p.f32", n_c * d->n * d->k, sizeof(float));
    }
    rm_tree(dir);
    free(emb);
    free(lab);
    free(out);
    free(dir);
    return probs;
}

static void assert_matches_sklearn(const dataset *d, const double *cs, size_t n_c, const char *label)
{
    float *expected = sklearn_probs(d, cs, n_c);
    if (!expected)
        skip();
    float *probs = malloc(d->n * d->k * sizeof *probs);
    for (size_t i = 0; i < n_c; i++) {
        lclip_probe_options opts;
        lclip_probe_options_init(&opts);
        opts.c = cs[i];
        lclip_classifier *cls;
        if (lclip_classifier_train_probe(d->x, d->n, d->dim, d->labels, class_names, d->k, &opts, &cls) != LCLIP_OK)
            fail_msg("%s, C %g: %s", label, cs[i], lclip_last_error());
        assert_int_equal(lclip_classifier_get_kind(cls), LCLIP_CLASSIFIER_PROBE);
        assert_true(lclip_classifier_logit_scale(cls) == 1.0f);
        assert_int_equal(lclip_classifier_apply(cls, d->x, d->n, d->dim, NULL, probs), LCLIP_OK);
        double worst = 0;
        for (size_t j = 0; j < d->n * d->k; j++)
            worst = fmax(worst, fabs((double)probs[j] - expected[i * d->n * d->k + j]));
        print_message("%s, C %g: max |probability - scikit-learn's| = %.2g\n", label, cs[i], worst);
        assert_true(worst <= 1e-3);
        lclip_classifier_free(cls);
    }
    free(probs);
    free(expected);
}

static void test_probe_matches_sklearn_on_clusters(void **state)
{
    (void)state;
    dataset d = clusters(4, 15, 8, 1.2, 7);
    const double cs[] = {0.1, 1.0, 10.0, 100.0};
    assert_matches_sklearn(&d, cs, sizeof cs / sizeof *cs, "4 clusters");
    dataset_free(&d);
}

static void test_probe_matches_sklearn_on_image_embeddings(void **state)
{
    (void)state;
    const char *fixtures = fixtures_dir();
    if (!fixtures)
        skip();
    /* Both tiny models' 13 raw image embeddings, three arbitrary classes. */
    dataset d = {malloc(26 * 32 * sizeof(float)), malloc(26 * sizeof(int32_t)), 26, 32, 3};
    for (int m = 0; m < 2; m++) {
        float *e = golden_read(fixtures, m ? "golden/tiny-gelu/image_embeds.f32" : "golden/tiny-quickgelu/image_embeds.f32",
                               13 * 32, sizeof(float));
        memcpy(d.x + m * 13 * 32, e, 13 * 32 * sizeof(float));
        free(e);
    }
    for (size_t i = 0; i < d.n; i++)
        d.labels[i] = (int32_t)(i % 3);
    const double cs[] = {0.5, 5.0, 50.0};
    assert_matches_sklearn(&d, cs, sizeof cs / sizeof *cs, "image embeddings");
    dataset_free(&d);
}

/* The documented procedure, redone through the public training call. */
static double manual_cv_accuracy(const dataset *d, double c, int folds)
{
    int *fold = malloc(d->n * sizeof *fold);
    size_t seen[4] = {0};
    for (size_t i = 0; i < d->n; i++)
        fold[i] = (int)(seen[d->labels[i]]++ % (size_t)folds);
    float *train_x = malloc(d->n * d->dim * sizeof(float)), *logits = malloc(d->k * sizeof(float));
    int32_t *train_y = malloc(d->n * sizeof(int32_t));
    double sum = 0;
    for (int f = 0; f < folds; f++) {
        size_t n_train = 0, right = 0, n_test = 0;
        for (size_t i = 0; i < d->n; i++)
            if (fold[i] != f) {
                memcpy(train_x + n_train * d->dim, d->x + i * d->dim, d->dim * sizeof(float));
                train_y[n_train++] = d->labels[i];
            }
        lclip_probe_options opts;
        lclip_probe_options_init(&opts);
        opts.c = c;
        lclip_classifier *cls;
        assert_int_equal(lclip_classifier_train_probe(train_x, n_train, d->dim, train_y, class_names, d->k, &opts,
                                                      &cls), LCLIP_OK);
        for (size_t i = 0; i < d->n; i++)
            if (fold[i] == f) {
                assert_int_equal(lclip_classifier_apply(cls, d->x + i * d->dim, 1, d->dim, logits, NULL), LCLIP_OK);
                size_t best = 0;
                for (size_t j = 1; j < d->k; j++)
                    if (logits[j] > logits[best])
                        best = j;
                right += best == (size_t)d->labels[i];
                n_test++;
            }
        sum += (double)right / (double)n_test;
        lclip_classifier_free(cls);
    }
    free(fold);
    free(train_x);
    free(train_y);
    free(logits);
    return sum / folds;
}

static void test_select_c(void **state)
{
    (void)state;
    /* Overlapping clusters: the chosen C has the best mean held-out accuracy. */
    dataset d = clusters(3, 12, 6, 2.0, 11);
    const double grid[] = {0.01, 1.0, 100.0};
    double best_c = 0, best_accuracy = -1;
    assert_int_equal(lclip_probe_select_c(d.x, d.n, d.dim, d.labels, d.k, grid, 3, 4, NULL, &best_c,
                                          &best_accuracy), LCLIP_OK);
    double best_manual = -1, best_manual_c = 0;
    for (int g = 0; g < 3; g++) {
        double a = manual_cv_accuracy(&d, grid[g], 4);
        if (a > best_manual)
            best_manual = a, best_manual_c = grid[g];
    }
    print_message("cross-validation: C %g, accuracy %.3f\n", best_c, best_accuracy);
    assert_true(best_c == best_manual_c);
    assert_true(fabs(best_accuracy - best_manual) < 1e-12);
    dataset_free(&d);

    /* Separable clusters: every C is perfect, the smallest wins, whatever the
     * grid's order; the default grid's smallest is 10^-2. */
    dataset easy = clusters(2, 10, 4, 0.01, 3);
    const double unsorted[] = {10.0, 0.5, 3.0};
    assert_int_equal(lclip_probe_select_c(easy.x, easy.n, easy.dim, easy.labels, 2, unsorted, 3, 5, NULL, &best_c,
                                          &best_accuracy), LCLIP_OK);
    assert_true(best_c == 0.5);
    assert_true(best_accuracy == 1.0);
    assert_int_equal(lclip_probe_select_c(easy.x, easy.n, easy.dim, easy.labels, 2, NULL, 0, 2, NULL, &best_c, NULL),
                     LCLIP_OK);
    assert_true(fabs(best_c - 0.01) < 1e-15);
    dataset_free(&easy);
}

static void test_probe_bad_input(void **state)
{
    (void)state;
    dataset d = clusters(3, 4, 5, 0.5, 5);
    lclip_classifier *cls = (lclip_classifier *)&d;
    lclip_probe_options opts;
    lclip_probe_options_init(&opts);
#define REFUSED(call, what)                                                                         \
    do {                                                                                            \
        cls = (lclip_classifier *)&d;                                                               \
        lclip_status s_ = (call);                                                                   \
        if (s_ != LCLIP_E_INVALID_ARGUMENT)                                                         \
            fail_msg("%s: %s", what, lclip_strerror(s_));                                           \
        assert_true(strlen(lclip_last_error()) > 0);                                                \
    } while (0)
    REFUSED(lclip_classifier_train_probe(d.x, d.n, d.dim, d.labels, class_names, 1, NULL, &cls), "one class");
    assert_null(cls);
    REFUSED(lclip_classifier_train_probe(d.x, d.n, d.dim, d.labels, class_names, 0, NULL, &cls), "no classes");
    REFUSED(lclip_classifier_train_probe(d.x, 0, d.dim, d.labels, class_names, 3, NULL, &cls), "no embeddings");
    REFUSED(lclip_classifier_train_probe(d.x, d.n, 0, d.labels, class_names, 3, NULL, &cls), "dim 0");
    REFUSED(lclip_classifier_train_probe(NULL, d.n, d.dim, d.labels, class_names, 3, NULL, &cls), "NULL embeddings");
    REFUSED(lclip_classifier_train_probe(d.x, d.n, d.dim, NULL, class_names, 3, NULL, &cls), "NULL labels");
    REFUSED(lclip_classifier_train_probe(d.x, d.n, d.dim, d.labels, NULL, 3, NULL, &cls), "NULL names");
    REFUSED(lclip_classifier_train_probe(d.x, d.n, d.dim, d.labels, (const char *[]){"a", "b", "a"}, 3, NULL, &cls),
            "duplicate names");
    /* A class without examples: 4 classes named, labels use 3. */
    REFUSED(lclip_classifier_train_probe(d.x, d.n, d.dim, d.labels, class_names, 4, NULL, &cls), "empty class");
    assert_non_null(strstr(lclip_last_error(), "class 3"));
    d.labels[2] = 3;
    REFUSED(lclip_classifier_train_probe(d.x, d.n, d.dim, d.labels, class_names, 3, NULL, &cls), "label too large");
    d.labels[2] = -1;
    REFUSED(lclip_classifier_train_probe(d.x, d.n, d.dim, d.labels, class_names, 3, NULL, &cls), "negative label");
    d.labels[2] = 2;
    d.x[7] = NAN;
    REFUSED(lclip_classifier_train_probe(d.x, d.n, d.dim, d.labels, class_names, 3, NULL, &cls), "NaN embedding");
    assert_non_null(strstr(lclip_last_error(), "embedding 1"));
    d.x[7] = 0;
    memset(d.x + 5, 0, 5 * sizeof(float));
    REFUSED(lclip_classifier_train_probe(d.x, d.n, d.dim, d.labels, class_names, 3, NULL, &cls), "zero embedding");
    d.x[5] = 1;
    opts.c = -1;
    REFUSED(lclip_classifier_train_probe(d.x, d.n, d.dim, d.labels, class_names, 3, &opts, &cls), "negative C");
    opts.c = 1;
    opts.reserved = 1;
    REFUSED(lclip_classifier_train_probe(d.x, d.n, d.dim, d.labels, class_names, 3, &opts, &cls), "reserved set");
    opts.reserved = 0;
    opts.struct_size = 12;
    REFUSED(lclip_classifier_train_probe(d.x, d.n, d.dim, d.labels, class_names, 3, &opts, &cls), "struct size");
    lclip_probe_options_init(&opts);
    assert_true(opts.c == 1.0 && opts.tolerance == 1e-6 && opts.max_iterations == 1000 && opts.reserved == 0);
    assert_int_equal(lclip_classifier_train_probe(d.x, d.n, d.dim, d.labels, class_names, 3, &opts, &cls), LCLIP_OK);
    lclip_classifier_free(cls);

    /* C selection: folds < 2, a class with fewer examples than folds, a bad grid. */
    double best_c, bad_grid[2] = {1.0, -1.0};
    assert_int_equal(lclip_probe_select_c(d.x, d.n, d.dim, d.labels, 3, NULL, 0, 1, NULL, &best_c, NULL),
                     LCLIP_E_INVALID_ARGUMENT);
    assert_int_equal(lclip_probe_select_c(d.x, d.n, d.dim, d.labels, 3, NULL, 0, 5, NULL, &best_c, NULL),
                     LCLIP_E_INVALID_ARGUMENT);
    assert_non_null(strstr(lclip_last_error(), "fewer than 5"));
    assert_int_equal(lclip_probe_select_c(d.x, d.n, d.dim, d.labels, 3, bad_grid, 2, 2, NULL, &best_c, NULL),
                     LCLIP_E_INVALID_ARGUMENT);
    assert_int_equal(lclip_probe_select_c(d.x, d.n, d.dim, d.labels, 3, bad_grid, 0, 2, NULL, &best_c, NULL),
                     LCLIP_E_INVALID_ARGUMENT);
    assert_int_equal(lclip_probe_select_c(d.x, d.n, d.dim, d.labels, 3, NULL, 0, 2, NULL, NULL, NULL),
                     LCLIP_E_INVALID_ARGUMENT);
    assert_int_equal(lclip_probe_select_c(d.x, d.n, d.dim, d.labels, 1, NULL, 0, 2, NULL, &best_c, NULL),
                     LCLIP_E_INVALID_ARGUMENT);
    dataset_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe_matches_sklearn_on_clusters),
        cmocka_unit_test(test_probe_matches_sklearn_on_image_embeddings),
        cmocka_unit_test(test_select_c),
        cmocka_unit_test(test_probe_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
