/* Pillow's Image.resize, bit for bit: the antialiased bicubic filter in
 * 8-bit fixed point (and in double for int32 "I" images) with two separable
 * passes, horizontal first, and nearest-neighbour for "1" and "P" images.
 *
 * Every output pixel depends only on its own row and column coefficients, so
 * only a window of the resized image is computed: the part the centre crop
 * keeps. That bounds time and memory by the crop, not by the resized size. */
#ifndef LCLIP_IMAGE_RESAMPLE_H
#define LCLIP_IMAGE_RESAMPLE_H

#include <stddef.h>
#include <stdint.h>

#include "libclip.h"

/* Output pixels [x0, x0 + w) x [y0, y0 + h) of an in_w x in_h image resized
 * to out_w x out_h. */
typedef struct lclip_resize_window {
    int in_w, in_h, out_w, out_h;
    int x0, y0, w, h;
} lclip_resize_window;

/* 8-bit samples, channels (1-4) interleaved. */
lclip_status lclip_resize_bicubic_u8(const uint8_t *src, size_t src_stride, int channels,
                                     const lclip_resize_window *win, uint8_t *dst, size_t dst_stride);
/* One int32 sample a pixel. */
lclip_status lclip_resize_bicubic_i32(const uint8_t *src, size_t src_stride, const lclip_resize_window *win,
                                      uint8_t *dst, size_t dst_stride);
/* Whole pixels of pixel_size bytes. */
lclip_status lclip_resize_nearest(const uint8_t *src, size_t src_stride, int pixel_size,
                                  const lclip_resize_window *win, uint8_t *dst, size_t dst_stride);

#endif
