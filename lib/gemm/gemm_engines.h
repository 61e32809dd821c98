/* The engines behind gemm.h, for gemm.c only. */
#ifndef LCLIP_GEMM_GEMM_ENGINES_H
#define LCLIP_GEMM_GEMM_ENGINES_H

#include "gemm/gemm.h"

/* Block b is member b's share of the columns, computed in y. */
void lclip_gemm_cblas_run(const lclip_gemm_step *step, int block, lclip_gemm_block *out);
/* lclip_gemm_product on the CBLAS. */
void lclip_gemm_cblas_product(int b_transposed, int m, int n, int k, float alpha, const float *a, size_t lda,
                              const float *b, size_t ldb, float *c, size_t ldc);

#ifdef LCLIP_HAVE_ONEDNN
typedef struct lclip_onednn lclip_onednn;

/* n_threads as lclip_options has it: N > 0 packs each layer in N column
 * blocks (one per member of the team) and runs every kernel on the threads
 * the caller asks for; 0 leaves oneDNN's OpenMP threads as the process has
 * them, with one block per layer. */
lclip_status lclip_onednn_open(int bf16, int n_threads, lclip_onednn **out);
void lclip_onednn_close(lclip_onednn *e);
lclip_status lclip_onednn_pack(lclip_onednn *e, const lclip_linear *lin, const lclip_gemm_weights **out);
/* "engine=onednn isa=... precision=... packed_bytes=..." */
void lclip_onednn_describe(const lclip_onednn *e, char *buf, size_t size);

lclip_status lclip_onednn_cache_new(lclip_gemm_cache **out);
void lclip_onednn_cache_free(lclip_gemm_cache *cache);
/* input_of: a packed step on the same input (checked by the caller), or NULL. */
lclip_status lclip_onednn_step_begin(lclip_gemm_step *step, lclip_gemm_cache *cache, const lclip_gemm_step *input_of);
void lclip_onednn_step_end(lclip_gemm_step *step);
int lclip_onednn_step_converts(const lclip_gemm_step *step);
void lclip_onednn_step_convert_part(const lclip_gemm_step *step, int part);
/* Blocks are row chunks of the packed slices: a member runs all chunks of
 * its slices, or of a whole layer its share of the chunks. */
void lclip_onednn_step_blocks(const lclip_gemm_step *step, int part, int *first, int *last);
void lclip_onednn_step_run(const lclip_gemm_step *step, int part, int block, lclip_gemm_block *out);

/* lclip_gemm_product on oneDNN's sgemm; 0 where it failed: out of memory
 * (the caller's tasks cannot report it), the one failure its arguments,
 * checked by the caller's shapes, leave. */
int lclip_onednn_product(const lclip_onednn *e, int b_transposed, int m, int n, int k, float alpha, const float *a,
                         size_t lda, const float *b, size_t ldb, float *c, size_t ldc);

lclip_status lclip_onednn_pack_conv(lclip_onednn *e, const lclip_linear *lin, int kernel, int stride, int side,
                                    const lclip_gemm_conv **out);
lclip_status lclip_onednn_conv_run(const lclip_gemm_conv *conv, const float *x, int n, int side, float *y,
                                   const lclip_gemm_fusion *fusion, int threads);
#endif

#endif
