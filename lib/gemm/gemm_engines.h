/* The engines behind gemm.h, for gemm.c only. */
#ifndef LCLIP_GEMM_GEMM_ENGINES_H
#define LCLIP_GEMM_GEMM_ENGINES_H

#include "gemm/gemm.h"

void lclip_gemm_cblas_part(const lclip_linear *lin, const float *x, int rows, float *y, int part, int parts,
                           size_t *begin, size_t *end);

#ifdef LCLIP_HAVE_ONEDNN
typedef struct lclip_onednn lclip_onednn;

/* slices: how many column blocks each layer is packed in (one per member of
 * an n_threads team; 1 for oneDNN's own threads). */
lclip_status lclip_onednn_open(int bf16, int slices, lclip_onednn **out);
void lclip_onednn_close(lclip_onednn *e);
lclip_status lclip_onednn_pack(lclip_onednn *e, const lclip_linear *lin, const lclip_gemm_weights **out);
/* "engine=onednn isa=... precision=... packed_bytes=..." */
void lclip_onednn_describe(const lclip_onednn *e, char *buf, size_t size);

lclip_status lclip_onednn_step_begin(lclip_gemm_step *step);
void lclip_onednn_step_part(const lclip_gemm_step *step, const float *x, float *y, int part, size_t *begin,
                            size_t *end);
void lclip_onednn_step_end(lclip_gemm_step *step);
#endif

#endif
