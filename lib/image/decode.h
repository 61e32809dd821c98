/* Encoded image -> pixels in the Pillow mode PIL.Image.open would give. */
#ifndef LCLIP_IMAGE_DECODE_H
#define LCLIP_IMAGE_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "image/image_input.h"
#include "image/pixels.h"

/* PNG, JPEG, WebP, GIF or BMP by magic bytes (anything else:
 * LCLIP_E_UNSUPPORTED); label names the input in messages. Applies the JPEG
 * EXIF orientation when opts->exif_orientation is 1. On success out owns its
 * pixels. */
lclip_status lclip_image_decode(const uint8_t *data, size_t size, const char *label,
                                const lclip_image_input_options *opts, lclip_pixels *out);

/* Warnings of one image that reach the log; more are counted in one line. */
#define LCLIP_MAX_DECODER_WARNINGS 4

/* The decoders behind it. Warnings the decoder tolerates go to log.
 * orientation (may be NULL) receives the EXIF Orientation tag, 0 when there
 * is none. */
lclip_status lclip_decode_png(const uint8_t *data, size_t size, const char *label, uint64_t max_pixels,
                              const lclip_logger *log, lclip_pixels *out);
lclip_status lclip_decode_jpeg(const uint8_t *data, size_t size, const char *label, uint64_t max_pixels,
                               const lclip_logger *log, int *orientation, lclip_pixels *out);
/* WebP (first frame of an animation), GIF (first frame), BMP (8- and 24-bit
 * uncompressed). */
lclip_status lclip_decode_webp(const uint8_t *data, size_t size, const char *label, uint64_t max_pixels,
                               lclip_pixels *out);
lclip_status lclip_decode_gif(const uint8_t *data, size_t size, const char *label, uint64_t max_pixels,
                              lclip_pixels *out);
lclip_status lclip_decode_bmp(const uint8_t *data, size_t size, const char *label, uint64_t max_pixels,
                              lclip_pixels *out);

/* Orientation (1-8) from an APP1 payload after "Exif\0\0" (a TIFF
 * structure); 0 when absent or malformed. */
int lclip_exif_orientation(const uint8_t *tiff, size_t size);

#endif
