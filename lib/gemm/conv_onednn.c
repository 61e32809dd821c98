/* The oneDNN engine's convolutions (gemm.h, "Convolutions"). The weights
 * are packed once, at open, into the layout oneDNN's convolution picks for
 * this CPU and the grid side the layer sees (format "any"; it may differ
 * with the side), F32 or BF16. A run makes its primitive for its image
 * count on channels-last grids, the fusion as post-ops; oneDNN's primitive
 * cache makes a repeated shape cheap. BF16 rounds the input grid with a
 * reorder first; the output is F32. */
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "gemm/onednn.h"

struct lclip_gemm_conv {
    lclip_gemm_conv *next;
    const lclip_onednn *owner;
    int channels, out, kernel, stride, side;
    const float *bias; /* [out], the model's */
    dnnl_memory_desc_t weights_md;
    dnnl_memory_t weights;
};

/* The source grids' layout: n x side x side x channels, F32 or BF16. */
static dnnl_status_t grid_md(int n, int channels, int side, dnnl_data_type_t type, dnnl_memory_desc_t *md)
{
    dnnl_dims_t dims = {n, channels, side, side};
    return dnnl_memory_desc_init_by_tag(md, 4, dims, type, dnnl_nhwc);
}

/* The convolution of n side x side grids; weights laid out as packed_md,
 * or "any" when packed_md is NULL. */
static dnnl_status_t conv_pd(const lclip_gemm_conv *c, int n, int side, const dnnl_memory_desc_t *packed_md,
                             const_dnnl_primitive_attr_t attr, dnnl_primitive_desc_t *pd)
{
    const lclip_onednn *e = c->owner;
    dnnl_data_type_t in_type = e->bf16 ? dnnl_bf16 : dnnl_f32;
    dnnl_memory_desc_t src, weights, bias, dst;
    dnnl_dims_t weight_dims = {c->out, c->channels, c->kernel, c->kernel}, bias_dims = {c->out};
    dnnl_dims_t strides = {c->stride, c->stride}, padding = {c->kernel / 2, c->kernel / 2};
    dnnl_status_t s = grid_md(n, c->channels, side, in_type, &src);
    if (s == dnnl_success && packed_md)
        weights = *packed_md;
    else if (s == dnnl_success)
        s = dnnl_memory_desc_init_by_tag(&weights, 4, weight_dims, in_type, dnnl_format_tag_any);
    if (s == dnnl_success)
        s = dnnl_memory_desc_init_by_tag(&bias, 1, bias_dims, dnnl_f32, dnnl_a);
    if (s == dnnl_success)
        s = grid_md(n, c->out, lclip_conv_out_side(side, c->kernel, c->stride), dnnl_f32, &dst);
    dnnl_convolution_desc_t desc;
    if (s == dnnl_success)
        s = dnnl_convolution_forward_desc_init(&desc, dnnl_forward_inference, dnnl_convolution_direct, &src, &weights,
                                               &bias, &dst, strides, padding, padding);
    if (s == dnnl_success)
        s = dnnl_primitive_desc_create(pd, &desc, attr, e->engine, NULL);
    return s;
}

/* The checkpoint's [out][kernel][kernel][channels] weights (oneDNN's
 * "acdb" of out, channels, kernel, kernel) into the packed layout. */
static dnnl_status_t pack_weights(lclip_gemm_conv *c, const float *weight)
{
    const lclip_onednn *e = c->owner;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_memory_t source = NULL;
    dnnl_memory_desc_t source_md;
    dnnl_dims_t dims = {c->out, c->channels, c->kernel, c->kernel};
    dnnl_status_t s = conv_pd(c, 1, c->side, NULL, NULL, &pd);
    if (s == dnnl_success) {
        c->weights_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
        s = dnnl_memory_desc_init_by_tag(&source_md, 4, dims, dnnl_f32, dnnl_acdb);
    }
    if (s == dnnl_success)
        s = dnnl_memory_create(&source, &source_md, e->engine, (void *)weight);
    if (s == dnnl_success)
        s = dnnl_memory_create(&c->weights, &c->weights_md, e->engine, DNNL_MEMORY_ALLOCATE);
    if (s == dnnl_success)
        s = lclip_onednn_reorder(e, source, c->weights);
    if (source)
        dnnl_memory_destroy(source);
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    return s;
}

void lclip_onednn_convs_free(lclip_gemm_conv *list)
{
    while (list) {
        lclip_gemm_conv *next = list->next;
        if (list->weights)
            dnnl_memory_destroy(list->weights);
        lclip_free(list);
        list = next;
    }
}

