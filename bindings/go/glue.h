/*
 * C side of the Go binding. Each golclip_* function calls one libclip
 * function and, when it fails, copies lclip_last_error() before returning to
 * Go: the message is thread-local, and a goroutine may move to another OS
 * thread between two cgo calls, so the status and its message must be read
 * in the same C call.
 */
#ifndef LIBCLIP_GO_GLUE_H
#define LIBCLIP_GO_GLUE_H

#include <stddef.h>
#include <stdint.h>

#include <libclip.h>

/* status is an lclip_status; msg is NULL on success, otherwise a malloc'ed
 * copy of the detail message (NULL too if that allocation failed), which the
 * caller frees. */
typedef struct golclip_result {
    int status;
    char *msg;
} golclip_result;

golclip_result golclip_image_encoder_open(const char *path, const lclip_options *opts, lclip_image_encoder **out);
golclip_result golclip_text_encoder_open(const char *path, const lclip_options *opts, lclip_text_encoder **out);

golclip_result golclip_image_preprocess_file(const lclip_image_encoder *enc, const char *path, float *out_chw);
golclip_result golclip_image_encode_file(lclip_image_encoder *enc, const char *path, float *out);
golclip_result golclip_image_encode_files(lclip_image_encoder *enc, const char *const *paths, size_t n, float *out);
golclip_result golclip_image_encode_memory(lclip_image_encoder *enc, const void *data, size_t size, float *out);
golclip_result golclip_image_encode_rgb(lclip_image_encoder *enc, const uint8_t *rgb, int width, int height,
                                        size_t stride, float *out);
golclip_result golclip_image_encode_pixels(lclip_image_encoder *enc, const float *pixels, size_t n, float *out);

golclip_result golclip_tokenize(const lclip_text_encoder *enc, const char *utf8, int32_t *tokens, size_t capacity,
                                size_t *n_tokens);
golclip_result golclip_text_encode(lclip_text_encoder *enc, const char *utf8, float *out);
golclip_result golclip_text_encode_batch(lclip_text_encoder *enc, const char *const *texts, size_t n, float *out);
golclip_result golclip_text_encode_tokens(lclip_text_encoder *enc, const int32_t *tokens, size_t n, float *out);

#endif
