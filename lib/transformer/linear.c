#include <cblas.h>
#include <string.h>

#include "transformer/activation.h"
#include "transformer/transformer.h"

/* Output columns are split at multiples of 16 floats (64 bytes), so two
 * members share at most one cache line of each row of y. */
#define COLUMN_ALIGN 16

void lclip_linear_part(const lclip_linear_step *step, int part, int parts)
{
    const lclip_linear *lin = step->lin;
    size_t begin, end, out = (size_t)lin->out;
    lclip_team_share(out, COLUMN_ALIGN, part, parts, &begin, &end);
    if (begin == end)
        return;
    size_t columns = end - begin;
    float *y = step->y + begin, beta = 0.0f;
    if (lin->bias) {
        /* Start from the bias and let the GEMM accumulate onto it (adding it
         * afterwards instead costs OpenBLAS a pass zeroing y for beta = 0). */
        for (int r = 0; r < step->rows; r++)
            memcpy(y + (size_t)r * out, lin->bias + begin, columns * sizeof *y);
        beta = 1.0f;
    }
    /* This member's columns of y are its rows of W: a contiguous slice. */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, step->rows, (int)columns, lin->in, 1.0f, step->x,
                lin->in, lin->weight + begin * (size_t)lin->in, lin->in, beta, y, (int)out);
    /* Finish the member's own columns row by row, while each row is still
     * in cache, rather than in separate passes over the whole matrix. */
    for (int r = 0; r < step->rows && (step->activate || step->residual); r++) {
        float *row = y + (size_t)r * out;
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

void lclip_linear_run(lclip_team *team, const lclip_linear_step *step)
{
    lclip_team_run(team, linear_task, (void *)step);
}

void lclip_linear_forward(lclip_team *team, const lclip_linear *lin, const float *x, float *y, int rows)
{
    lclip_linear_step step = {.lin = lin, .x = x, .y = y, .rows = rows};
    lclip_linear_run(team, &step);
}
