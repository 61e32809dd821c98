/* CLIP's transform on a decoded image: Resize(resize_size, BICUBIC) in the
 * image's Pillow mode, CenterCrop(crop_size), convert("RGB"), ToTensor,
 * Normalize(mean, std). */
#ifndef LCLIP_IMAGE_PREPROCESS_H
#define LCLIP_IMAGE_PREPROCESS_H

#include "image/pixels.h"
#include "image/vision_config.h"

/* Writes out_chw[3 * crop * crop]. May rewrite px's owned pixels in place
 * (alpha premultiplication), so px is spent afterwards; borrowed pixels
 * are never written. */
lclip_status lclip_preprocess(lclip_pixels *px, const lclip_vision_config *cfg, float *out_chw);

#endif
