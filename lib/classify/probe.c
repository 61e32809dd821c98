/* Linear probes, the CLIP paper's: multinomial logistic regression with L2
 * regularisation on L2-normalised embeddings, as scikit-learn's
 * LogisticRegression(solver='lbfgs', multi_class='multinomial'). Training
 * minimises
 *     f(W, b) = C * sum_i [logsumexp_k(z_ik) - z_i,y_i] + |W|^2 / 2,
 *     z_ik = W_k . x_i + b_k,
 * whose gradient is C * sum_i (p_ik - [k = y_i]) x_i + W_k for W_k and
 * C * sum_i (p_ik - [k = y_i]) for b_k (p_i the softmax of z_i); liblbfgs
 * minimises it from zero, in double precision. */
#include <limits.h>
#include <math.h>
#include <string.h>

#include <lbfgs.h>

#include "classify/classifier.h"
#include "common/alloc.h"
#include "common/error.h"
#include "common/options.h"

/* A training problem: some rows of the normalised embeddings. */
typedef struct probe_problem {
    const double *x;        /* [n][dim], unit rows */
    const int32_t *labels;  /* [n] */
    const size_t *rows;     /* the rows trained on */
    size_t n_rows, dim, n_classes;
    double c;
    double *z;              /* scratch [n_classes] */
} probe_problem;

/* Parameters: W [n_classes][dim], then b [n_classes]. */
static lbfgsfloatval_t evaluate(void *user, const lbfgsfloatval_t *w, lbfgsfloatval_t *grad, const int n_params,
                                const lbfgsfloatval_t step)
{
    (void)step;
    const probe_problem *p = user;
    size_t k = p->n_classes, dim = p->dim;
    const double *b = w + k * dim;
    double *grad_b = grad + k * dim;
    double f = 0.0;
    for (size_t i = 0; i < k * dim; i++) {
        f += 0.5 * w[i] * w[i];
        grad[i] = w[i];
    }
    memset(grad_b, 0, k * sizeof *grad_b);
    (void)n_params;
    for (size_t r = 0; r < p->n_rows; r++) {
        const double *x = p->x + p->rows[r] * dim;
        size_t y = (size_t)p->labels[p->rows[r]];
        double max = -INFINITY;
        for (size_t c = 0; c < k; c++) {
            const double *wc = w + c * dim;
            double z = b[c];
            for (size_t d = 0; d < dim; d++)
                z += wc[d] * x[d];
            p->z[c] = z;
            if (z > max)
                max = z;
        }
        double sum = 0.0;
        for (size_t c = 0; c < k; c++)
            sum += exp(p->z[c] - max);
        double log_sum = max + log(sum);
        f += p->c * (log_sum - p->z[y]);
        for (size_t c = 0; c < k; c++) {
            double residual = p->c * (exp(p->z[c] - log_sum) - (c == y ? 1.0 : 0.0));
            double *gc = grad + c * dim;
            for (size_t d = 0; d < dim; d++)
                gc[d] += residual * x[d];
            grad_b[c] += residual;
        }
    }
    return f;
}

