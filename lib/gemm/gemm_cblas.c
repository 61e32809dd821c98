/* The cblas engine: each member's share of output columns is one
 * cblas_sgemm on the checkpoint's weights in place, written into y; and
 * the products of activations. */
#include <cblas.h>
#include <string.h>

#include "common/team.h"
#include "gemm/gemm_engines.h"

/* Output columns are split at multiples of 16 floats (64 bytes), so two
 * members share at most one cache line of each row of y. */
#define COLUMN_ALIGN 16

void lclip_gemm_cblas_run(const lclip_gemm_step *step, int block, lclip_gemm_block *out)
{
    const lclip_linear *lin = step->lin;
    size_t ld = (size_t)lin->out;
    lclip_team_share(ld, COLUMN_ALIGN, block, step->parts, &out->begin, &out->end);
    out->row_begin = 0;
    out->row_end = step->rows;
    out->data = step->y + out->begin;
    out->ld = ld;
    if (out->begin == out->end)
        return;
    size_t columns = out->end - out->begin;
    float beta = 0.0f;
    if (lin->bias) {
        /* Start from the bias and let the GEMM accumulate onto it (adding it
         * afterwards instead costs OpenBLAS a pass zeroing y for beta = 0). */
        for (int r = 0; r < step->rows; r++)
            memcpy(out->data + (size_t)r * ld, lin->bias + out->begin, columns * sizeof *out->data);
        beta = 1.0f;
    }
    /* This member's columns of y are its rows of W: a contiguous slice. */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, step->rows, (int)columns, lin->in, 1.0f, step->x, lin->in,
                lin->weight + out->begin * (size_t)lin->in, lin->in, beta, out->data, (int)ld);
}

void lclip_gemm_cblas_product(int b_transposed, int m, int n, int k, float alpha, const float *a, size_t lda,
                              const float *b, size_t ldb, float *c, size_t ldc)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, b_transposed ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, (int)lda,
                b, (int)ldb, 0.0f, c, (int)ldc);
}
