/* The vision transformer: patch embedding, class token, positions, ln_pre,
 * the shared transformer blocks, ln_post on the class token (then the image
 * tower's projection, image/image_tower.h). */
#ifndef LCLIP_IMAGE_VISION_TOWER_H
#define LCLIP_IMAGE_VISION_TOWER_H

#include "common/team.h"
#include "image/vision_config.h"
#include "libclip.h"
#include "transformer/weights.h"

typedef struct lclip_vision_tower {
    lclip_vision_config cfg;
    /* The patch convolution as a linear layer over unfolded patches: weight
     * [width][3 * patch * patch] is the kernel [width][3][patch][patch]. */
    lclip_linear patch_embedding;
    const float *class_embedding;    /* [width] */
    const float *position_embedding; /* [grid*grid + 1][width], row 0 = class token */
    lclip_layer_norm ln_pre, ln_post;
    lclip_transformer_weights transformer;
} lclip_vision_tower;

/* The tokens of one image: grid * grid patches and the class token. */
size_t lclip_vision_tower_rows_per_image(const lclip_vision_tower *tower);

/* pixels: n preprocessed images [3][size][size]; pooled: n class tokens
 * after ln_post [width]. Every step runs on team (NULL: on the calling
 * thread). */
lclip_status lclip_vision_tower_pool(lclip_team *team, const lclip_vision_tower *tower, const float *pixels, int n,
                                     float *pooled);

#endif
