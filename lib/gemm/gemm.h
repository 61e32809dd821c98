/* The engine under every linear layer: y = x W^T + b, on weights the engine
 * prepared when the encoder opened. Two engines:
 *  - cblas: the CBLAS libclip is built against (OpenBLAS, BLIS, ...), on
 *    the checkpoint's F32 weights in place (the mapped file's pages, shared
 *    between processes);
 *  - onednn (built when CMake finds oneDNN): weights packed once at open
 *    into oneDNN's layout for this CPU, F32 or BF16; its calls live in
 *    gemm_onednn.c alone.
 * A layer's step is shared out by output columns among a team's members;
 * whatever can fail (oneDNN primitives) happens when the step begins, on
 * the calling thread, so that the members' parts cannot fail. */
#ifndef LCLIP_GEMM_GEMM_H
#define LCLIP_GEMM_GEMM_H

#include <stddef.h>

#include "common/log.h"
#include "libclip.h"

typedef struct lclip_gemm lclip_gemm;                 /* an encoder's engine */
typedef struct lclip_gemm_weights lclip_gemm_weights; /* a layer's weights, as the engine keeps them */

typedef struct lclip_linear {
    const float *weight; /* [out][in], as the checkpoint has it */
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

/* Makes lin ready for the engine: with oneDNN, packs its weights and sets
 * lin->packed (owned by gemm). A layer is bound once. */
lclip_status lclip_gemm_bind(lclip_gemm *gemm, lclip_linear *lin);

/* What the encoder runs on, e.g. "engine=onednn isa=avx512_core_bf16
 * precision=bf16 packed_bytes=176160768"; valid until lclip_gemm_close. */
const char *lclip_gemm_describe(const lclip_gemm *gemm);

/* One layer's product over rows rows, for a team of parts members. */
typedef struct lclip_gemm_step {
    const lclip_linear *lin;
    int rows, parts;
    void *engine_state; /* the engine's per-step objects, or NULL */
} lclip_gemm_step;

lclip_status lclip_gemm_step_begin(lclip_gemm_step *step, const lclip_linear *lin, int rows, int parts);
/* Member part's columns [*begin, *end) of y[rows][out] = x[rows][in] W^T + b. */
void lclip_gemm_step_part(const lclip_gemm_step *step, const float *x, float *y, int part, size_t *begin,
                          size_t *end);
void lclip_gemm_step_end(lclip_gemm_step *step);

#endif
