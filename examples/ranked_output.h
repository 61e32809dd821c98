/* Printing a classifier's probabilities for one image, best first, as
 * clip-zeroshot and clip-probe print them: "%7.2f%%  CLASS" per line.
 * Header-only: the tools are one file each. */
#ifndef CLIP_TOOLS_RANKED_OUTPUT_H
#define CLIP_TOOLS_RANKED_OUTPUT_H

#include <stdio.h>
#include <stdlib.h>

#include "libclip.h"

typedef struct ranked_class {
    size_t index;
    float probability;
} ranked_class;

static inline int ranked_by_probability(const void *a, const void *b)
{
    const ranked_class *x = a, *y = b;
    if (x->probability != y->probability)
        return (x->probability < y->probability) - (x->probability > y->probability);
    return (x->index > y->index) - (x->index < y->index); /* ties in class order */
}

/* Prints the top (at most) classes of probs[n_classes]; -1 when out of memory. */
static inline int print_ranked(const lclip_classifier *cls, const float *probs, size_t top)
{
    size_t n = lclip_classifier_classes(cls);
    ranked_class *ranks = malloc(n * sizeof *ranks);
    if (!ranks)
        return -1;
    for (size_t c = 0; c < n; c++)
        ranks[c] = (ranked_class){c, probs[c]};
    qsort(ranks, n, sizeof *ranks, ranked_by_probability);
    for (size_t i = 0; i < n && i < top; i++)
        printf("%7.2f%%  %s\n", 100.0 * ranks[i].probability, lclip_classifier_class_name(cls, ranks[i].index));
    free(ranks);
    return 0;
}

#endif
