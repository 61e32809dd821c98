/* From an encoded image (PNG, JPEG, WebP, GIF or BMP, by magic bytes) or raw
 * RGB pixels to the vision tower's input tensor, exactly as the reference
 * does it:
 * PIL.Image.open (no EXIF orientation unless asked for), Resize(size,
 * BICUBIC) on the image in its decoded mode, CenterCrop(size), convert("RGB"),
 * ToTensor, Normalize(mean, std). Output: out_chw[3 * crop * crop], float32,
 * channel-major R, G, B. */
#ifndef LCLIP_IMAGE_IMAGE_INPUT_H
#define LCLIP_IMAGE_IMAGE_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "common/log.h"
#include "libclip.h"
#include "image/vision_config.h"

typedef struct lclip_image_input_options {
    uint64_t max_pixels;  /* width * height above this: LCLIP_E_TOO_LARGE, before allocating pixels */
    int exif_orientation; /* 1: apply JPEG EXIF orientation first */
    lclip_logger log;     /* decoder warnings */
} lclip_image_input_options;

/* cfg supplies resize_size (shorter side), crop_size, mean and std. */
lclip_status lclip_image_input_file(const char *path, const lclip_image_input_options *opts,
                                    const lclip_vision_config *cfg, float *out_chw);
lclip_status lclip_image_input_memory(const void *data, size_t size, const lclip_image_input_options *opts,
                                      const lclip_vision_config *cfg, float *out_chw);
/* 8-bit RGB, row r at rgb + r * stride. */
lclip_status lclip_image_input_rgb(const uint8_t *rgb, int width, int height, size_t stride,
                                   const lclip_image_input_options *opts, const lclip_vision_config *cfg,
                                   float *out_chw);

#endif
