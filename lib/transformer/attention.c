/* Multi-head scaled dot-product attention over packed sequences. */
#include <math.h>

#include "common/multiversion.h"
#include "transformer/attention.h"
#include "transformer/fast_exp.h"

/* Row-wise softmax of scores [rows][n]; with causal, row i sees columns 0..i. */
LCLIP_MULTIVERSION static void softmax_rows(float *scores, int rows, int n, int causal)
{
    for (int i = 0; i < rows; i++) {
        float *row = scores + (size_t)i * (size_t)n;
        int visible = causal && i + 1 < n ? i + 1 : n;
        float max = row[0];
        for (int j = 1; j < visible; j++)
            max = row[j] > max ? row[j] : max;
        float sum = 0.0f;
        for (int j = 0; j < visible; j++) {
            row[j] = lclip_fast_exp(row[j] - max);
            sum += row[j];
        }
        float inv = 1.0f / sum;
        for (int j = 0; j < visible; j++)
            row[j] *= inv;
        for (int j = visible; j < n; j++)
            row[j] = 0.0f;
    }
}

void lclip_attention_head_queries(const lclip_gemm *gemm, const float *q, int q_start, int queries, const float *k,
                                  const float *v, float *out, int width, int heads, int head,
                                  const lclip_sequence *seq, int causal, float *scores)
{
    int head_dim = width / heads, n = seq->length;
    float scale = 1.0f / sqrtf((float)head_dim);
    size_t column = (size_t)head * (size_t)head_dim;
    size_t key_at = (size_t)seq->start * (size_t)width + column, query_at = (size_t)q_start * (size_t)width + column;
    /* scores = scale * Q_h K_h^T; the head's columns are a strided view */
    lclip_gemm_product(gemm, 1, queries, n, head_dim, scale, q + query_at, (size_t)width, k + key_at, (size_t)width,
                       scores, (size_t)n);
    softmax_rows(scores, queries, n, causal);
    /* out_h = P V_h, written straight into the head's columns */
    lclip_gemm_product(gemm, 0, queries, head_dim, n, 1.0f, scores, (size_t)n, v + key_at, (size_t)width,
                       out + query_at, (size_t)width);
}

void lclip_attention_head(const lclip_gemm *gemm, const float *q, const float *k, const float *v, float *out,
                          int width, int heads, int head, const lclip_sequence *seq, int causal, float *scores)
{
    lclip_attention_head_queries(gemm, q, seq->start, seq->length, k, v, out, width, heads, head, seq, causal, scores);
}
