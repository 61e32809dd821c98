/* The pass loop both encoders use: inputs are prepared (by the team, with
 * n_threads > 1) into a pass-sized buffer (decoded and preprocessed images,
 * tokenized texts), each full buffer goes through the tower in one pass, and
 * the rows land in the caller's output only when the call succeeds. With
 * per-input results (lclip_batch_options) a failed input is left out of its
 * pass and gets a NaN row. Progress is reported, and cancellation checked,
 * after each pass. */
#ifndef LCLIP_COMMON_BATCH_H
#define LCLIP_COMMON_BATCH_H

#include <stddef.h>

#include "common/team.h"
#include "libclip.h"

/* Token rows per tower pass: bounds the scratch memory of a large batch
 * while keeping the GEMMs large. A vision row carries about 60 KB of
 * activations and scratch (ViT-B), a text row far less, hence two budgets:
 * 768 image rows stay within 64 MB for ViT-B; 4096 text rows hold 53 full
 * contexts, or hundreds of packed captions. */
#define LCLIP_MAX_IMAGE_ROWS_PER_PASS 768
#define LCLIP_MAX_TEXT_ROWS_PER_PASS 4096

typedef struct lclip_batch {
    size_t n;           /* inputs */
    size_t per_pass;    /* inputs per tower pass (0: 1) */
    size_t input_bytes; /* one prepared input */
    size_t dim;         /* floats per output row */
    /* Resolved: normalize (L2-normalise the rows), n_threads (> 1 runs the
     * passes on a team), log. */
    const lclip_options *options;
    /* Whether the tower's products run on the BLAS (the CBLAS engine): then,
     * with n_threads > 0, the BLAS runs single-threaded for the call
     * (lclip_blas_enter). The oneDNN engine's make none (but for its
     * out-of-memory fallback), and the BLAS's settings stay as the process
     * has them. */
    int runs_blas;
    /* The caller's per-call options (NULL: none): per-input results,
     * progress. */
    const lclip_batch_options *control;
    const void *ctx;    /* passed to both callbacks */
    /* Inputs that need no preparing (already tensors or ids, which cannot
     * fail one by one): input i is at ready + i * input_bytes and prepare is
     * not called. NULL otherwise. */
    const void *ready;
    /* Writes prepared input i into input. With n_threads > 1, the team's
     * threads call it at once for different inputs; the calling thread
     * reports their failures, in input order. */
    lclip_status (*prepare)(const void *ctx, size_t i, void *input);
    /* Encodes count prepared inputs into out[count][dim] on team. */
    lclip_status (*run)(const void *ctx, lclip_team *team, const void *inputs, size_t count, float *out);
} lclip_batch;

/* out[n][dim] (and control->item_status), untouched unless the call succeeds. */
lclip_status lclip_batch_encode(const lclip_batch *batch, float *out);

/* Whether resolved per-call options ask for per-input results. */
int lclip_batch_per_input(const lclip_batch_options *resolved);

#endif
