/* The image encoder handle: a model with only the vision tower bound, and
 * the public image functions, which split work into tower passes of bounded
 * size and normalise the results. */
#include <math.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/vector.h"
#include "image/image_input.h"
#include "image/vision_tower.h"
#include "load/model.h"

/* Tokens per tower pass: bounds the scratch memory of a large batch (about
 * 70 MB for ViT-L/14) while keeping GEMMs large. */
#define MAX_ROWS_PER_PASS 4096

struct lclip_image_encoder {
    lclip_model *model;
};

LCLIP_API lclip_status lclip_image_encoder_open(const char *model_path, const lclip_options *opts,
                                                lclip_image_encoder **out)
{
    if (!out)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "lclip_image_encoder_open: out is NULL");
    *out = NULL;
    lclip_image_encoder *enc = lclip_calloc(1, sizeof *enc);
    if (!enc)
        return lclip_fail(LCLIP_E_NOMEM, "out of memory");
    lclip_status s =
        lclip_model_open("lclip_image_encoder_open", model_path, opts, LCLIP_TOWER_VISION, &enc->model);
    if (s != LCLIP_OK) {
        lclip_free(enc);
        return s;
    }
    *out = enc;
    return LCLIP_OK;
}

LCLIP_API void lclip_image_encoder_close(lclip_image_encoder *enc)
{
    if (!enc)
        return;
    lclip_model_close(enc->model);
    lclip_free(enc);
}

LCLIP_API size_t lclip_image_encoder_dim(const lclip_image_encoder *enc)
{
    return enc ? (size_t)enc->model->config.embed_dim : 0;
}

LCLIP_API int lclip_image_encoder_image_size(const lclip_image_encoder *enc)
{
    return enc ? enc->model->vision.cfg.image_size : 0;
}

LCLIP_API float lclip_image_encoder_logit_scale(const lclip_image_encoder *enc)
{
    return enc ? enc->model->logit_scale : NAN;
}

static size_t images_per_pass(const lclip_model *m)
{
    int grid = m->vision.cfg.image_size / m->vision.cfg.patch_size;
    int per_pass = MAX_ROWS_PER_PASS / (grid * grid + 1);
    return per_pass > 0 ? (size_t)per_pass : 1;
}

static size_t pixels_per_image(const lclip_model *m)
{
    size_t size = (size_t)m->vision.cfg.image_size;
    return 3 * size * size;
}

static lclip_image_input_options input_options(const lclip_model *m)
{
    lclip_image_input_options o = {m->options.max_image_pixels, m->options.exif_orientation};
    return o;
}

LCLIP_API lclip_status lclip_image_preprocess_file(const lclip_image_encoder *enc, const char *path,
                                                   float *out_chw)
{
    if (!enc || !path || !out_chw)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "lclip_image_preprocess_file: NULL argument");
    lclip_image_input_options o = input_options(enc->model);
    return lclip_image_input_file(path, &o, &enc->model->vision.cfg, out_chw);
}

/* Every image input goes through one loop: source(i) writes image i's input
 * tensor into a pass-sized buffer, and each full buffer is one tower pass. */
typedef lclip_status (*image_source)(const void *ctx, size_t i, const lclip_model *m, float *chw);

static lclip_status encode_sources(lclip_image_encoder *enc, image_source source, const void *ctx, size_t n,
                                   float *out)
{
    const lclip_model *m = enc->model;
    size_t plane = pixels_per_image(m), dim = (size_t)m->config.embed_dim;
    size_t step = n < images_per_pass(m) ? n : images_per_pass(m);
    float *pixels = lclip_malloc_array(step ? step : 1, plane * sizeof(float));
    if (!pixels)
        return lclip_fail(LCLIP_E_NOMEM, "out of memory for %zu preprocessed images", step);
    lclip_status s = LCLIP_OK;
    for (size_t first = 0; first < n && s == LCLIP_OK; first += step) {
        size_t count = n - first < step ? n - first : step;
        for (size_t i = 0; i < count && s == LCLIP_OK; i++)
            s = source(ctx, first + i, m, pixels + i * plane);
        if (s == LCLIP_OK)
            s = lclip_vision_tower_forward(&m->vision, pixels, (int)count, out + first * dim);
    }
    lclip_free(pixels);
    if (s == LCLIP_OK && m->options.normalize)
        lclip_l2_normalize_rows(out, n, dim);
    return s;
}

static lclip_status file_source(const void *ctx, size_t i, const lclip_model *m, float *chw)
{
    const char *const *paths = ctx;
    if (!paths[i])
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "image path %zu is NULL", i);
    lclip_image_input_options o = input_options(m);
    return lclip_image_input_file(paths[i], &o, &m->vision.cfg, chw);
}

LCLIP_API lclip_status lclip_image_encode_files(lclip_image_encoder *enc, const char *const *paths, size_t n,
                                                float *out)
{
    if (!enc || ((!paths || !out) && n))
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "lclip_image_encode_files: NULL argument");
    return encode_sources(enc, file_source, paths, n, out);
}

LCLIP_API lclip_status lclip_image_encode_file(lclip_image_encoder *enc, const char *path, float *out)
{
    if (!path)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "lclip_image_encode_file: path is NULL");
    return lclip_image_encode_files(enc, &path, 1, out);
}

typedef struct memory_image {
    const void *data;
    size_t size;
} memory_image;

static lclip_status memory_source(const void *ctx, size_t i, const lclip_model *m, float *chw)
{
    const memory_image *image = ctx;
    lclip_image_input_options o = input_options(m);
    (void)i;
    return lclip_image_input_memory(image->data, image->size, &o, &m->vision.cfg, chw);
}

LCLIP_API lclip_status lclip_image_encode_memory(lclip_image_encoder *enc, const void *data, size_t size,
                                                 float *out)
{
    if (!enc || !data || !out)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "lclip_image_encode_memory: NULL argument");
    memory_image image = {data, size};
    return encode_sources(enc, memory_source, &image, 1, out);
}

typedef struct rgb_image {
    const uint8_t *rgb;
    int width, height;
    size_t stride;
} rgb_image;

static lclip_status rgb_source(const void *ctx, size_t i, const lclip_model *m, float *chw)
{
    const rgb_image *image = ctx;
    lclip_image_input_options o = input_options(m);
    (void)i;
    return lclip_image_input_rgb(image->rgb, image->width, image->height, image->stride, &o, &m->vision.cfg,
                                 chw);
}

LCLIP_API lclip_status lclip_image_encode_rgb(lclip_image_encoder *enc, const uint8_t *rgb, int width,
                                              int height, size_t stride, float *out)
{
    if (!enc || !rgb || !out)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "lclip_image_encode_rgb: NULL argument");
    rgb_image image = {rgb, width, height, stride};
    return encode_sources(enc, rgb_source, &image, 1, out);
}

static lclip_status pixel_source(const void *ctx, size_t i, const lclip_model *m, float *chw)
{
    size_t plane = pixels_per_image(m);
    memcpy(chw, (const float *)ctx + i * plane, plane * sizeof *chw);
    return LCLIP_OK;
}

LCLIP_API lclip_status lclip_image_encode_pixels(lclip_image_encoder *enc, const float *pixels, size_t n,
                                                 float *out)
{
    if (!enc || ((!pixels || !out) && n))
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "lclip_image_encode_pixels: NULL argument");
    return encode_sources(enc, pixel_source, pixels, n, out);
}
