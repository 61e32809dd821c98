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

/* The binding uses the sized initialisers, the log callback and the _ex
 * batch calls of 0.2.0, the engine options and describe functions of 0.3.0
 * and the classifiers of 0.4.0: say so instead of failing on the first of
 * them. */
#if !defined(LCLIP_VERSION_NUMBER) || LCLIP_VERSION_NUMBER < 400
#error "the Go binding needs libclip.h 0.4.0 or later (pkg-config found an older libclip)"
#endif

/* status is an lclip_status; msg is NULL on success, otherwise a malloc'ed
 * copy of the detail message (NULL too if that allocation failed), which the
 * caller frees. */
typedef struct golclip_result {
    int status;
    char *msg;
} golclip_result;

/* lclip_options_init() for this header's layout (the sized initialiser: the
 * exported lclip_options_init function fills only 0.1.0's), then, if
 * log_handle is not 0, the log callback with that cgo.Handle as log_user. */
golclip_result golclip_options_init(lclip_options *opts, uintptr_t log_handle);

/* A malloc'ed copy of lclip_build_info() (thread-local in libclip), or NULL. */
char *golclip_build_info(void);

golclip_result golclip_image_encoder_open(const char *path, const lclip_options *opts, lclip_image_encoder **out);
golclip_result golclip_text_encoder_open(const char *path, const lclip_options *opts, lclip_text_encoder **out);

golclip_result golclip_image_preprocess_file(const lclip_image_encoder *enc, const char *path, float *out_chw);
golclip_result golclip_image_encode_file(const lclip_image_encoder *enc, const char *path, float *out);
golclip_result golclip_image_encode_memory(const lclip_image_encoder *enc, const void *data, size_t size, float *out);
golclip_result golclip_image_encode_rgb(const lclip_image_encoder *enc, const uint8_t *rgb, int width, int height,
                                        size_t stride, float *out);

golclip_result golclip_tokenize(const lclip_text_encoder *enc, const char *utf8, int32_t *tokens, size_t capacity,
                                size_t *n_tokens);
golclip_result golclip_text_encode(const lclip_text_encoder *enc, const char *utf8, float *out);

/* The batch calls, all through the _ex functions (NULL callbacks: the plain
 * ones). item_status is NULL (all or nothing) or n statuses
 * for per-input results; then messages has n NULL entries, and each failed
 * input's gets a malloc'ed copy of its message (NULL if that allocation
 * failed), which the caller frees, also when the call fails. progress is 0
 * or the cgo.Handle that golclipProgress (callbacks.go) is called with
 * after each pass. */
golclip_result golclip_image_encode_files_ex(const lclip_image_encoder *enc, const char *const *paths, size_t n,
                                             float *out, lclip_status *item_status, char **messages,
                                             uintptr_t progress);
golclip_result golclip_image_encode_pixels_ex(const lclip_image_encoder *enc, const float *pixels, size_t n,
                                              float *out, uintptr_t progress);
golclip_result golclip_text_encode_batch_ex(const lclip_text_encoder *enc, const char *const *texts, size_t n,
                                            float *out, lclip_status *item_status, char **messages,
                                            uintptr_t progress);
golclip_result golclip_text_encode_tokens_ex(const lclip_text_encoder *enc, const int32_t *tokens, size_t n,
                                             float *out, lclip_status *item_status, char **messages,
                                             uintptr_t progress);

/* Classifiers (0.4.0). The probe options travel as their three values: the
 * glue fills an lclip_probe_options from them (0 keeps a default). */
golclip_result golclip_classifier_zeroshot(const lclip_text_encoder *enc, const char *const *class_names,
                                           size_t n_classes, const char *const *templates, size_t n_templates,
                                           uintptr_t progress, lclip_classifier **out);
golclip_result golclip_classifier_train_probe(const float *embeddings, size_t n, size_t dim, const int32_t *labels,
                                              const char *const *class_names, size_t n_classes, double c,
                                              double tolerance, int max_iterations, lclip_classifier **out);
golclip_result golclip_probe_select_c(const float *embeddings, size_t n, size_t dim, const int32_t *labels,
                                      size_t n_classes, const double *c_grid, size_t n_grid, int folds,
                                      double tolerance, int max_iterations, double *best_c, double *best_accuracy);
golclip_result golclip_classifier_create(const float *vectors, const float *bias, const char *const *class_names,
                                         size_t n_classes, size_t dim, float logit_scale, lclip_classifier **out);
golclip_result golclip_classifier_apply(const lclip_classifier *cls, const float *embeddings, size_t n, size_t dim,
                                        float *logits, float *probs);
golclip_result golclip_classifier_save(const lclip_classifier *cls, const char *path);
golclip_result golclip_classifier_load(const char *path, lclip_classifier **out);
golclip_result golclip_classifier_load_memory(const void *data, size_t size, lclip_classifier **out);

#endif
