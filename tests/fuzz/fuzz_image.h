/* The image targets (PNG, JPEG, WebP, GIF, BMP) share one body: decode from memory and run the
 * full preprocessing, with the size-limit and output contracts checked. */
#ifndef LCLIP_TESTS_FUZZ_IMAGE_H
#define LCLIP_TESTS_FUZZ_IMAGE_H

#include <stddef.h>
#include <stdint.h>

int fuzz_image_input(const uint8_t *data, size_t size, int exif_orientation);

#endif
