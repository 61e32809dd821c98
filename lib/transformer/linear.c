#include <cblas.h>
#include <string.h>

#include "transformer/transformer.h"

void lclip_linear_forward(const lclip_linear *lin, const float *x, float *y, int rows)
{
    float beta = 0.0f;
    if (lin->bias) {
        /* Start from the bias and let the GEMM accumulate onto it. */
        for (int r = 0; r < rows; r++)
            memcpy(y + (size_t)r * (size_t)lin->out, lin->bias, (size_t)lin->out * sizeof *y);
        beta = 1.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, lin->out, lin->in, 1.0f, x, lin->in,
                lin->weight, lin->in, beta, y, lin->out);
}
