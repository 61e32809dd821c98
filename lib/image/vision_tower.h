/* The vision transformer: patch embedding, class token, positions, ln_pre,
 * the shared transformer blocks, ln_post on the class token, projection. */
#ifndef LCLIP_IMAGE_VISION_TOWER_H
#define LCLIP_IMAGE_VISION_TOWER_H

#include "common/team.h"
#include "load/model.h"

/* pixels: n preprocessed images [3][size][size]; out: n raw embeddings [embed_dim].
 * Every step runs on team (NULL: on the calling thread). */
lclip_status lclip_vision_tower_forward(lclip_team *team, const lclip_vision_tower *tower, const float *pixels, int n,
                                        float *out);

#endif
