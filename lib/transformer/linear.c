#include <string.h>

#include "common/multiversion.h"
#include "transformer/activation.h"
#include "transformer/transformer.h"

/* The epilogue for the engine to fuse, unless it activates before an add. */
static const lclip_gemm_fusion *fusion_of(lclip_linear_step *step)
{
    static const lclip_gemm_activation acts[] = {
        [LCLIP_ACT_QUICK_GELU] = LCLIP_GEMM_ACT_QUICK_GELU,
        [LCLIP_ACT_GELU] = LCLIP_GEMM_ACT_GELU,
        [LCLIP_ACT_RELU] = LCLIP_GEMM_ACT_RELU,
    };
    if (step->activate && step->residual && !step->activate_sum)
        return NULL;
    step->fusion = (lclip_gemm_fusion){step->residual, step->activate ? acts[step->act] : LCLIP_GEMM_ACT_NONE};
    return &step->fusion;
}

lclip_status lclip_linear_begin(lclip_linear_step *step, int parts)
{
    return lclip_gemm_step_begin(&step->gemm, step->lin, step->x, step->y, step->rows, parts, fusion_of(step),
                                 step->cache, step->input_of ? &step->input_of->gemm : NULL);
}

void lclip_linear_end(lclip_linear_step *step)
{
    lclip_gemm_step_end(&step->gemm);
}

/* A computed block, finished row by row while each row is still in cache
 * rather than in separate passes over the whole matrix: the activation in
 * place, then into y, or added to the residual. */
LCLIP_MULTIVERSION static void finish_block(const lclip_linear_step *step, const lclip_gemm_block *block)
{
    size_t out = (size_t)step->lin->out, columns = block->end - block->begin;
    if (block->fused)
        return;
    for (int r = block->row_begin; r < block->row_end && columns > 0; r++) {
        float *row = block->data + (size_t)(r - block->row_begin) * block->ld;
        float *y = step->y + (size_t)r * out + block->begin;
        int activate_sum = step->activate && step->activate_sum && step->residual;
        if (step->activate && !activate_sum)
            lclip_activation_apply(step->act, row, columns);
        if (step->residual) {
            float *sum = step->residual + (size_t)r * out + block->begin;
            for (size_t c = 0; c < columns; c++)
                sum[c] += row[c];
            if (activate_sum)
                lclip_activation_apply(step->act, sum, columns);
        } else if (row != y) {
            memcpy(y, row, columns * sizeof *y);
        }
    }
}

void lclip_linear_part(const lclip_linear_step *step, int part)
{
    int first, last;
    lclip_gemm_step_blocks(&step->gemm, part, &first, &last);
    for (int b = first; b < last; b++) {
        lclip_gemm_block block;
        lclip_gemm_step_run(&step->gemm, part, b, &block);
        finish_block(step, &block);
    }
}

void lclip_linear_convert_part(const lclip_linear_step *step, int part)
{
    lclip_gemm_step_convert_part(&step->gemm, part);
}

static void convert_task(void *ctx, int part, int parts)
{
    (void)parts;
    lclip_linear_convert_part(ctx, part);
}

static void linear_task(void *ctx, int part, int parts)
{
    (void)parts;
    lclip_linear_part(ctx, part);
}

int lclip_linear_converts(const lclip_linear_step *step)
{
    return lclip_gemm_step_converts(&step->gemm);
}

lclip_status lclip_linear_run(lclip_team *team, lclip_linear_step *step)
{
    lclip_status s = lclip_linear_begin(step, lclip_team_size(team));
    if (s == LCLIP_OK && lclip_linear_converts(step))
        lclip_team_run(team, convert_task, step);
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
