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
/* Gives back the memory of bytes of F32 data at data (which a bind gave, or
 * lclip_owned_floats) that nothing reads any more: a layer the engine has
 * packed, a kernel folded or a matrix transposed into a copy. Within an
 * owned copy, its whole pages go back to the OS at once, and the copy is
 * freed once all of it has been given back (OpenAI's fused in_proj: q, k
 * and v each give back their third); mapped data's pages are released
 * (lclip_safetensors_release). The data must not be read afterwards. */
void lclip_tensor_done(lclip_model *model, const float *data, size_t bytes);
/* Bytes of the F32 copies the model holds (converted, transposed, folded). */
uint64_t lclip_owned_bytes(const lclip_model *model);
void lclip_owned_free_all(lclip_owned_buffer **list);

/* Exposed for tests: IEEE half and bfloat16 to float, exact. */
float lclip_f16_to_f32(uint16_t h);
float lclip_bf16_to_f32(uint16_t h);

#endif
