/* Engine choice and dispatch: a layer with packed weights belongs to the
 * oneDNN engine, any other runs on the CBLAS. */
#include "gemm/gemm.h"

#include <stdio.h>

#include "common/alloc.h"
#include "common/blas_runtime.h"
#include "common/error.h"
#include "gemm/gemm_engines.h"

struct lclip_gemm {
    int precision, n_threads;
#ifdef LCLIP_HAVE_ONEDNN
    lclip_onednn *onednn;
#endif
    char description[256];
};

#ifdef LCLIP_HAVE_ONEDNN
/* One column block per team member, so that each runs single-threaded on
 * its own packed block; one block for oneDNN's own threads. */
static lclip_status open_onednn(lclip_gemm *g)
{
    return lclip_onednn_open(g->precision == LCLIP_PRECISION_BF16, g->n_threads, &g->onednn);
}
#endif

static lclip_status choose_engine(lclip_gemm *g, int engine, const lclip_logger *log)
{
#ifdef LCLIP_HAVE_ONEDNN
    if (engine == LCLIP_ENGINE_ONEDNN || engine == LCLIP_ENGINE_AUTO) {
        /* AUTO falls back on the CBLAS only where oneDNN cannot serve this
         * CPU, never to hide a failure (out of memory). */
        lclip_status s = open_onednn(g);
        if (s != LCLIP_E_UNSUPPORTED || engine == LCLIP_ENGINE_ONEDNN || g->precision == LCLIP_PRECISION_BF16)
            return s;
        lclip_log(log, LCLIP_LOG_INFO, "engine AUTO: oneDNN is not usable here (%s); using the CBLAS",
                  lclip_last_error());
    }
#else
    (void)log;
    if (engine == LCLIP_ENGINE_ONEDNN || g->precision == LCLIP_PRECISION_BF16)
        return lclip_fail(LCLIP_E_UNSUPPORTED, "%s needs the oneDNN engine, and this libclip was built without "
                          "oneDNN (CMake: LIBCLIP_ONEDNN, Debian: libdnnl-dev)",
                          engine == LCLIP_ENGINE_ONEDNN ? "engine ONEDNN" : "precision BF16");
#endif
    if (g->precision == LCLIP_PRECISION_BF16)
        return lclip_fail(LCLIP_E_UNSUPPORTED, "precision BF16 runs on the oneDNN engine only, not on the CBLAS");
    return LCLIP_OK; /* the CBLAS: no onednn */
}

static void describe(lclip_gemm *g)
{
#ifdef LCLIP_HAVE_ONEDNN
    if (g->onednn) {
        char engine[200];
        lclip_onednn_describe(g->onednn, engine, sizeof engine);
        snprintf(g->description, sizeof g->description, "%s threads=%d", engine, g->n_threads);
        return;
    }
#endif
    snprintf(g->description, sizeof g->description, "engine=cblas precision=f32 blas=%s kernels=%s threads=%d",
             lclip_blas_name(), lclip_blas_kernels(), g->n_threads);
}

lclip_status lclip_gemm_open(int engine, int precision, int n_threads, const lclip_logger *log, lclip_gemm **out)
{
    *out = NULL;
    lclip_gemm *g = lclip_calloc(1, sizeof *g);
    if (!g)
        return lclip_fail(LCLIP_E_NOMEM, "out of memory");
    g->precision = precision;
    g->n_threads = n_threads;
    lclip_status s = choose_engine(g, engine, log);
    if (s != LCLIP_OK) {
        lclip_gemm_close(g);
        return s;
    }
    describe(g);
    *out = g;
    return LCLIP_OK;
}

void lclip_gemm_close(lclip_gemm *g)
{
    if (!g)
        return;
#ifdef LCLIP_HAVE_ONEDNN
    lclip_onednn_close(g->onednn);
#endif
    lclip_free(g);
}

int lclip_gemm_runs_blas(const lclip_gemm *g)
{
#ifdef LCLIP_HAVE_ONEDNN
    return g->onednn == NULL;
#else
    (void)g;
    return 1;
#endif
}

lclip_status lclip_gemm_bind(lclip_gemm *g, lclip_linear *lin)
{
    lin->packed = NULL;
#ifdef LCLIP_HAVE_ONEDNN
    if (g->onednn) {
        lclip_status s = lclip_onednn_pack(g->onednn, lin, &lin->packed);
        if (s == LCLIP_OK)
            describe(g); /* packed_bytes grew */
        return s;
    }
#else
    (void)g;
#endif
    return LCLIP_OK;
}