/* Trains on problem's rows; params[n_classes * (dim + 1)] gets W and b. */
static lclip_status train(probe_problem *problem, const lclip_probe_options *opts, double *params)
{
    size_t n_params = problem->n_classes * (problem->dim + 1);
    memset(params, 0, n_params * sizeof *params);
    lbfgs_parameter_t settings;
    lbfgs_parameter_init(&settings);
    settings.epsilon = opts->tolerance;
    settings.max_iterations = opts->max_iterations;
    double f;
    int r = lbfgs((int)n_params, params, &f, evaluate, NULL, problem, &settings);
    switch (r) {
    case LBFGS_SUCCESS:
    case LBFGS_STOP:
    case LBFGS_ALREADY_MINIMIZED:
    case LBFGSERR_MAXIMUMITERATION: /* the iteration budget spent: documented as no error */
        return LCLIP_OK;
    /* The line search can make no more progress: on this smooth convex
     * objective, the minimum to the precision of the arithmetic; liblbfgs
     * has restored the last point. */
    case LBFGSERR_ROUNDING_ERROR:
    case LBFGSERR_MINIMUMSTEP:
    case LBFGSERR_MAXIMUMSTEP:
    case LBFGSERR_MAXIMUMLINESEARCH:
    case LBFGSERR_WIDTHTOOSMALL:
    case LBFGSERR_INCREASEGRADIENT:
    case LBFGSERR_OUTOFINTERVAL:
    case LBFGSERR_INCORRECT_TMINMAX:
    case LBFGSERR_INVALIDPARAMETERS:
        return LCLIP_OK;
    case LBFGSERR_OUTOFMEMORY:
        return lclip_fail(LCLIP_E_NOMEM, "linear probe: liblbfgs ran out of memory for %zu parameters", n_params);
    default:
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "linear probe: liblbfgs failed with status %d", r);
    }
}

/* Checks the training data; *x gets the rows L2-normalised, in double. */
static lclip_status prepare(const char *what, const float *embeddings, size_t n, size_t dim, const int32_t *labels,
                            size_t n_classes, double **x)
{
    *x = NULL;
    if (!embeddings || !labels)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: %s is NULL", what, embeddings ? "labels" : "embeddings");
    if (n == 0)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: no embeddings", what);
    if (dim == 0 || dim > LCLIP_CLASSIFIER_MAX_DIM)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: dim %zu is outside 1..%u", what, dim,
                          LCLIP_CLASSIFIER_MAX_DIM);
    if (n_classes < 2 || n_classes > LCLIP_CLASSIFIER_MAX_CLASSES)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: %zu classes; a probe needs 2..%u", what, n_classes,
                          LCLIP_CLASSIFIER_MAX_CLASSES);
    if (n_classes * (dim + 1) > INT_MAX) /* liblbfgs counts parameters in an int */
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: %zu classes of dimension %zu are too many parameters",
                          what, n_classes, dim);
    for (size_t i = 0; i < n; i++)
        if (labels[i] < 0 || (size_t)labels[i] >= n_classes)
            return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: label %d of embedding %zu is outside 0..%zu", what,
                              labels[i], i, n_classes - 1);
    double *rows = lclip_malloc_array(n, dim * sizeof *rows);
    if (!rows)
        return lclip_fail(LCLIP_E_NOMEM, "%s: out of memory for %zu embeddings", what, n);
    for (size_t i = 0; i < n; i++) {
        const float *e = embeddings + i * dim;
        double squares = 0.0;
        for (size_t d = 0; d < dim; d++)
            squares += (double)e[d] * e[d];
        if (!isfinite(squares) || squares == 0.0) {
            lclip_free(rows);
            return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: embedding %zu is zero or has a non-finite value",
                              what, i);
        }
        double inv = 1.0 / sqrt(squares);
        for (size_t d = 0; d < dim; d++)
            rows[i * dim + d] = e[d] * inv;
    }
    *x = rows;
    return LCLIP_OK;
}

/* counts[n_classes] = examples per class; the first class below min_count
 * is refused. */
static lclip_status count_classes(const char *what, const int32_t *labels, size_t n, size_t n_classes,
                                  size_t min_count, size_t *counts)
{
    memset(counts, 0, n_classes * sizeof *counts);
    for (size_t i = 0; i < n; i++)
        counts[labels[i]]++;
    for (size_t c = 0; c < n_classes; c++)
        if (counts[c] < min_count)
            return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: class %zu has %zu examples, fewer than %zu", what, c,
                              counts[c], min_count);
    return LCLIP_OK;
}

