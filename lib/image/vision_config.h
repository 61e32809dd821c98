/* The vision tower's hyperparameters and the preprocessing its input needs. */
#ifndef LCLIP_IMAGE_VISION_CONFIG_H
#define LCLIP_IMAGE_VISION_CONFIG_H

#include "transformer/weights.h"

typedef struct lclip_vision_config {
    lclip_transformer_config tf;
    int image_size, patch_size;
    /* Preprocessing: resize the shorter side to resize_size, centre-crop
     * crop_size (== image_size), normalise with mean/std. */
    int resize_size, crop_size;
    float mean[3], std[3];
} lclip_vision_config;

#endif
