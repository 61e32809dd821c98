/* The cblas engine: each member's share of output columns is one
 * cblas_sgemm on the checkpoint's weights in place. */
#include <cblas.h>
#include <string.h>

#include "common/team.h"
#include "gemm/gemm_engines.h"

/* Output columns are split at multiples of 16 floats (64 bytes), so two
 * members share at most one cache line of each row of y. */
#define COLUMN_ALIGN 16

void lclip_gemm_cblas_part(const lclip_linear *lin, const float *x, int rows, float *y, int part, int parts,
                           size_t *begin, size_t *end)
{
    size_t out = (size_t)lin->out;
    lclip_team_share(out, COLUMN_ALIGN, part, parts, begin, end);
    if (*begin == *end)
        return;
    size_t columns = *end - *begin;
    float *slice = y + *begin, beta = 0.0f;
    if (lin->bias) {
        /* Start from the bias and let the GEMM accumulate onto it (adding it
         * afterwards instead costs OpenBLAS a pass zeroing y for beta = 0). */
        for (int r = 0; r < rows; r++)
            memcpy(slice + (size_t)r * out, lin->bias + *begin, columns * sizeof *slice);
        beta = 1.0f;
    }
    /* This member's columns of y are its rows of W: a contiguous slice. */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, (int)columns, lin->in, 1.0f, x, lin->in,
                lin->weight + *begin * (size_t)lin->in, lin->in, beta, slice, (int)out);
}
