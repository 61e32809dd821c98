/* The classifier object behind lclip_classifier (libclip.h, "Classifiers"):
 * its layout, the checks every way of making one shares, and the limits the
 * file format enforces. */
#ifndef LCLIP_CLASSIFY_CLASSIFIER_H
#define LCLIP_CLASSIFY_CLASSIFIER_H

#include <stddef.h>

#include "libclip.h"

/* Limits on any classifier, made or loaded: a file naming more is refused
 * before anything is allocated for it. */
#define LCLIP_CLASSIFIER_MAX_CLASSES 1000000u
#define LCLIP_CLASSIFIER_MAX_DIM 65536u
#define LCLIP_CLASSIFIER_MAX_NAME_BYTES 1024u

struct lclip_classifier {
    lclip_classifier_kind kind;
    size_t n_classes, dim;
    float logit_scale;
    float *vectors; /* [n_classes][dim] */
    float *bias;    /* [n_classes] */
    char **names;   /* [n_classes], pointing into name_text */
    char *name_text;
};

/* Checks class_names[n_classes] (what, e.g. "lclip_classifier_create", opens
 * messages): each non-NULL, non-empty, valid UTF-8, at most
 * LCLIP_CLASSIFIER_MAX_NAME_BYTES bytes and unlike the others. */
lclip_status lclip_classifier_check_names(const char *what, const char *const *class_names, size_t n_classes);

/* 1 if text[0..len) is valid UTF-8 without NUL bytes. */
int lclip_classifier_valid_utf8(const char *text, size_t len);

/* A classifier with room for n_classes x dim and copies of the names
 * (already checked); vectors, bias and logit scale are the caller's to fill.
 * NULL when memory runs out (the error set). */
lclip_classifier *lclip_classifier_alloc(lclip_classifier_kind kind, const char *const *class_names,
                                         size_t n_classes, size_t dim);

/* 1 if every logit the classifier can give is finite in float: for each
 * class, |logit_scale| x |vector| + |bias| (the largest |logit| of a unit
 * embedding) stays well inside float's range. Otherwise 0 and *bad_class
 * the first class beyond it. Made and loaded classifiers are checked. */
int lclip_classifier_logits_bounded(const lclip_classifier *cls, size_t *bad_class);

/* Index of the largest of values[n] (the first on ties). */
size_t lclip_argmax(const float *values, size_t n);

#endif
