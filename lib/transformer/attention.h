#ifndef LCLIP_TRANSFORMER_ATTENTION_H
#define LCLIP_TRANSFORMER_ATTENTION_H

#include "transformer/transformer.h"

/* One head's attention over one packed sequence: q, k, v and out are
 * [rows][width] matrices of which the sequence's rows are used; with
 * d = width / heads, the head owns columns [head * d, (head + 1) * d).
 * scores is scratch of seq->length^2 floats. Its two products run on gemm,
 * the engine of the tower's layers (NULL: the CBLAS). */
void lclip_attention_head(const lclip_gemm *gemm, const float *q, const float *k, const float *v, float *out,
                          int width, int heads, int head, const lclip_sequence *seq, int causal, float *scores);

/* The same with queries of their own: rows [q_start, q_start + queries) of q
 * attend to the sequence's rows of k and v, and the results go to the same
 * rows of out (the attention pool: one mean-token query per image over all
 * of its tokens). scores is scratch of queries * seq->length floats; with
 * causal, query i sees keys 0..i. */
void lclip_attention_head_queries(const lclip_gemm *gemm, const float *q, int q_start, int queries, const float *k,
                                  const float *v, float *out, int width, int heads, int head,
                                  const lclip_sequence *seq, int causal, float *scores);

#endif
