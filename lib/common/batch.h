/* The pass loop both encoders use: inputs are prepared one by one into a
 * pass-sized buffer (decoded and preprocessed images, tokenized texts), each
 * full buffer goes through the tower in one pass, and the rows land in the
 * caller's output only when every input succeeded. */
#ifndef LCLIP_COMMON_BATCH_H
#define LCLIP_COMMON_BATCH_H

#include <stddef.h>

#include "libclip.h"

/* Tokens per tower pass: bounds the scratch memory of a large batch (about
 * 70 MB for ViT-L/14) while keeping the GEMMs large. */
#define LCLIP_MAX_ROWS_PER_PASS 4096

typedef struct lclip_batch {
    size_t n;           /* inputs */
    size_t per_pass;    /* inputs per tower pass, at least 1 */
    size_t input_bytes; /* one prepared input */
    size_t dim;         /* floats per output row */
    int normalize;      /* L2-normalise the rows */
    const void *ctx;    /* passed to both callbacks */
    /* Writes prepared input i into input. */
    lclip_status (*prepare)(const void *ctx, size_t i, void *input);
    /* Encodes count prepared inputs into out[count][dim]. */
    lclip_status (*run)(const void *ctx, const void *inputs, size_t count, float *out);
} lclip_batch;

/* out[n][dim], untouched unless the whole batch succeeds. */
lclip_status lclip_batch_encode(const lclip_batch *batch, float *out);

#endif
