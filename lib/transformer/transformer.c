#include "transformer/transformer.h"

#include "common/alloc.h"
#include "common/error.h"
#include "transformer/attention.h"

/* Scratch for one forward pass, sized for its rows (scores: one matrix per
 * team member), and the engine's objects its steps reuse; per call, so that
 * one handle can serve several threads at once. */
typedef struct workspace {
    float *normed, *q, *k, *v, *attended, *hidden, *scores;
    lclip_gemm_cache *cache;
} workspace;

static void workspace_free(workspace *ws)
{
    lclip_free(ws->normed);
    lclip_free(ws->q);
    lclip_free(ws->k);
    lclip_free(ws->v);
    lclip_free(ws->attended);
    lclip_free(ws->hidden);
    lclip_free(ws->scores);
    lclip_gemm_cache_free(ws->cache);
}

static lclip_status workspace_alloc(workspace *ws, const lclip_transformer_weights *tf, int rows, int longest,
                                    int members)
{
    const lclip_transformer_config *cfg = &tf->cfg;
    lclip_status s = lclip_gemm_cache_new(tf->engine, &ws->cache);
    if (s != LCLIP_OK)
        return s;
    size_t token_floats = (size_t)rows * (size_t)cfg->width;
    ws->normed = lclip_malloc_scratch(token_floats, sizeof(float));
    ws->q = lclip_malloc_scratch(token_floats, sizeof(float));
    ws->k = lclip_malloc_scratch(token_floats, sizeof(float));
    ws->v = lclip_malloc_scratch(token_floats, sizeof(float));
    ws->attended = lclip_malloc_scratch(token_floats, sizeof(float));
    ws->hidden = lclip_malloc_scratch((size_t)rows * (size_t)cfg->mlp_width, sizeof(float));
    ws->scores = lclip_malloc_scratch((size_t)members * (size_t)longest * (size_t)longest, sizeof(float));
    if (!ws->normed || !ws->q || !ws->k || !ws->v || !ws->attended || !ws->hidden || !ws->scores) {
        workspace_free(ws);
        return lclip_fail(LCLIP_E_NOMEM, "out of memory for a %d-token forward pass", rows);
    }
    return LCLIP_OK;
}

/* The steps of a block, each run by the whole team. */
typedef struct block_pass {
    const lclip_block_weights *b;
    const lclip_transformer_config *cfg;
    const lclip_gemm *engine;
    float *x;
    int rows;
    const lclip_sequence *sequences;
    int n_sequences, causal, longest;
    workspace *ws;
} block_pass;

/* q, k and v in one team step: each member does its columns of all three. */
static void qkv_task(void *ctx, int part, int parts)
{
    const lclip_linear_step *steps = ctx;
    (void)parts;
    for (int i = 0; i < 3; i++)
        lclip_linear_part(&steps[i], part);
}

/* Where the engine converts x first, q's conversion serves k and v too. */
static void qkv_convert_task(void *ctx, int part, int parts)
{
    const lclip_linear_step *steps = ctx;
    (void)parts;
    lclip_linear_convert_part(&steps[0], part);
}

static lclip_status run_qkv(lclip_team *team, const block_pass *p)
{
    const lclip_linear *projections[3] = {&p->b->q, &p->b->k, &p->b->v};
    float *outputs[3] = {p->ws->q, p->ws->k, p->ws->v};
    lclip_linear_step steps[3];
    lclip_status s = LCLIP_OK;
    int begun = 0;
    while (begun < 3 && s == LCLIP_OK) {
        steps[begun] = (lclip_linear_step){.lin = projections[begun], .x = p->ws->normed, .y = outputs[begun],
                                           .rows = p->rows, .cache = p->ws->cache,
                                           .input_of = begun > 0 ? &steps[0] : NULL};
        s = lclip_linear_begin(&steps[begun++], lclip_team_size(team));
    }
    if (s == LCLIP_OK && lclip_linear_converts(&steps[0]))
        lclip_team_run(team, qkv_convert_task, steps);
    if (s == LCLIP_OK)
        lclip_team_run(team, qkv_task, steps);
    while (begun > 0)
        lclip_linear_end(&steps[--begun]);
    return s;
}

/* The (sequence, head) pairs are shared out; each member has its own scores. */
static void attention_task(void *ctx, int part, int parts)
{
    const block_pass *p = ctx;
    int heads = p->cfg->heads;
    size_t begin, end;
    lclip_team_share((size_t)p->n_sequences * (size_t)heads, 1, part, parts, &begin, &end);
    float *scores = p->ws->scores + (size_t)part * (size_t)p->longest * (size_t)p->longest;
    for (size_t pair = begin; pair < end; pair++)
        lclip_attention_head(p->engine, p->ws->q, p->ws->k, p->ws->v, p->ws->attended, p->cfg->width, heads,
                             (int)(pair % (size_t)heads), &p->sequences[pair / (size_t)heads], p->causal, scores);
}

static lclip_status block_forward(lclip_team *team, const block_pass *p)
{
    const lclip_transformer_config *cfg = p->cfg;
    workspace *ws = p->ws;
    lclip_linear_step attention_out = {.lin = &p->b->attn_out, .x = ws->attended, .y = ws->normed, .rows = p->rows,
                                       .residual = p->x, .cache = ws->cache};
    lclip_linear_step mlp_in = {.lin = &p->b->fc1, .x = ws->normed, .y = ws->hidden, .rows = p->rows,
                                .activate = 1, .act = cfg->act, .cache = ws->cache};
    lclip_linear_step mlp_out = {.lin = &p->b->fc2, .x = ws->hidden, .y = ws->normed, .rows = p->rows,
                                 .residual = p->x, .cache = ws->cache};
    lclip_layer_norm_forward(team, &p->b->ln1, cfg->ln_eps, p->x, ws->normed, p->rows, cfg->width);
    lclip_status s = run_qkv(team, p);
    if (s == LCLIP_OK) {
        lclip_team_run(team, attention_task, (void *)p);
        s = lclip_linear_run(team, &attention_out); /* x += attention */
    }
    if (s == LCLIP_OK) {
        lclip_layer_norm_forward(team, &p->b->ln2, cfg->ln_eps, p->x, ws->normed, p->rows, cfg->width);
        s = lclip_linear_run(team, &mlp_in);
    }
    if (s == LCLIP_OK)
        s = lclip_linear_run(team, &mlp_out); /* x += mlp */
    return s;
}

lclip_status lclip_transformer_forward(lclip_team *team, const lclip_transformer_weights *tf, float *x, int rows,
                                       const lclip_sequence *sequences, int n_sequences, int causal)
{
    int longest = 1;
    for (int s = 0; s < n_sequences; s++)
        longest = sequences[s].length > longest ? sequences[s].length : longest;
    workspace ws = {0};
    lclip_status status = workspace_alloc(&ws, tf, rows, longest, lclip_team_size(team));
    if (status != LCLIP_OK)
        return status;
    for (int layer = 0; layer < tf->cfg.layers && status == LCLIP_OK; layer++) {
        block_pass p = {.b = &tf->blocks[layer], .cfg = &tf->cfg, .engine = tf->engine, .x = x, .rows = rows,
                        .sequences = sequences, .n_sequences = n_sequences, .causal = causal,
                        .longest = longest, .ws = &ws};
        status = block_forward(team, &p);
    }
    workspace_free(&ws);
    return status;
}
