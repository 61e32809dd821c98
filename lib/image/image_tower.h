/* The image tower the encoder runs, whichever architecture the checkpoint
 * has: a vision transformer or OpenAI's ModifiedResNet. Each pools a batch
 * of images into one feature row per image (the ViT's normalised class
 * token, the ResNet's attention-pool output); the projection of those rows
 * to the embedding is the shared tail. The encoder plans its passes with
 * lclip_image_tower_images_per_pass and knows nothing else of the
 * architecture. */
#ifndef LCLIP_IMAGE_IMAGE_TOWER_H
#define LCLIP_IMAGE_IMAGE_TOWER_H

#include <stddef.h>

#include "common/team.h"
#include "image/resnet_tower.h"
#include "image/vision_config.h"
#include "image/vision_tower.h"
#include "libclip.h"

typedef struct lclip_image_tower {
    lclip_vision_config cfg;   /* cfg.arch says which tower below is bound */
    lclip_vision_tower vit;    /* LCLIP_VISION_VIT */
    lclip_resnet_tower resnet; /* LCLIP_VISION_RESNET */
    /* pooled features [projection.in] to the embedding [projection.out]:
     * the ViT's proj (no bias), the ResNet's attnpool.c_proj (bias) */
    lclip_linear projection;
} lclip_image_tower;

/* Images per pass on a team of members (1 without a team), which bound a
 * batch's scratch memory: a ViT's as many as LCLIP_MAX_IMAGE_ROWS_PER_PASS
 * token rows hold, a ResNet's one per member within its activation budget;
 * at least 1. */
size_t lclip_image_tower_images_per_pass(const lclip_image_tower *tower, int members);

/* pixels: n preprocessed images [3][size][size]; out: n raw embeddings
 * [projection.out]. Every step runs on team (NULL: on the calling thread). */
lclip_status lclip_image_tower_forward(lclip_team *team, const lclip_image_tower *tower, const float *pixels, int n,
                                       float *out);

#endif
