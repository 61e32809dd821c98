/* The image encoder handle: a model with only the vision tower bound, and
 * the public image functions: each kind of input becomes a "prepare" step
 * that writes one image's input tensor, and lclip_batch_encode runs them
 * through the tower in passes. */
#include <math.h>
#include <stdio.h>

#include "common/alloc.h"
#include "common/batch.h"
#include "common/error.h"
#include "image/image_input.h"
#include "image/image_tower.h"
#include "load/model.h"

struct lclip_image_encoder {
    lclip_model *model;
    char describe[512]; /* the engine's fields, then the tower's */
};

/* " vision=resnet layers=3,4,6,3 width=64 heads=32 image_size=224" or
 * " vision=vit layers=12 width=768 heads=12 patch_size=32 image_size=224". */
static void describe_tower(const lclip_vision_config *v, char *buf, size_t size)
{
    if (v->arch == LCLIP_VISION_RESNET)
        snprintf(buf, size, " vision=resnet layers=%d,%d,%d,%d width=%d heads=%d image_size=%d", v->resnet.layers[0],
                 v->resnet.layers[1], v->resnet.layers[2], v->resnet.layers[3], v->resnet.width, v->resnet.heads,
                 v->image_size);
    else
        snprintf(buf, size, " vision=vit layers=%d width=%d heads=%d patch_size=%d image_size=%d", v->tf.layers,
                 v->tf.width, v->tf.heads, v->patch_size, v->image_size);
}

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
    char tower[160];
    describe_tower(&enc->model->vision.cfg, tower, sizeof tower);
    snprintf(enc->describe, sizeof enc->describe, "%s%s", lclip_gemm_describe(enc->model->gemm), tower);
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

LCLIP_API const char *lclip_image_encoder_describe(const lclip_image_encoder *enc)
{
    return enc ? enc->describe : "";
}

/* What the prepare steps read: the model and the caller's inputs. */
typedef struct image_job {
    const lclip_model *model;
    lclip_image_input_options input;
    const void *items;   /* paths, an encoded buffer, RGB pixels or input tensors */
    size_t size;         /* encoded buffer bytes, or RGB stride */
    int width, height;   /* RGB pixels */
} image_job;

static image_job job_for(const lclip_model *m, const void *items)
{
    image_job job = {m, {m->options.max_image_pixels, m->options.exif_orientation, lclip_logger_of(&m->options)},
                     items, 0, 0, 0};
    return job;
}

static size_t tensor_floats(const lclip_model *m)
{
    size_t size = (size_t)m->vision.cfg.image_size;
    return 3 * size * size;
}

static lclip_status run_tower(const void *ctx, lclip_team *team, const void *inputs, size_t count, float *out)
{
    const image_job *job = ctx;
    return lclip_image_tower_forward(team, &job->model->vision, inputs, (int)count, out);
}

/* prepare writes one image's tensor; or ready holds all n tensors already.
 * control is the caller's lclip_batch_options (NULL: none). */
static lclip_status encode_job(const image_job *job, size_t n,
                               lclip_status (*prepare)(const void *, size_t, void *), const void *ready,
                               const lclip_batch_options *control, float *out)
{
    const lclip_model *m = job->model;
    /* batch.c runs a team of n_threads members for n_threads > 1 */
    size_t per_pass = lclip_image_tower_images_per_pass(&m->vision, m->options.n_threads);
    lclip_batch batch = {.n = n,
                         .per_pass = per_pass,
                         .input_bytes = tensor_floats(m) * sizeof(float),
                         .dim = (size_t)m->config.embed_dim,
                         .options = &m->options,
                         .runs_blas = lclip_gemm_runs_blas(m->gemm),
                         .control = control,
                         .ctx = job,
                         .ready = ready,
                         .prepare = prepare,
                         .run = run_tower};
    return lclip_batch_encode(&batch, out);
}

static lclip_status prepare_file(const void *ctx, size_t i, void *chw)
{
    const image_job *job = ctx;
    const char *const *paths = job->items;
    if (!paths[i])
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "image path %zu is NULL", i);
    return lclip_image_input_file(paths[i], &job->input, &job->model->vision.cfg, chw);
}

static lclip_status prepare_memory(const void *ctx, size_t i, void *chw)
{
    const image_job *job = ctx;
    (void)i;
    return lclip_image_input_memory(job->items, job->size, &job->input, &job->model->vision.cfg, chw);
}

static lclip_status prepare_rgb(const void *ctx, size_t i, void *chw)
{
    const image_job *job = ctx;
    (void)i;
    return lclip_image_input_rgb(job->items, job->width, job->height, job->size, &job->input,
                                 &job->model->vision.cfg, chw);
}

LCLIP_API lclip_status lclip_image_preprocess_file(const lclip_image_encoder *enc, const char *path,
                                                   float *out_chw)
{
    if (!enc || !path || !out_chw)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "lclip_image_preprocess_file: NULL argument");
    image_job job = job_for(enc->model, NULL);
    return lclip_image_input_file(path, &job.input, &enc->model->vision.cfg, out_chw);
}

LCLIP_API lclip_status lclip_image_encode_files_ex(const lclip_image_encoder *enc, const char *const *paths,
                                                   size_t n, float *out, const lclip_batch_options *batch)
{
    if (!enc || ((!paths || !out) && n))
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "lclip_image_encode_files: NULL argument");
    image_job job = job_for(enc->model, paths);
    return encode_job(&job, n, prepare_file, NULL, batch, out);
}

LCLIP_API lclip_status lclip_image_encode_files(const lclip_image_encoder *enc, const char *const *paths,
                                                size_t n, float *out)
{
    return lclip_image_encode_files_ex(enc, paths, n, out, NULL);
}

LCLIP_API lclip_status lclip_image_encode_file(const lclip_image_encoder *enc, const char *path, float *out)
{
    if (!path)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "lclip_image_encode_file: path is NULL");
    return lclip_image_encode_files(enc, &path, 1, out);
}

LCLIP_API lclip_status lclip_image_encode_memory(const lclip_image_encoder *enc, const void *data, size_t size,
                                                 float *out)
{
    if (!enc || !data || !out)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "lclip_image_encode_memory: NULL argument");
    image_job job = job_for(enc->model, data);
    job.size = size;
    return encode_job(&job, 1, prepare_memory, NULL, NULL, out);
}

LCLIP_API lclip_status lclip_image_encode_rgb(const lclip_image_encoder *enc, const uint8_t *rgb, int width,
                                              int height, size_t stride, float *out)
{
    if (!enc || !rgb || !out)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "lclip_image_encode_rgb: NULL argument");
    image_job job = job_for(enc->model, rgb);
    job.size = stride;
    job.width = width;
    job.height = height;
    return encode_job(&job, 1, prepare_rgb, NULL, NULL, out);
}

LCLIP_API lclip_status lclip_image_encode_pixels_ex(const lclip_image_encoder *enc, const float *pixels, size_t n,
                                                    float *out, const lclip_batch_options *batch)
{
    if (!enc || ((!pixels || !out) && n))
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "lclip_image_encode_pixels: NULL argument");
    image_job job = job_for(enc->model, pixels);
    return encode_job(&job, n, NULL, pixels, batch, out);
}

LCLIP_API lclip_status lclip_image_encode_pixels(const lclip_image_encoder *enc, const float *pixels, size_t n,
                                                 float *out)
{
    return lclip_image_encode_pixels_ex(enc, pixels, n, out, NULL);
}
