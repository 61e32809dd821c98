/* Turning a named tensor of the weights file into float32 data of a known
 * shape: presence, shape and dtype are checked against what the config
 * implies; F32 is used in place, F16/BF16 (or a misaligned F32) is converted
 * into a buffer the model owns. */
#ifndef LCLIP_LOAD_TENSOR_BIND_H
#define LCLIP_LOAD_TENSOR_BIND_H

#include "load/model.h"

/* shape has ndim entries. */
lclip_status lclip_bind_f32(lclip_model *model, const char *name, int ndim, const int64_t *shape,
                            const float **out);
/* A [rows][cols] tensor delivered as its transpose, [cols][rows]. */
lclip_status lclip_bind_f32_transposed(lclip_model *model, const char *name, int64_t rows,
                                       int64_t cols, const float **out);
/* A scalar stored with shape [] or [1]. */
lclip_status lclip_bind_scalar(lclip_model *model, const char *name, float *out);
/* 1 if the weights hold a tensor of that name. */
int lclip_has_tensor(const lclip_model *model, const char *name);

/* count floats owned by the model (freed when it closes), for tensors made
 * at open (folded BatchNorm); NULL when out of memory. */
float *lclip_owned_floats(lclip_model *model, uint64_t count);
/* Frees the owned buffer that starts at data (one lclip_owned_floats gave),
 * once nothing reads it any more: a folded kernel the engine has packed. */
void lclip_owned_release(lclip_model *model, const float *data);
void lclip_owned_free_all(lclip_owned_buffer **list);

/* Exposed for tests: IEEE half and bfloat16 to float, exact. */
float lclip_f16_to_f32(uint16_t h);
float lclip_bf16_to_f32(uint16_t h);

#endif
