/* What the oneDNN engine's files share (gemm_onednn.c: linear layers,
 * conv_onednn.c: convolutions); for them alone. */
#ifndef LCLIP_GEMM_ONEDNN_H
#define LCLIP_GEMM_ONEDNN_H

#include <oneapi/dnnl/dnnl.h>
#include <stdint.h>

#include "gemm/gemm_engines.h"

struct lclip_onednn {
    dnnl_engine_t engine;
    int bf16, n_threads, slices; /* slices: column blocks per layer */
    dnnl_cpu_isa_t isa;
    uint64_t packed_bytes;
    lclip_gemm_weights *layers; /* every packed layer, to free */
    lclip_gemm_conv *convs;     /* every packed convolution, to free */
};

/* A failed oneDNN call as libclip's error: NOMEM, or UNSUPPORTED. */
lclip_status lclip_onednn_failed(dnnl_status_t s, const char *what);

/* A primitive's attributes. Primitives are made on one thread and may run
 * on another (a team's member): oneDNN's own scratchpad (one per thread,
 * unless built with DNNL_ENABLE_CONCURRENT_EXEC) serves only primitives
 * run where they were made, so the caller passes its own. With fusion
 * (or NULL), its post-ops: the sum into the output's old values, then the
 * activation. */
dnnl_status_t lclip_onednn_attr(const lclip_gemm_fusion *fusion, dnnl_primitive_attr_t *attr);

/* *memory: the scratchpad pd's kernel needs (made with lclip_onednn_attr),
 * or NULL if it needs none. */
dnnl_status_t lclip_onednn_scratchpad(const lclip_onednn *e, const_dnnl_primitive_desc_t pd, dnnl_memory_t *memory);

/* Where a fused product's output goes: the sum's target, or y. */
static inline float *lclip_onednn_fused_output(const lclip_gemm_fusion *fusion, float *y)
{
    return fusion->accumulate ? fusion->accumulate : y;
}

/* Runs on this thread with threads OpenMP threads where the caller set
 * n_threads (also 1: exactly one thread then, not oneDNN's default of every
 * core), else as the process has it; returns what to restore. */
int lclip_onednn_threads_begin(const lclip_onednn *e, int threads);
void lclip_onednn_threads_end(const lclip_onednn *e, int saved);

/* Copies source into target's layout and data type, on a stream of its
 * own (packing weights, rounding an input to BF16). */
dnnl_status_t lclip_onednn_reorder(const lclip_onednn *e, dnnl_memory_t source, dnnl_memory_t target);

void lclip_onednn_convs_free(lclip_gemm_conv *list);

#endif
