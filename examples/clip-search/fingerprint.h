/* Which model wrote an index: a 64-bit FNV-1a hash of the checkpoint's
 * safetensors header (tensor names, dtypes, shapes, offsets) and of the first
 * 64 KiB of its tensor data. It identifies the weights wherever the file
 * lives, costs one small read, and is the same for the image and the text
 * tower, so a text query can check an index built from images. A change in
 * the config alone (same weights file) goes unnoticed; the same weights in
 * another layout or dtype count as another model. */
#ifndef CLIP_SEARCH_FINGERPRINT_H
#define CLIP_SEARCH_FINGERPRINT_H

#include <stdint.h>

/* The fingerprint of the checkpoint at model_path (as libclip takes it: a
 * directory holding model.safetensors or open_clip_model.safetensors, or a
 * .safetensors file); 0 when its weights file cannot be found or read. */
uint64_t model_fingerprint(const char *model_path);

#endif