LCLIP_AVAILABLE_IN_0_4 lclip_status lclip_classifier_train_probe(const float *embeddings, size_t n, size_t dim,
                                                                 const int32_t *labels,
                                                                 const char *const *class_names,
                                                                 size_t n_classes,
                                                                 const lclip_probe_options *opts,
                                                                 lclip_classifier **out)
{
    static const char what[] = "lclip_classifier_train_probe";
    if (!out)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: out is NULL", what);
    *out = NULL;
    lclip_probe_options options;
    double *x;
    lclip_status s = lclip_probe_options_resolve(opts, &options);
    if (s == LCLIP_OK)
        s = lclip_classifier_check_names(what, class_names, n_classes);
    if (s == LCLIP_OK)
        s = prepare(what, embeddings, n, dim, labels, n_classes, &x);
    if (s != LCLIP_OK)
        return s;
    size_t *counts = lclip_malloc_array(n_classes, sizeof *counts);
    size_t *rows = lclip_malloc_array(n, sizeof *rows);
    double *z = lclip_malloc_array(n_classes, sizeof *z);
    double *params = lclip_malloc_array(n_classes, (dim + 1) * sizeof *params);
    lclip_classifier *cls = NULL;
    if (!counts || !rows || !z || !params)
        s = lclip_fail(LCLIP_E_NOMEM, "%s: out of memory for %zu classes of dimension %zu", what, n_classes, dim);
    if (s == LCLIP_OK)
        s = count_classes(what, labels, n, n_classes, 1, counts);
    if (s == LCLIP_OK) {
        for (size_t i = 0; i < n; i++)
            rows[i] = i;
        probe_problem problem = {x, labels, rows, n, dim, n_classes, options.c, z};
        s = train(&problem, &options, params);
    }
    if (s == LCLIP_OK && !(cls = lclip_classifier_alloc(LCLIP_CLASSIFIER_PROBE, class_names, n_classes, dim)))
        s = LCLIP_E_NOMEM;
    if (s == LCLIP_OK) {
        for (size_t i = 0; i < n_classes * dim; i++)
            cls->vectors[i] = (float)params[i];
        for (size_t c = 0; c < n_classes; c++)
            cls->bias[c] = (float)params[n_classes * dim + c];
        cls->logit_scale = 1.0f;
        *out = cls;
    }
    lclip_free(counts);
    lclip_free(rows);
    lclip_free(z);
    lclip_free(params);
    lclip_free(x);
    return s;
}

/* ---- choosing C -------------------------------------------------------- */

/* 10^-2, 10^-1.5, ..., 10^4. */
#define DEFAULT_GRID_SIZE 13

/* The fraction of rows[n_rows] whose largest logit is their label's. */
static double accuracy(const probe_problem *p, const double *params, const size_t *rows, size_t n_rows)
{
    size_t k = p->n_classes, dim = p->dim, right = 0;
    for (size_t r = 0; r < n_rows; r++) {
        const double *x = p->x + rows[r] * dim;
        size_t best = 0;
        double best_z = -INFINITY;
        for (size_t c = 0; c < k; c++) {
            double z = params[k * dim + c];
            for (size_t d = 0; d < dim; d++)
                z += params[c * dim + d] * x[d];
            if (z > best_z)
                best_z = z, best = c;
        }
        right += best == (size_t)p->labels[rows[r]];
    }
    return (double)right / (double)n_rows;
}

/* Mean held-out accuracy over the folds for one C; fold_of[i] is row i's. */
static lclip_status cross_validate(probe_problem *p, const lclip_probe_options *opts, const int *fold_of, size_t n,
                                   int folds, size_t *train_rows, size_t *test_rows, double *params, double *mean)
{
    double sum = 0.0;
    for (int f = 0; f < folds; f++) {
        size_t n_train = 0, n_test = 0;
        for (size_t i = 0; i < n; i++) {
            if (fold_of[i] == f)
                test_rows[n_test++] = i;
            else
                train_rows[n_train++] = i;
        }
        p->rows = train_rows;
        p->n_rows = n_train;
        lclip_status s = train(p, opts, params);
        if (s != LCLIP_OK)
            return s;
        sum += accuracy(p, params, test_rows, n_test);
    }
    *mean = sum / folds;
    return LCLIP_OK;
}

