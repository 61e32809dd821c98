/* The classifier object: making one from the caller's vectors, its
 * accessors, and applying it to embeddings. */
#include "classify/classifier.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "text/codepoints.h"

int lclip_classifier_valid_utf8(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    while (len > 0) {
        uint32_t c;
        size_t k = lclip_utf8_decode_one(s, len, &c);
        if (k == 0 || c == 0)
            return 0;
        s += k;
        len -= k;
    }
    return 1;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

lclip_status lclip_classifier_check_names(const char *what, const char *const *class_names, size_t n_classes)
{
    if (!class_names)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: class_names is NULL", what);
    if (n_classes == 0)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: no classes", what);
    if (n_classes > LCLIP_CLASSIFIER_MAX_CLASSES)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: %zu classes, more than the %u a classifier may have", what,
                          n_classes, LCLIP_CLASSIFIER_MAX_CLASSES);
    for (size_t c = 0; c < n_classes; c++) {
        const char *name = class_names[c];
        if (!name)
            return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: class name %zu is NULL", what, c);
        size_t len = strlen(name);
        if (len == 0)
            return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: class name %zu is empty", what, c);
        if (len > LCLIP_CLASSIFIER_MAX_NAME_BYTES)
            return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: class name %zu is %zu bytes long, more than %u", what,
                              c, len, LCLIP_CLASSIFIER_MAX_NAME_BYTES);
        if (!lclip_classifier_valid_utf8(name, len))
            return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: class name %zu is not valid UTF-8", what, c);
    }
    /* Duplicates, found by sorting a copy: a name must say which class it is. */
    const char **sorted = lclip_malloc_array(n_classes, sizeof *sorted);
    if (!sorted)
        return lclip_fail(LCLIP_E_NOMEM, "%s: out of memory checking %zu class names", what, n_classes);
    memcpy(sorted, class_names, n_classes * sizeof *sorted);
    qsort(sorted, n_classes, sizeof *sorted, by_name);
    lclip_status s = LCLIP_OK;
    for (size_t c = 1; c < n_classes && s == LCLIP_OK; c++)
        if (strcmp(sorted[c - 1], sorted[c]) == 0)
            s = lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: class name \"%s\" appears twice", what, sorted[c]);
    lclip_free(sorted);
    return s;
}

lclip_classifier *lclip_classifier_alloc(lclip_classifier_kind kind, const char *const *class_names,
                                         size_t n_classes, size_t dim)
{
    size_t text_bytes = 0, cells;
    for (size_t c = 0; c < n_classes; c++)
        text_bytes += strlen(class_names[c]) + 1; /* bounded by the name and class limits */
    lclip_classifier *cls = lclip_calloc(1, sizeof *cls);
    if (!cls || !lclip_mul_size(n_classes, dim, &cells)) {
        lclip_free(cls);
        lclip_fail(LCLIP_E_NOMEM, "classifier: out of memory for %zu classes of dimension %zu", n_classes, dim);
        return NULL;
    }
    cls->kind = kind;
    cls->n_classes = n_classes;
    cls->dim = dim;
    cls->vectors = lclip_malloc_array(cells, sizeof(float));
    cls->bias = lclip_calloc(n_classes, sizeof(float));
    cls->names = lclip_malloc_array(n_classes, sizeof(char *));
    cls->name_text = lclip_malloc(text_bytes);
    if (!cls->vectors || !cls->bias || !cls->names || !cls->name_text) {
        lclip_classifier_free(cls);
        lclip_fail(LCLIP_E_NOMEM, "classifier: out of memory for %zu classes of dimension %zu", n_classes, dim);
        return NULL;
    }
    char *at = cls->name_text;
    for (size_t c = 0; c < n_classes; c++) {
        size_t len = strlen(class_names[c]) + 1;
        memcpy(at, class_names[c], len);
        cls->names[c] = at;
        at += len;
    }
    return cls;
}

int lclip_classifier_logits_bounded(const lclip_classifier *cls, size_t *bad_class)
{
    for (size_t c = 0; c < cls->n_classes; c++) {
        const float *v = cls->vectors + c * cls->dim;
        double squares = 0.0;
        for (size_t d = 0; d < cls->dim; d++)
            squares += (double)v[d] * v[d];
        /* Half of FLT_MAX: room for the rounding of apply's dot product. */
        if (!(fabs((double)cls->logit_scale) * sqrt(squares) + fabs((double)cls->bias[c]) <= FLT_MAX / 2))
            return *bad_class = c, 0;
    }
    return 1;
}

static int all_finite(const float *values, size_t n, size_t *bad)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(values[i]))
            return *bad = i, 0;
    return 1;
}

