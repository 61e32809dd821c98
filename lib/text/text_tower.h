/* The text transformer: token + position embeddings, the shared transformer
 * blocks under a causal mask, ln_final and projection at the pooled token. */
#ifndef LCLIP_TEXT_TEXT_TOWER_H
#define LCLIP_TEXT_TEXT_TOWER_H

#include <stdint.h>

#include "common/team.h"
#include "libclip.h"
#include "text/text_config.h"
#include "transformer/weights.h"

typedef struct lclip_text_tower {
    lclip_text_config cfg;
    const float *token_embedding;    /* [vocab][width] */
    const float *position_embedding; /* [context][width] */
    lclip_transformer_weights transformer;
    lclip_layer_norm ln_final;
    lclip_linear projection; /* [embed_dim][width], no bias */
} lclip_text_tower;

/* tokens: n texts of context_length ids; out: n raw embeddings [embed_dim].
 * Ids outside the vocabulary are LCLIP_E_INVALID_ARGUMENT (callers check
 * them first with lclip_text_check_ids, to name the text). Every step runs
 * on team (NULL: on the calling thread). */
lclip_status lclip_text_tower_forward(lclip_team *team, const lclip_text_tower *tower, const int32_t *tokens, int n,
                                      float *out);

/* Checks the context_length ids of text number index (for messages). */
lclip_status lclip_text_check_ids(const lclip_text_tower *tower, const int32_t *ids, size_t index);

#endif
