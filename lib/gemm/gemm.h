/* The engine under every linear layer: y = x W^T + b, on weights the engine
 * prepared when the encoder opened (and, where it has them, convolutions:
 * see "Convolutions" below). Two engines:
 *  - cblas: the CBLAS libclip is built against (OpenBLAS, BLIS, ...), on
 *    the checkpoint's F32 weights in place (the mapped file's pages, shared
 *    between processes);
 *  - onednn (built when CMake finds oneDNN): weights packed once at open
 *    into oneDNN's layout for this CPU, F32 or BF16; its calls live in
 *    gemm_onednn.c and conv_onednn.c alone.
 * A layer's step is shared out among a team's members by output columns
 * (or, for oneDNN's large steps, by rows); whatever can fail (oneDNN
 * primitives) happens when the step begins, on the calling thread, so that
 * the members' parts cannot fail. */
#ifndef LCLIP_GEMM_GEMM_H
#define LCLIP_GEMM_GEMM_H

#include <stddef.h>

#include "common/log.h"
#include "libclip.h"

typedef struct lclip_gemm lclip_gemm;                 /* an encoder's engine */
typedef struct lclip_gemm_weights lclip_gemm_weights; /* a layer's weights, as the engine keeps them */

typedef struct lclip_linear {
    const float *weight; /* [out][in], as the checkpoint has it; NULL once the engine has packed it */
    const float *bias;   /* [out], or NULL */
    int out, in;
    const lclip_gemm_weights *packed; /* the engine's copy (NULL: weight is used in place) */
} lclip_linear;

/* engine and precision are resolved lclip_options values (LCLIP_ENGINE_*,
 * LCLIP_PRECISION_*); n_threads too: it decides how the engine shares a
 * step. A request the build or the CPU cannot meet is LCLIP_E_UNSUPPORTED
 * with a message naming what is missing. */
lclip_status lclip_gemm_open(int engine, int precision, int n_threads, const lclip_logger *log, lclip_gemm **out);
void lclip_gemm_close(lclip_gemm *gemm);

/* Whether the encoder's products run on the CBLAS (then a team's members
 * must run the BLAS single-threaded). oneDNN's make no BLAS call but for
 * lclip_gemm_product's fallback where oneDNN runs out of memory, which may
 * then run on the BLAS's threads. */
int lclip_gemm_runs_blas(const lclip_gemm *gemm);

/* Makes lin ready for the engine: with oneDNN, packs its weights and sets
 * lin->packed (owned by gemm). A layer is bound once. */
lclip_status lclip_gemm_bind(lclip_gemm *gemm, lclip_linear *lin);

/* What the encoder runs on, e.g. "engine=onednn isa=avx512_core_bf16
 * precision=bf16 packed_bytes=175374336"; valid until lclip_gemm_close. */
const char *lclip_gemm_describe(const lclip_gemm *gemm);

/* What follows a product that the engine may do within it: adding the
 * product to accumulate[rows][out] in place instead of storing it in y,
 * then an activation. */
typedef enum lclip_gemm_activation {
    LCLIP_GEMM_ACT_NONE,
    LCLIP_GEMM_ACT_RELU,       /* max(x, 0) */
    LCLIP_GEMM_ACT_QUICK_GELU, /* x * sigmoid(1.702 x) */
    LCLIP_GEMM_ACT_GELU        /* exact erf GELU */
} lclip_gemm_activation;

typedef struct lclip_gemm_fusion {
    float *accumulate; /* or NULL */
    lclip_gemm_activation act;
} lclip_gemm_fusion;

/* One layer's product y[rows][out] = x[rows][in] W^T + b, for a team of
 * parts members. */
typedef struct lclip_gemm_step {
    const lclip_linear *lin;
    const float *x;
    float *y;
    int rows, parts;
    const lclip_gemm_fusion *fusion; /* the whole epilogue, if it can be fused; else NULL */
    void *engine_state;              /* the engine's per-step objects, or NULL */
} lclip_gemm_step;

/* What the engine makes for a step that later steps of the same shape
 * (rows, team, layer shape, epilogue) can reuse, kept while a forward pass
 * runs: a tower's layers share a few shapes. Begun and ended on one thread
 * at a time; freed after its steps end. *cache is NULL where the engine
 * has nothing to keep (the CBLAS; gemm NULL). */
typedef struct lclip_gemm_cache lclip_gemm_cache;
lclip_status lclip_gemm_cache_new(const lclip_gemm *gemm, lclip_gemm_cache **cache);
void lclip_gemm_cache_free(lclip_gemm_cache *cache);

