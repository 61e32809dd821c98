#include "transformer/activation.h"
#include "transformer/transformer.h"

lclip_status lclip_linear_begin(lclip_linear_step *step, int parts)
{
    return lclip_gemm_step_begin(&step->gemm, step->lin, step->rows, parts);
}

void lclip_linear_end(lclip_linear_step *step)
{
    lclip_gemm_step_end(&step->gemm);
}

void lclip_linear_part(const lclip_linear_step *step, int part)
{
    size_t begin, end, out = (size_t)step->lin->out;
    lclip_gemm_step_part(&step->gemm, step->x, step->y, part, &begin, &end);
    /* Finish the member's own columns row by row, while each row is still
     * in cache, rather than in separate passes over the whole matrix. */
    for (int r = 0; r < step->rows && begin < end && (step->activate || step->residual); r++) {
        float *row = step->y + (size_t)r * out + begin;
        if (step->activate)
            lclip_activation_apply(step->act, row, end - begin);
        if (step->residual) {
            float *sum = step->residual + (size_t)r * out + begin;
            for (size_t c = 0; c < end - begin; c++)
                sum[c] += row[c];
        }
    }
}

static void linear_task(void *ctx, int part, int parts)
{
    (void)parts;
    lclip_linear_part(ctx, part);
}

lclip_status lclip_linear_run(lclip_team *team, lclip_linear_step *step)
{
    lclip_status s = lclip_linear_begin(step, lclip_team_size(team));
    if (s == LCLIP_OK)
        lclip_team_run(team, linear_task, step);
    lclip_linear_end(step);
    return s;
}

lclip_status lclip_linear_forward(lclip_team *team, const lclip_linear *lin, const float *x, float *y, int rows)
{
    lclip_linear_step step = {.lin = lin, .x = x, .y = y, .rows = rows};
    return lclip_linear_run(team, &step);
}
