#ifndef LCLIP_TRANSFORMER_ATTENTION_H
#define LCLIP_TRANSFORMER_ATTENTION_H

#include "transformer/transformer.h"

/* Attention of one packed sequence: q, k, v and out are [rows][width]
 * matrices of which the sequence's rows are used, heads split the columns.
 * scores is scratch of seq->length^2 floats. */
void lclip_attention_heads(const float *q, const float *k, const float *v, float *out, int width, int heads,
                           const lclip_sequence *seq, int causal, float *scores);

#endif
