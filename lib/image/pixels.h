/* A decoded image in the Pillow mode the reference would give it. The mode
 * decides how it is resized and how it becomes RGB, so decoders keep it
 * rather than converting early. */
#ifndef LCLIP_IMAGE_PIXELS_H
#define LCLIP_IMAGE_PIXELS_H

#include <stddef.h>
#include <stdint.h>

#include "libclip.h"

typedef enum lclip_pixel_mode {
    LCLIP_MODE_1,    /* bilevel, one byte 0 or 255; resized nearest-neighbour */
    LCLIP_MODE_L,    /* grey */
    LCLIP_MODE_LA,   /* grey + alpha */
    LCLIP_MODE_RGB,
    LCLIP_MODE_RGBA,
    LCLIP_MODE_CMYK, /* true CMYK (not Adobe-inverted) */
    LCLIP_MODE_P,    /* palette index + palette; resized nearest-neighbour */
    LCLIP_MODE_I     /* int32 grey (16-bit greyscale PNG, full range) */
} lclip_pixel_mode;

typedef struct lclip_pixels {
    lclip_pixel_mode mode;
    int width, height;
    size_t stride;         /* bytes from one row to the next */
    const uint8_t *data;   /* row 0; samples are int32 in mode I */
    uint8_t *owned;        /* what to free (== data), or NULL if borrowed */
    uint8_t palette[256 * 3]; /* mode P: RGB per index */
} lclip_pixels;

/* Bytes per pixel of a mode. */
int lclip_pixel_size(lclip_pixel_mode mode);

/* LCLIP_E_FORMAT for an empty image, LCLIP_E_TOO_LARGE above max_pixels or
 * when width * height * 8 bytes would not fit in memory. Decoders call this
 * before allocating anything sized by the image. */
lclip_status lclip_pixels_check_size(const char *label, uint32_t width, uint32_t height, uint64_t max_pixels);

/* Allocates a packed, owned buffer for a checked width x height. */
lclip_status lclip_pixels_alloc(lclip_pixels *px, lclip_pixel_mode mode, int width, int height,
                                const char *label);
void lclip_pixels_free(lclip_pixels *px);

/* Pillow's palette before a file's own entries overwrite it: the grey ramp,
 * index i = (i, i, i), so that indices past the file's last entry map as
 * Pillow maps them. */
void lclip_pixels_grey_palette(lclip_pixels *px);

/* Applies an EXIF orientation (2-8; 1 and others leave px unchanged) the way
 * PIL.ImageOps.exif_transpose does, replacing px's buffer. */
lclip_status lclip_pixels_orient(lclip_pixels *px, int orientation, const char *label);

#endif