LCLIP_AVAILABLE_IN_0_4 lclip_status lclip_classifier_create(const float *vectors, const float *bias,
                                                            const char *const *class_names, size_t n_classes,
                                                            size_t dim, float logit_scale,
                                                            lclip_classifier **out)
{
    static const char what[] = "lclip_classifier_create";
    if (!out)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: out is NULL", what);
    *out = NULL;
    if (!vectors)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: vectors is NULL", what);
    if (dim == 0 || dim > LCLIP_CLASSIFIER_MAX_DIM)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: dim %zu is outside 1..%u", what, dim,
                          LCLIP_CLASSIFIER_MAX_DIM);
    lclip_status s = lclip_classifier_check_names(what, class_names, n_classes);
    if (s != LCLIP_OK)
        return s;
    size_t bad;
    if (!all_finite(vectors, n_classes * dim, &bad))
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: vector %zu has a non-finite value at %zu", what,
                          bad / dim, bad % dim);
    if (bias && !all_finite(bias, n_classes, &bad))
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: bias %zu is not finite", what, bad);
    if (!isfinite(logit_scale))
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: logit_scale is not finite", what);
    lclip_classifier *cls = lclip_classifier_alloc(LCLIP_CLASSIFIER_VECTORS, class_names, n_classes, dim);
    if (!cls)
        return LCLIP_E_NOMEM;
    memcpy(cls->vectors, vectors, n_classes * dim * sizeof(float));
    if (bias)
        memcpy(cls->bias, bias, n_classes * sizeof(float));
    cls->logit_scale = logit_scale;
    if (!lclip_classifier_logits_bounded(cls, &bad)) {
        lclip_classifier_free(cls);
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT,
                          "%s: class %zu's logits overflow float (logit_scale x |vector| + |bias| is too large)",
                          what, bad);
    }
    *out = cls;
    return LCLIP_OK;
}

LCLIP_AVAILABLE_IN_0_4 void lclip_classifier_free(lclip_classifier *cls)
{
    if (!cls)
        return;
    lclip_free(cls->vectors);
    lclip_free(cls->bias);
    lclip_free(cls->names);
    lclip_free(cls->name_text);
    lclip_free(cls);
}

LCLIP_AVAILABLE_IN_0_4 size_t lclip_classifier_classes(const lclip_classifier *cls)
{
    return cls ? cls->n_classes : 0;
}

LCLIP_AVAILABLE_IN_0_4 size_t lclip_classifier_dim(const lclip_classifier *cls)
{
    return cls ? cls->dim : 0;
}

LCLIP_AVAILABLE_IN_0_4 lclip_classifier_kind lclip_classifier_get_kind(const lclip_classifier *cls)
{
    return cls ? cls->kind : LCLIP_CLASSIFIER_VECTORS;
}

LCLIP_AVAILABLE_IN_0_4 const char *lclip_classifier_class_name(const lclip_classifier *cls, size_t index)
{
    return cls && index < cls->n_classes ? cls->names[index] : NULL;
}

LCLIP_AVAILABLE_IN_0_4 float lclip_classifier_logit_scale(const lclip_classifier *cls)
{
    return cls ? cls->logit_scale : NAN;
}

LCLIP_AVAILABLE_IN_0_4 const float *lclip_classifier_vectors(const lclip_classifier *cls)
{
    return cls ? cls->vectors : NULL;
}

LCLIP_AVAILABLE_IN_0_4 const float *lclip_classifier_bias(const lclip_classifier *cls)
{
    return cls ? cls->bias : NULL;
}

size_t lclip_argmax(const float *values, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (values[i] > values[best])
            best = i;
    return best;
}

/* |row|, or 0 for a row with a non-finite value (both refused by apply). */
static double finite_norm(const float *row, size_t dim)
{
    double squares = 0.0;
    for (size_t d = 0; d < dim; d++) {
        if (!isfinite(row[d]))
            return 0.0;
        squares += (double)row[d] * row[d];
    }
    return sqrt(squares);
}

/* One embedding's logits into logits[n_classes] and, if probs, its softmax
 * (the largest logit subtracted first, so that exp cannot overflow); probs
 * may be logits. */
static void classify_row(const lclip_classifier *cls, const float *row, double norm, float *logits, float *probs)
{
    size_t k = cls->n_classes, dim = cls->dim;
    double max = -INFINITY;
    for (size_t c = 0; c < k; c++) {
        const float *v = cls->vectors + c * dim;
        double dot = 0.0;
        for (size_t d = 0; d < dim; d++)
            dot += (double)row[d] * v[d];
        logits[c] = (float)(cls->logit_scale * (dot / norm) + cls->bias[c]);
        if (logits[c] > max) /* the rounded value, which the softmax below reads */
            max = logits[c];
    }
    if (!probs)
        return;
    double sum = 0.0;
    for (size_t c = 0; c < k; c++)
        sum += exp((double)logits[c] - max);
    for (size_t c = 0; c < k; c++)
        probs[c] = (float)(exp((double)logits[c] - max) / sum);
}

LCLIP_AVAILABLE_IN_0_4 lclip_status lclip_classifier_apply(const lclip_classifier *cls, const float *embeddings,
                                                           size_t n, size_t dim, float *logits, float *probs)
{
    static const char what[] = "lclip_classifier_apply";
    if (!cls)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: the classifier is NULL", what);
    if (n == 0)
        return LCLIP_OK;
    if (!embeddings)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: embeddings is NULL", what);
    if (dim != cls->dim)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: embeddings of dimension %zu, but the classifier's is %zu",
                          what, dim, cls->dim);
    /* Every row is checked before anything is written. */
    for (size_t i = 0; i < n; i++)
        if (finite_norm(embeddings + i * dim, dim) == 0.0)
            return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: embedding %zu is zero or has a non-finite value",
                              what, i);
    size_t k = cls->n_classes;
    for (size_t i = 0; i < n && (logits || probs); i++) {
        const float *row = embeddings + i * dim;
        /* Without logits, probs holds them until the softmax replaces them. */
        float *row_logits = logits ? logits + i * k : probs + i * k;
        classify_row(cls, row, finite_norm(row, dim), row_logits, probs ? probs + i * k : NULL);
    }
    return LCLIP_OK;
}