lclip_status lclip_gemm_bind_conv(lclip_gemm *g, const lclip_linear *lin, int kernel, int stride, int side,
                                  const lclip_gemm_conv **out)
{
    *out = NULL;
#ifdef LCLIP_HAVE_ONEDNN
    if (g->onednn) {
        lclip_status s = lclip_onednn_pack_conv(g->onednn, lin, kernel, stride, side, out);
        if (s == LCLIP_OK)
            describe(g);
        return s;
    }
#else
    (void)g;
    (void)lin;
    (void)kernel;
    (void)stride;
    (void)side;
#endif
    return LCLIP_OK;
}

lclip_status lclip_gemm_conv_run(const lclip_gemm_conv *conv, const float *x, int n, int side, float *y,
                                 const lclip_gemm_fusion *fusion, int threads)
{
#ifdef LCLIP_HAVE_ONEDNN
    return lclip_onednn_conv_run(conv, x, n, side, y, fusion, threads);
#else
    (void)conv;
    (void)x;
    (void)n;
    (void)side;
    (void)y;
    (void)fusion;
    (void)threads;
    return lclip_fail(LCLIP_E_UNSUPPORTED, "this engine runs no convolutions");
#endif
}

void lclip_gemm_product(const lclip_gemm *g, int b_transposed, int m, int n, int k, float alpha, const float *a,
                        size_t lda, const float *b, size_t ldb, float *c, size_t ldc)
{
#ifdef LCLIP_HAVE_ONEDNN
    /* Out of memory inside oneDNN, the CBLAS computes the same product. */
    if (g && g->onednn && lclip_onednn_product(g->onednn, b_transposed, m, n, k, alpha, a, lda, b, ldb, c, ldc))
        return;
#else
    (void)g;
#endif
    lclip_gemm_cblas_product(b_transposed, m, n, k, alpha, a, lda, b, ldb, c, ldc);
}

const char *lclip_gemm_describe(const lclip_gemm *g)
{
    return g->description;
}

lclip_status lclip_gemm_cache_new(const lclip_gemm *g, lclip_gemm_cache **cache)
{
    *cache = NULL;
#ifdef LCLIP_HAVE_ONEDNN
    if (g && g->onednn)
        return lclip_onednn_cache_new(cache);
#else
    (void)g;
#endif
    return LCLIP_OK;
}

void lclip_gemm_cache_free(lclip_gemm_cache *cache)
{
#ifdef LCLIP_HAVE_ONEDNN
    lclip_onednn_cache_free(cache);
#else
    (void)cache;
#endif
}

lclip_status lclip_gemm_step_begin(lclip_gemm_step *step, const lclip_linear *lin, const float *x, float *y,
                                   int rows, int parts, const lclip_gemm_fusion *fusion, lclip_gemm_cache *cache,
                                   const lclip_gemm_step *input_of)
{
    *step = (lclip_gemm_step){lin, x, y, rows, parts, fusion, NULL};
#ifdef LCLIP_HAVE_ONEDNN
    if (input_of && (input_of->x != x || input_of->rows != rows || input_of->lin->in != lin->in ||
                     !input_of->lin->packed))
        input_of = NULL;
    if (lin->packed)
        return lclip_onednn_step_begin(step, cache, input_of);
#else
    (void)cache;
    (void)input_of;
#endif
    return LCLIP_OK;
}

int lclip_gemm_step_converts(const lclip_gemm_step *step)
{
#ifdef LCLIP_HAVE_ONEDNN
    if (step->lin->packed)
        return lclip_onednn_step_converts(step);
#else
    (void)step;
#endif
    return 0;
}

void lclip_gemm_step_convert_part(const lclip_gemm_step *step, int part)
{
#ifdef LCLIP_HAVE_ONEDNN
    if (step->lin->packed)
        lclip_onednn_step_convert_part(step, part);
#else
    (void)step;
    (void)part;
#endif
}

void lclip_gemm_step_blocks(const lclip_gemm_step *step, int part, int *first, int *last)
{
#ifdef LCLIP_HAVE_ONEDNN
    if (step->lin->packed) {
        lclip_onednn_step_blocks(step, part, first, last);
        return;
    }
#else
    (void)step;
#endif
    *first = part; /* one block per member */
    *last = part + 1;
}

void lclip_gemm_step_run(const lclip_gemm_step *step, int part, int block, lclip_gemm_block *out)
{
    out->fused = 0;
#ifdef LCLIP_HAVE_ONEDNN
    if (step->lin->packed) {
        lclip_onednn_step_run(step, part, block, out);
        return;
    }
#else
    (void)part;
#endif
    lclip_gemm_cblas_run(step, block, out);
}

void lclip_gemm_step_end(lclip_gemm_step *step)
{
#ifdef LCLIP_HAVE_ONEDNN
    if (step->lin->packed)
        lclip_onednn_step_end(step);
#else
    (void)step;
#endif
}