/* Sets up the step, with cache's objects where it has them for the
 * step's shape (cache may be NULL); every begun step is ended, whether it
 * ran or not. fusion (or NULL) must outlive the step. input_of (or NULL):
 * a begun step on the same x, rows and width (q's, for k and v on one layer
 * norm's output), whose converted input this step reads instead of
 * converting its own; it ends after this step. */
lclip_status lclip_gemm_step_begin(lclip_gemm_step *step, const lclip_linear *lin, const float *x, float *y,
                                   int rows, int parts, const lclip_gemm_fusion *fusion, lclip_gemm_cache *cache,
                                   const lclip_gemm_step *input_of);
void lclip_gemm_step_end(lclip_gemm_step *step);
/* Whether the engine first converts x (BF16; not a step that reads
 * another's): then every member runs lclip_gemm_step_convert_part, as a
 * team step of its own, before any member runs a block. */
int lclip_gemm_step_converts(const lclip_gemm_step *step);
void lclip_gemm_step_convert_part(const lclip_gemm_step *step, int part);

/* Rows [row_begin, row_end) of y's columns [begin, end), as the engine
 * computed them: row r at data + (r - row_begin) * ld, either in y itself
 * or in the engine's scratch (oneDNN's fast kernels write dense rows only),
 * which the caller may overwrite. With fused set, the engine did the
 * step's fusion too: the block is final (in accumulate, or in y). */
typedef struct lclip_gemm_block {
    size_t begin, end;
    int row_begin, row_end;
    float *data;
    size_t ld;
    int fused;
} lclip_gemm_block;

/* The blocks member part computes, [*first, *last), each run by that
 * member. */
void lclip_gemm_step_blocks(const lclip_gemm_step *step, int part, int *first, int *last);
void lclip_gemm_step_run(const lclip_gemm_step *step, int part, int block, lclip_gemm_block *out);

/* c[m][n] = alpha a[m][k] b[k][n], or with b_transposed alpha a b^T for b
 * [n][k]: row-major, each matrix with its leading dimension. Products of
 * activations with activations (attention's, per head), which have no
 * packed weights. oneDNN runs its sgemm, whose kernels follow the CPU's
 * instruction sets as its matmul's do (OpenBLAS's follow its table of core
 * names: its Prescott kernels, 2-4x slower, where it does not know the
 * CPU); gemm NULL and the CBLAS engine run cblas_sgemm. On the calling
 * thread alone where the encoder has n_threads, as in a team's member. */
void lclip_gemm_product(const lclip_gemm *gemm, int b_transposed, int m, int n, int k, float alpha, const float *a,
                        size_t lda, const float *b, size_t ldb, float *c, size_t ldc);

/* Convolutions, where the engine runs them itself (oneDNN: its
 * convolution kernels read the channels-last grid directly, with no
 * unfolded copy, and ran RN50's layers 15-30% faster than unfolding and a
 * matmul). With the CBLAS there are none: the caller unfolds the grid and
 * runs the linear layer. */
typedef struct lclip_gemm_conv lclip_gemm_conv;

/* The output side of a kernel x kernel convolution over side x side grids,
 * padding kernel / 2, with stride. */
static inline int lclip_conv_out_side(int side, int kernel, int stride)
{
    return (side + 2 * (kernel / 2) - kernel) / stride + 1;
}

/* lin holds a convolution's weights as [out][kernel][kernel][in channels]
 * (lin->in = kernel^2 x channels) and bias; it convolves side x side grids
 * (the layout chosen may depend on it), padding kernel / 2, with stride.
 * *out is NULL where the engine has no convolutions; else lin->weight is
 * no longer needed. */
lclip_status lclip_gemm_bind_conv(lclip_gemm *gemm, const lclip_linear *lin, int kernel, int stride, int side,
                                  const lclip_gemm_conv **out);

/* y = conv(x) + b over n channels-last grids x[n][side][side][in], then
 * fusion (or NULL: none; with fusion->accumulate, y is unused), into
 * y[n][side'][side'][out]. Runs on the calling thread, on threads threads
 * where the encoder has a team (its members when they share a step, 1 for
 * one member's own images), else as oneDNN's OpenMP threads are set. */
lclip_status lclip_gemm_conv_run(const lclip_gemm_conv *conv, const float *x, int n, int side, float *y,
                                 const lclip_gemm_fusion *fusion, int threads);

#endif
