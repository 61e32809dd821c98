/* The one pre-LN transformer both towers run: for each block
 *     x = x + attention(ln_1(x));  x = x + mlp(ln_2(x))
 * over a batch of sequences packed row after row into one matrix, so every
 * linear layer is a single GEMM over all tokens of all sequences. Only the
 * attention scores are per sequence. The text tower passes causal = 1.
 *
 * Every step runs on a team (common/team.h; NULL runs it on the calling
 * thread): linear layers split their output columns, layer norms their
 * rows, attention its (sequence, head) pairs. */
#ifndef LCLIP_TRANSFORMER_TRANSFORMER_H
#define LCLIP_TRANSFORMER_TRANSFORMER_H

#include <stddef.h>

#include "common/team.h"
#include "libclip.h"
#include "transformer/weights.h"

/* Where each packed sequence lives: rows [start, start + length). */
typedef struct lclip_sequence {
    int start, length;
} lclip_sequence;

/* x: [rows][width], updated in place. sequences cover rows in order. */
lclip_status lclip_transformer_forward(lclip_team *team, const lclip_transformer_weights *tf, float *x, int rows,
                                       const lclip_sequence *sequences, int n_sequences, int causal);

/* y[r] = layer_norm(x[r]) for rows rows of width floats (y may equal x). */
void lclip_layer_norm_rows(const lclip_layer_norm *ln, float eps, const float *x, float *y, int rows,
                           int width);
/* The same over all rows, shared out by rows on team. */
void lclip_layer_norm_forward(lclip_team *team, const lclip_layer_norm *ln, float eps, const float *x, float *y,
                              int rows, int width);

/* y = x W^T + b for rows rows: x [rows][in], y [rows][out]. Fails only when
 * the engine cannot set up the product (out of memory). */
lclip_status lclip_linear_forward(lclip_team *team, const lclip_linear *lin, const float *x, float *y, int rows);

/* A linear layer, y = x W^T + b, and what each member then does to its
 * block of output columns, row by row: the activation, then, with a
 * residual, residual += y instead of storing y (y is then scratch whose
 * contents are unspecified). With activate_sum (and a residual) the
 * activation applies to the sum instead, after the add (a ResNet block's
 * ReLU). */
typedef struct lclip_linear_step {
    const lclip_linear *lin;
    const float *x;
    float *y;
    int rows;
    int activate;
    lclip_activation act;
    float *residual;      /* [rows][out] or NULL */
    int activate_sum;     /* activate residual + y rather than y */
    lclip_gemm_cache *cache;  /* the pass's (lclip_gemm_cache_new), or NULL */
    const struct lclip_linear_step *input_of; /* begun before, on the same x: its converted x serves (or NULL) */
    lclip_gemm_fusion fusion; /* set by lclip_linear_begin, with gemm */
    lclip_gemm_step gemm;
} lclip_linear_step;

/* Before a step runs on a team of parts members: what can fail. Every
 * begun step is ended, whether it ran or not. */
lclip_status lclip_linear_begin(lclip_linear_step *step, int parts);
void lclip_linear_end(lclip_linear_step *step);
/* This member's share of a begun step: its block of columns of y. Where
 * the engine converts x first (lclip_linear_converts), every member runs
 * lclip_linear_convert_part as a team step before any runs its part. */
void lclip_linear_part(const lclip_linear_step *step, int part);
int lclip_linear_converts(const lclip_linear_step *step);
void lclip_linear_convert_part(const lclip_linear_step *step, int part);
/* begin, the whole step shared out over team, end. */
lclip_status lclip_linear_run(lclip_team *team, lclip_linear_step *step);

#endif
