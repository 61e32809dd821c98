/* The vision tower's hyperparameters and the preprocessing its input needs. */
#ifndef LCLIP_IMAGE_VISION_CONFIG_H
#define LCLIP_IMAGE_VISION_CONFIG_H

#include "transformer/weights.h"

/* Which image tower a checkpoint holds. */
typedef enum lclip_vision_arch {
    LCLIP_VISION_VIT,   /* vision transformer: tf, patch_size */
    LCLIP_VISION_RESNET /* OpenAI's ModifiedResNet: resnet */
} lclip_vision_arch;

/* OpenAI's ModifiedResNet: a stem, four layers of Bottleneck blocks with
 * planes width, 2 width, 4 width, 8 width (expansion 4), an attention pool
 * over the final grid with heads heads of 32 width / heads channels. */
typedef struct lclip_resnet_config {
    int layers[4]; /* Bottleneck blocks per layer, e.g. RN50 (3, 4, 6, 3) */
    int width;     /* the stem's output channels */
    int heads;     /* OpenAI: width * 32 / 64 */
} lclip_resnet_config;

typedef struct lclip_vision_config {
    lclip_vision_arch arch;
    lclip_transformer_config tf; /* LCLIP_VISION_VIT */
    lclip_resnet_config resnet;  /* LCLIP_VISION_RESNET */
    int image_size, patch_size;  /* patch_size: ViT only */
    /* Preprocessing: resize the shorter side to resize_size, centre-crop
     * crop_size (== image_size), normalise with mean/std. */
    int resize_size, crop_size;
    float mean[3], std[3];
} lclip_vision_config;

#endif
