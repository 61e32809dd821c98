/* See glue.h. */
#include "glue.h"

#include <stdlib.h>
#include <string.h>

#include "_cgo_export.h" /* golclipLog, golclipProgress (callbacks.go) */

static char *copy(const char *s)
{
    size_t len = strlen(s);
    char *c = malloc(len + 1);
    if (c)
        memcpy(c, s, len + 1);
    return c;
}

static golclip_result result(lclip_status status)
{
    golclip_result r = {(int)status, NULL};
    if (status != LCLIP_OK)
        r.msg = copy(lclip_last_error());
    return r;
}

/* The handle travels as an integer in C memory, never as a Go pointer. */
static void on_log(void *user, lclip_log_level level, const char *message)
{
    golclipLog((uintptr_t)user, (int)level, (char *)message);
}

golclip_result golclip_options_init(lclip_options *opts, uintptr_t log_handle)
{
    lclip_status s = lclip_options_init(opts);
    if (s == LCLIP_OK && log_handle) {
        opts->log = on_log;
        opts->log_user = (void *)log_handle;
    }
    return result(s);
}

char *golclip_build_info(void)
{
    return copy(lclip_build_info());
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

golclip_result golclip_image_encode_file(const lclip_image_encoder *enc, const char *path, float *out)
{
    return result(lclip_image_encode_file(enc, path, out));
}

golclip_result golclip_image_encode_memory(const lclip_image_encoder *enc, const void *data, size_t size, float *out)
{
    return result(lclip_image_encode_memory(enc, data, size, out));
}

golclip_result golclip_image_encode_rgb(const lclip_image_encoder *enc, const uint8_t *rgb, int width, int height,
                                        size_t stride, float *out)
{
    return result(lclip_image_encode_rgb(enc, rgb, width, height, stride, out));
}

golclip_result golclip_tokenize(const lclip_text_encoder *enc, const char *utf8, int32_t *tokens, size_t capacity,
                                size_t *n_tokens)
{
    return result(lclip_tokenize(enc, utf8, tokens, capacity, n_tokens));
}

golclip_result golclip_text_encode(const lclip_text_encoder *enc, const char *utf8, float *out)
{
    return result(lclip_text_encode(enc, utf8, out));
}

/* lclip_batch_options.user of an _ex call. */
typedef struct batch_user {
    char **messages;
    uintptr_t progress;
} batch_user;

static void on_item_error(void *user, size_t index, lclip_status status, const char *message)
{
    (void)status; /* item_status receives it */
    ((batch_user *)user)->messages[index] = copy(message);
}

static int on_progress(void *user, size_t done, size_t total)
{
    return golclipProgress(((batch_user *)user)->progress, done, total);
}

/* Fills batch from the arguments of glue.h's _ex functions. */
static lclip_status batch_options(lclip_batch_options *batch, batch_user *user, lclip_status *item_status,
                                  char **messages, uintptr_t progress)
{
    lclip_status s = lclip_batch_options_init(batch);
    if (s != LCLIP_OK)
        return s;
    user->messages = messages;
    user->progress = progress;
    batch->user = user;
    batch->item_status = item_status;
    if (item_status)
        batch->on_item_error = on_item_error;
    if (progress)
        batch->on_progress = on_progress;
    return LCLIP_OK;
}

golclip_result golclip_image_encode_files_ex(const lclip_image_encoder *enc, const char *const *paths, size_t n,
                                             float *out, lclip_status *item_status, char **messages,
                                             uintptr_t progress)
{
    lclip_batch_options batch;
    batch_user user;
    lclip_status s = batch_options(&batch, &user, item_status, messages, progress);
    return result(s != LCLIP_OK ? s : lclip_image_encode_files_ex(enc, paths, n, out, &batch));
}

golclip_result golclip_image_encode_pixels_ex(const lclip_image_encoder *enc, const float *pixels, size_t n,
                                              float *out, uintptr_t progress)
{
    lclip_batch_options batch;
    batch_user user;
    lclip_status s = batch_options(&batch, &user, NULL, NULL, progress);
    return result(s != LCLIP_OK ? s : lclip_image_encode_pixels_ex(enc, pixels, n, out, &batch));
}

golclip_result golclip_text_encode_batch_ex(const lclip_text_encoder *enc, const char *const *texts, size_t n,
                                            float *out, lclip_status *item_status, char **messages,
                                            uintptr_t progress)
{
    lclip_batch_options batch;
    batch_user user;
    lclip_status s = batch_options(&batch, &user, item_status, messages, progress);
    return result(s != LCLIP_OK ? s : lclip_text_encode_batch_ex(enc, texts, n, out, &batch));
}

golclip_result golclip_text_encode_tokens_ex(const lclip_text_encoder *enc, const int32_t *tokens, size_t n,
                                             float *out, lclip_status *item_status, char **messages,
                                             uintptr_t progress)
{
    lclip_batch_options batch;
    batch_user user;
    lclip_status s = batch_options(&batch, &user, item_status, messages, progress);
    return result(s != LCLIP_OK ? s : lclip_text_encode_tokens_ex(enc, tokens, n, out, &batch));
}

golclip_result golclip_classifier_zeroshot(const lclip_text_encoder *enc, const char *const *class_names,
                                           size_t n_classes, const char *const *templates, size_t n_templates,
                                           uintptr_t progress, lclip_classifier **out)
{
    lclip_batch_options batch;
    batch_user user;
    lclip_status s = batch_options(&batch, &user, NULL, NULL, progress);
    return result(s != LCLIP_OK ? s
                                : lclip_classifier_zeroshot(enc, class_names, n_classes, templates, n_templates,
                                                            &batch, out));
}

static lclip_status probe_options(lclip_probe_options *opts, double c, double tolerance, int max_iterations)
{
    lclip_status s = lclip_probe_options_init(opts);
    if (s == LCLIP_OK) {
        opts->c = c;
        opts->tolerance = tolerance;
        opts->max_iterations = max_iterations;
    }
    return s;
}

golclip_result golclip_classifier_train_probe(const float *embeddings, size_t n, size_t dim, const int32_t *labels,
                                              const char *const *class_names, size_t n_classes, double c,
                                              double tolerance, int max_iterations, lclip_classifier **out)
{
    lclip_probe_options opts;
    lclip_status s = probe_options(&opts, c, tolerance, max_iterations);
    return result(s != LCLIP_OK ? s
                                : lclip_classifier_train_probe(embeddings, n, dim, labels, class_names, n_classes,
                                                               &opts, out));
}

golclip_result golclip_probe_select_c(const float *embeddings, size_t n, size_t dim, const int32_t *labels,
                                      size_t n_classes, const double *c_grid, size_t n_grid, int folds,
                                      double tolerance, int max_iterations, double *best_c, double *best_accuracy)
{
    lclip_probe_options opts;
    lclip_status s = probe_options(&opts, 0, tolerance, max_iterations);
    return result(s != LCLIP_OK ? s
                                : lclip_probe_select_c(embeddings, n, dim, labels, n_classes, c_grid, n_grid, folds,
                                                       &opts, best_c, best_accuracy));
}

golclip_result golclip_classifier_create(const float *vectors, const float *bias, const char *const *class_names,
                                         size_t n_classes, size_t dim, float logit_scale, lclip_classifier **out)
{
    return result(lclip_classifier_create(vectors, bias, class_names, n_classes, dim, logit_scale, out));
}

golclip_result golclip_classifier_apply(const lclip_classifier *cls, const float *embeddings, size_t n, size_t dim,
                                        float *logits, float *probs)
{
    return result(lclip_classifier_apply(cls, embeddings, n, dim, logits, probs));
}

golclip_result golclip_classifier_save(const lclip_classifier *cls, const char *path)
{
    return result(lclip_classifier_save(cls, path));
}

golclip_result golclip_classifier_load(const char *path, lclip_classifier **out)
{
    return result(lclip_classifier_load(path, out));
}

golclip_result golclip_classifier_load_memory(const void *data, size_t size, lclip_classifier **out)
{
    return result(lclip_classifier_load_memory(data, size, out));
}