lclip_status lclip_onednn_pack_conv(lclip_onednn *e, const lclip_linear *lin, int kernel, int stride, int side,
                                    const lclip_gemm_conv **out)
{
    *out = NULL;
    lclip_gemm_conv *c = lclip_calloc(1, sizeof *c);
    if (!c)
        return lclip_fail(LCLIP_E_NOMEM, "out of memory packing a convolution");
    *c = (lclip_gemm_conv){.owner = e,
                           .channels = lin->in / (kernel * kernel),
                           .out = lin->out,
                           .kernel = kernel,
                           .stride = stride,
                           .side = side,
                           .bias = lin->bias};
    int saved = lclip_onednn_threads_begin(e, e->n_threads);
    dnnl_status_t s = pack_weights(c, lin->weight);
    lclip_onednn_threads_end(e, saved);
    if (s != dnnl_success) {
        lclip_onednn_convs_free(c);
        return lclip_onednn_failed(s, "packing a convolution");
    }
    c->next = e->convs;
    e->convs = c;
    e->packed_bytes += dnnl_memory_desc_get_size(&c->weights_md);
    *out = c;
    return LCLIP_OK;
}

/* A run's objects, all released by run_free. */
typedef struct conv_run {
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t primitive;
    dnnl_stream_t stream;
    dnnl_memory_t x, x_bf16, bias, y, scratchpad;
} conv_run;

static void run_free(conv_run *r)
{
    dnnl_memory_t memories[5] = {r->x, r->x_bf16, r->bias, r->y, r->scratchpad};
    for (int i = 0; i < 5; i++)
        if (memories[i])
            dnnl_memory_destroy(memories[i]);
    if (r->stream)
        dnnl_stream_destroy(r->stream);
    if (r->primitive)
        dnnl_primitive_destroy(r->primitive);
    if (r->pd)
        dnnl_primitive_desc_destroy(r->pd);
}

/* The primitive and the memory objects over the caller's buffers (and,
 * for BF16, the input rounded). */
static dnnl_status_t run_setup(const lclip_gemm_conv *c, const float *x, int n, int side, float *target,
                               const lclip_gemm_fusion *fusion, conv_run *r)
{
    const lclip_onednn *e = c->owner;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_memory_desc_t x_md;
    dnnl_status_t s = lclip_onednn_attr(fusion, &attr);
    if (s == dnnl_success)
        s = conv_pd(c, n, side, &c->weights_md, attr, &r->pd);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    if (s == dnnl_success)
        s = dnnl_primitive_create(&r->primitive, r->pd);
    if (s == dnnl_success)
        s = dnnl_stream_create(&r->stream, e->engine, dnnl_stream_default_flags);
    if (s == dnnl_success)
        s = grid_md(n, c->channels, side, dnnl_f32, &x_md);
    if (s == dnnl_success)
        s = dnnl_memory_create(&r->x, &x_md, e->engine, (void *)x);
    if (s == dnnl_success && e->bf16) {
        s = dnnl_memory_create(&r->x_bf16, dnnl_primitive_desc_query_md(r->pd, dnnl_query_src_md, 0), e->engine,
                               DNNL_MEMORY_ALLOCATE);
        if (s == dnnl_success)
            s = lclip_onednn_reorder(e, r->x, r->x_bf16);
    }
    if (s == dnnl_success)
        s = dnnl_memory_create(&r->bias, dnnl_primitive_desc_query_md(r->pd, dnnl_query_weights_md, 1), e->engine,
                               (void *)c->bias);
    if (s == dnnl_success)
        s = dnnl_memory_create(&r->y, dnnl_primitive_desc_query_md(r->pd, dnnl_query_dst_md, 0), e->engine, target);
    if (s == dnnl_success)
        s = lclip_onednn_scratchpad(e, r->pd, &r->scratchpad);
    return s;
}

lclip_status lclip_onednn_conv_run(const lclip_gemm_conv *c, const float *x, int n, int side, float *y,
                                   const lclip_gemm_fusion *fusion, int threads)
{
    conv_run r = {0};
    float *target = fusion ? lclip_onednn_fused_output(fusion, y) : y;
    int saved = lclip_onednn_threads_begin(c->owner, threads);
    dnnl_status_t s = run_setup(c, x, n, side, target, fusion, &r);
    if (s == dnnl_success) {
        dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, r.x_bf16 ? r.x_bf16 : r.x},
                                   {DNNL_ARG_WEIGHTS, c->weights},
                                   {DNNL_ARG_BIAS, r.bias},
                                   {DNNL_ARG_DST, r.y},
                                   {DNNL_ARG_SCRATCHPAD, r.scratchpad}};
        s = dnnl_primitive_execute(r.primitive, r.stream, r.scratchpad ? 5 : 4, args);
    }
    if (s == dnnl_success)
        s = dnnl_stream_wait(r.stream);
    lclip_onednn_threads_end(c->owner, saved);
    run_free(&r);
    return s == dnnl_success ? LCLIP_OK : lclip_onednn_failed(s, "running a convolution");
}
