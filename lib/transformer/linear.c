#include <cblas.h>
#include <string.h>

#include "transformer/activation.h"
#include "transformer/transformer.h"

/* Output columns are split at multiples of 16 floats: a 64-byte line of y
 * is never written by two members. */
#define COLUMN_ALIGN 16

void lclip_linear_part(const lclip_linear_step *step, int part, int parts)
{
    const lclip_linear *lin = step->lin;
    size_t begin, end, out = (size_t)lin->out;
    lclip_team_share(out, COLUMN_ALIGN, part, parts, &begin, &end);
    if (begin == end)
        return;
    size_t columns = end - begin;
    const float *bias = lin->bias ? lin->bias + begin : NULL;
    int epilogue = step->activate || step->residual;
    float *y = step->y + begin, beta = 0.0f;
    if (bias && !epilogue) {
        /* Start from the bias and let the GEMM accumulate onto it. */
        for (int r = 0; r < step->rows; r++)
            memcpy(y + (size_t)r * out, bias, columns * sizeof *y);
        beta = 1.0f;
    }
    /* This member's columns of y are its rows of W: a contiguous slice. */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, step->rows, (int)columns, lin->in, 1.0f, step->x,
                lin->in, lin->weight + begin * (size_t)lin->in, lin->in, beta, y, (int)out);
    /* The block is still in cache: finish it here rather than in passes of
     * its own, the bias included (the same single rounding as above). */
    for (int r = 0; r < step->rows && epilogue; r++) {
        float *row = y + (size_t)r * out;
        for (size_t c = 0; bias && c < columns; c++)
            row[c] += bias[c];
        if (step->activate)
            lclip_activation_apply(step->act, row, columns);
        if (step->residual) {
            float *sum = step->residual + (size_t)r * out + begin;
            for (size_t c = 0; c < columns; c++)
                sum[c] += row[c];
        }
    }
}

static void linear_task(void *ctx, int part, int parts)
{
    lclip_linear_part(ctx, part, parts);
}

void lclip_linear_forward(lclip_team *team, const lclip_linear *lin, const float *x, float *y, int rows)
{
    lclip_linear_step step = {lin, x, y, rows, 0, LCLIP_ACT_QUICK_GELU, NULL};
    lclip_team_run(team, linear_task, &step);
}
