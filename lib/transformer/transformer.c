#include "transformer/transformer.h"

#include "common/alloc.h"
#include "common/error.h"
#include "transformer/activation.h"
#include "transformer/attention.h"

/* Scratch for one forward pass, sized for its rows; per call, so that one
 * handle can serve several threads at once. */
typedef struct workspace {
    float *normed, *q, *k, *v, *attended, *hidden, *scores;
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
}

static lclip_status workspace_alloc(workspace *ws, const lclip_transformer_config *cfg, int rows,
                                    int longest)
{
    size_t token_floats = (size_t)rows * (size_t)cfg->width;
    ws->normed = lclip_malloc_array(token_floats, sizeof(float));
    ws->q = lclip_malloc_array(token_floats, sizeof(float));
    ws->k = lclip_malloc_array(token_floats, sizeof(float));
    ws->v = lclip_malloc_array(token_floats, sizeof(float));
    ws->attended = lclip_malloc_array(token_floats, sizeof(float));
    ws->hidden = lclip_malloc_array((size_t)rows * (size_t)cfg->mlp_width, sizeof(float));
    ws->scores = lclip_malloc_array((size_t)longest * (size_t)longest, sizeof(float));
    if (!ws->normed || !ws->q || !ws->k || !ws->v || !ws->attended || !ws->hidden || !ws->scores) {
        workspace_free(ws);
        return lclip_fail(LCLIP_E_NOMEM, "out of memory for a %d-token forward pass", rows);
    }
    return LCLIP_OK;
}

static void add_rows(float *x, const float *delta, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] += delta[i];
}

static void block_forward(const lclip_block_weights *b, const lclip_transformer_config *cfg, float *x,
                          int rows, const lclip_sequence *sequences, int n_sequences, int causal,
                          workspace *ws)
{
    size_t token_floats = (size_t)rows * (size_t)cfg->width;
    lclip_layer_norm_rows(&b->ln1, cfg->ln_eps, x, ws->normed, rows, cfg->width);
    lclip_linear_forward(&b->q, ws->normed, ws->q, rows);
    lclip_linear_forward(&b->k, ws->normed, ws->k, rows);
    lclip_linear_forward(&b->v, ws->normed, ws->v, rows);
    for (int s = 0; s < n_sequences; s++)
        lclip_attention_heads(ws->q, ws->k, ws->v, ws->attended, cfg->width, cfg->heads, &sequences[s],
                              causal, ws->scores);
    lclip_linear_forward(&b->attn_out, ws->attended, ws->normed, rows);
    add_rows(x, ws->normed, token_floats);

    lclip_layer_norm_rows(&b->ln2, cfg->ln_eps, x, ws->normed, rows, cfg->width);
    lclip_linear_forward(&b->fc1, ws->normed, ws->hidden, rows);
    lclip_activation_apply(cfg->act, ws->hidden, (size_t)rows * (size_t)cfg->mlp_width);
    lclip_linear_forward(&b->fc2, ws->hidden, ws->normed, rows);
    add_rows(x, ws->normed, token_floats);
}

lclip_status lclip_transformer_forward(const lclip_transformer_weights *tf, float *x, int rows,
                                       const lclip_sequence *sequences, int n_sequences, int causal)
{
    int longest = 1;
    for (int s = 0; s < n_sequences; s++)
        longest = sequences[s].length > longest ? sequences[s].length : longest;
    workspace ws = {0};
    lclip_status status = workspace_alloc(&ws, &tf->cfg, rows, longest);
    if (status != LCLIP_OK)
        return status;
    for (int layer = 0; layer < tf->cfg.layers; layer++)
        block_forward(&tf->blocks[layer], &tf->cfg, x, rows, sequences, n_sequences, causal, &ws);
    workspace_free(&ws);
    return LCLIP_OK;
}
