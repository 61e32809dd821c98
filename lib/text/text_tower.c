#include "text/text_tower.h"

#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "transformer/transformer.h"

/* The reference pools at argmax(ids): the first occurrence of the largest
 * id, the end token. Under the causal mask nothing after it can change the
 * result, so each text is computed only up to there. */
static int pooled_position(const int32_t *ids, int context_length)
{
    int best = 0;
    for (int j = 1; j < context_length; j++)
        if (ids[j] > ids[best])
            best = j;
    return best;
}

lclip_status lclip_text_check_ids(const lclip_text_tower *t, const int32_t *ids, size_t index)
{
    for (int j = 0; j < t->cfg.context_length; j++)
        if (ids[j] < 0 || ids[j] >= t->cfg.vocab_size)
            return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "text %zu: token id %d at position %d is outside the "
                              "vocabulary of %d", index, (int)ids[j], j, t->cfg.vocab_size);
    return LCLIP_OK;
}

static lclip_status pack_texts(const lclip_text_tower *t, const int32_t *tokens, int n,
                               lclip_sequence *sequences, int *rows)
{
    int context = t->cfg.context_length;
    *rows = 0;
    for (int i = 0; i < n; i++) {
        const int32_t *ids = tokens + (size_t)i * (size_t)context;
        lclip_status s = lclip_text_check_ids(t, ids, (size_t)i);
        if (s != LCLIP_OK)
            return s;
        sequences[i] = (lclip_sequence){*rows, pooled_position(ids, context) + 1};
        *rows += sequences[i].length;
    }
    return LCLIP_OK;
}

static void embed_tokens(const lclip_text_tower *t, const int32_t *tokens, const lclip_sequence *sequences,
                         int n, float *x)
{
    size_t width = (size_t)t->cfg.tf.width;
    for (int i = 0; i < n; i++) {
        const int32_t *ids = tokens + (size_t)i * (size_t)t->cfg.context_length;
        for (int j = 0; j < sequences[i].length; j++) {
            float *row = x + (size_t)(sequences[i].start + j) * width;
            const float *token = t->token_embedding + (size_t)ids[j] * width;
            const float *position = t->position_embedding + (size_t)j * width;
            for (size_t c = 0; c < width; c++)
                row[c] = token[c] + position[c];
        }
    }
}

lclip_status lclip_text_tower_forward(lclip_team *team, const lclip_text_tower *t, const int32_t *tokens, int n,
                                      float *out)
{
    int width = t->cfg.tf.width, rows = 0;
    lclip_sequence *sequences = lclip_malloc_array((size_t)n, sizeof *sequences);
    float *pooled = lclip_malloc_array((size_t)n, (size_t)width * sizeof(float));
    float *x = NULL;
    lclip_status s = LCLIP_OK;
    if (!sequences || !pooled)
        s = lclip_fail(LCLIP_E_NOMEM, "out of memory encoding %d texts", n);
    if (s == LCLIP_OK)
        s = pack_texts(t, tokens, n, sequences, &rows);
    if (s == LCLIP_OK && !(x = lclip_malloc_scratch((size_t)rows, (size_t)width * sizeof(float))))
        s = lclip_fail(LCLIP_E_NOMEM, "out of memory encoding %d texts", n);
    if (s == LCLIP_OK) {
        embed_tokens(t, tokens, sequences, n, x);
        s = lclip_transformer_forward(team, &t->transformer, x, rows, sequences, n, 1);
    }
    if (s == LCLIP_OK) {
        for (int i = 0; i < n; i++) {
            const float *last = x + (size_t)(sequences[i].start + sequences[i].length - 1) * (size_t)width;
            lclip_layer_norm_rows(&t->ln_final, t->cfg.tf.ln_eps, last, pooled + (size_t)i * (size_t)width, 1,
                                  width);
        }
        s = lclip_linear_forward(team, &t->projection, pooled, out, n);
    }
    lclip_free(x);
    lclip_free(pooled);
    lclip_free(sequences);
    return s;
}
