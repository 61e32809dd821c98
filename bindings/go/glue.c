/* See glue.h. */
#include "glue.h"

#include <stdlib.h>
#include <string.h>

static golclip_result result(lclip_status status)
{
    golclip_result r = {(int)status, NULL};
    if (status != LCLIP_OK) {
        const char *msg = lclip_last_error();
        size_t len = strlen(msg);
        r.msg = malloc(len + 1);
        if (r.msg)
            memcpy(r.msg, msg, len + 1);
    }
    return r;
}

golclip_result golclip_image_encoder_open(const char *path, const lclip_options *opts, lclip_image_encoder **out)
{
    return result(lclip_image_encoder_open(path, opts, out));
}

golclip_result golclip_text_encoder_open(const char *path, const lclip_options *opts, lclip_text_encoder **out)
{
    return result(lclip_text_encoder_open(path, opts, out));
}

golclip_result golclip_image_preprocess_file(const lclip_image_encoder *enc, const char *path, float *out_chw)
{
    return result(lclip_image_preprocess_file(enc, path, out_chw));
}

golclip_result golclip_image_encode_file(lclip_image_encoder *enc, const char *path, float *out)
{
    return result(lclip_image_encode_file(enc, path, out));
}

golclip_result golclip_image_encode_files(lclip_image_encoder *enc, const char *const *paths, size_t n, float *out)
{
    return result(lclip_image_encode_files(enc, paths, n, out));
}

golclip_result golclip_image_encode_memory(lclip_image_encoder *enc, const void *data, size_t size, float *out)
{
    return result(lclip_image_encode_memory(enc, data, size, out));
}

golclip_result golclip_image_encode_rgb(lclip_image_encoder *enc, const uint8_t *rgb, int width, int height,
                                        size_t stride, float *out)
{
    return result(lclip_image_encode_rgb(enc, rgb, width, height, stride, out));
}

golclip_result golclip_image_encode_pixels(lclip_image_encoder *enc, const float *pixels, size_t n, float *out)
{
    return result(lclip_image_encode_pixels(enc, pixels, n, out));
}

golclip_result golclip_tokenize(const lclip_text_encoder *enc, const char *utf8, int32_t *tokens, size_t capacity,
                                size_t *n_tokens)
{
    return result(lclip_tokenize(enc, utf8, tokens, capacity, n_tokens));
}

golclip_result golclip_text_encode(lclip_text_encoder *enc, const char *utf8, float *out)
{
    return result(lclip_text_encode(enc, utf8, out));
}

golclip_result golclip_text_encode_batch(lclip_text_encoder *enc, const char *const *texts, size_t n, float *out)
{
    return result(lclip_text_encode_batch(enc, texts, n, out));
}

golclip_result golclip_text_encode_tokens(lclip_text_encoder *enc, const int32_t *tokens, size_t n, float *out)
{
    return result(lclip_text_encode_tokens(enc, tokens, n, out));
}