static lclip_status check_grid(const char *what, const double *c_grid, size_t n_grid)
{
    if (!c_grid)
        return LCLIP_OK;
    if (n_grid == 0)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: c_grid has no values", what);
    for (size_t g = 0; g < n_grid; g++)
        if (!isfinite(c_grid[g]) || c_grid[g] <= 0)
            return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: c_grid[%zu] = %g is not a finite value > 0", what, g,
                              c_grid[g]);
    return LCLIP_OK;
}

LCLIP_AVAILABLE_IN_0_4 lclip_status lclip_probe_select_c(const float *embeddings, size_t n, size_t dim,
                                                         const int32_t *labels, size_t n_classes,
                                                         const double *c_grid, size_t n_grid, int folds,
                                                         const lclip_probe_options *opts, double *best_c,
                                                         double *best_accuracy)
{
    static const char what[] = "lclip_probe_select_c";
    if (!best_c)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: best_c is NULL", what);
    if (folds < 2)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: %d folds; cross-validation needs at least 2", what, folds);
    double default_grid[DEFAULT_GRID_SIZE];
    for (int g = 0; g < DEFAULT_GRID_SIZE; g++)
        default_grid[g] = pow(10.0, -2.0 + 0.5 * g);
    lclip_probe_options options;
    double *x;
    lclip_status s = lclip_probe_options_resolve(opts, &options);
    if (s == LCLIP_OK)
        s = check_grid(what, c_grid, n_grid);
    if (s == LCLIP_OK)
        s = prepare(what, embeddings, n, dim, labels, n_classes, &x);
    if (s != LCLIP_OK)
        return s;
    if (!c_grid)
        c_grid = default_grid, n_grid = DEFAULT_GRID_SIZE;
    size_t *counts = lclip_calloc(n_classes, sizeof *counts);
    int *fold_of = lclip_malloc_array(n, sizeof *fold_of);
    size_t *train_rows = lclip_malloc_array(n, sizeof *train_rows), *test_rows = lclip_malloc_array(n, sizeof *test_rows);
    double *z = lclip_malloc_array(n_classes, sizeof *z);
    double *params = lclip_malloc_array(n_classes, (dim + 1) * sizeof *params);
    if (!counts || !fold_of || !train_rows || !test_rows || !z || !params)
        s = lclip_fail(LCLIP_E_NOMEM, "%s: out of memory for %zu embeddings", what, n);
    if (s == LCLIP_OK)
        s = count_classes(what, labels, n, n_classes, (size_t)folds, counts);
    if (s == LCLIP_OK) {
        /* Stratified: the j-th example of a class goes to fold j mod folds. */
        memset(counts, 0, n_classes * sizeof *counts);
        for (size_t i = 0; i < n; i++)
            fold_of[i] = (int)(counts[labels[i]]++ % (size_t)folds);
    }
    double chosen_c = 0.0, chosen_accuracy = -1.0;
    probe_problem problem = {x, labels, NULL, 0, dim, n_classes, 0.0, z};
    for (size_t g = 0; g < n_grid && s == LCLIP_OK; g++) {
        double mean;
        problem.c = c_grid[g];
        s = cross_validate(&problem, &options, fold_of, n, folds, train_rows, test_rows, params, &mean);
        if (s == LCLIP_OK && (mean > chosen_accuracy || (mean == chosen_accuracy && c_grid[g] < chosen_c)))
            chosen_c = c_grid[g], chosen_accuracy = mean;
    }
    if (s == LCLIP_OK) {
        *best_c = chosen_c;
        if (best_accuracy)
            *best_accuracy = chosen_accuracy;
    }
    lclip_free(counts);
    lclip_free(fold_of);
    lclip_free(train_rows);
    lclip_free(test_rows);
    lclip_free(z);
    lclip_free(params);
    lclip_free(x);
    return s;
}
