/* The one pre-LN transformer both towers run: for each block
 *     x = x + attention(ln_1(x));  x = x + mlp(ln_2(x))
 * over a batch of sequences packed row after row into one matrix, so every
 * linear layer is a single GEMM over all tokens of all sequences. Only the
 * attention scores are per sequence. The text tower passes causal = 1. */
#ifndef LCLIP_TRANSFORMER_TRANSFORMER_H
#define LCLIP_TRANSFORMER_TRANSFORMER_H

#include <stddef.h>

#include "libclip.h"
#include "load/model.h"

/* Where each packed sequence lives: rows [start, start + length). */
typedef struct lclip_sequence {
    int start, length;
} lclip_sequence;

/* x: [rows][width], updated in place. sequences cover rows in order. */
lclip_status lclip_transformer_forward(const lclip_transformer_weights *tf, float *x, int rows,
                                       const lclip_sequence *sequences, int n_sequences, int causal);

/* y[r] = layer_norm(x[r]) for rows rows of width floats (y may equal x). */
void lclip_layer_norm_rows(const lclip_layer_norm *ln, float eps, const float *x, float *y, int rows,
                           int width);

/* y = x W^T + b for rows rows: x [rows][in], y [rows][out]. */
void lclip_linear_forward(const lclip_linear *lin, const float *x, float *y, int rows);

#endif
