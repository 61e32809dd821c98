/* The oneDNN engine's linear layers, and its products of activations (on
 * oneDNN's sgemm: no weights to pack, no primitive per shape). Every call
 * to oneDNN is in this file and conv_onednn.c (oneDNN 2.6's C API; 3.x
 * support is a change to these two alone).
 *
 * Each linear layer's weights are packed once, at open, into the layout
 * oneDNN's matmul picks for this CPU (format "any"), in F32 or BF16, as
 * column blocks ("slices"): one per member of an n_threads team, so that
 * each member runs its own block single-threaded; one block, run on
 * oneDNN's own OpenMP threads, for n_threads = 0. The packed layout does
 * not depend on the row count, so one copy serves every batch; a matmul
 * primitive does (a runtime row count falls back to slower kernels), so a
 * step's primitives are for its row chunks (CHUNK_ROWS, and the last
 * chunk's). A forward pass makes them once per step shape and keeps them,
 * with the memory objects and streams, in its lclip_gemm_cache for the
 * other layers (step_plan).
 *
 * A step of many rows shares its rows among the team instead, on all the
 * layer's columns at once: its products write y's dense rows directly, with
 * the residual sum and the activation as post-ops (a column block's output
 * is strided, which oneDNN 2.6's fast kernels do not write, hence the
 * copy). For that, a layer is also packed whole where the CPU's layout
 * lets the slices be views of the whole (each packed block of columns is
 * contiguous).
 *
 * BF16: the weights are stored as bfloat16; a step first rounds its input
 * to bfloat16 (a team step of its own, by rows), or reads the input another
 * step rounded (k and v, q's), and the product accumulates in float32. */
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/multiversion.h"
#include "common/pages.h"
#include "common/team.h"
#include "gemm/gemm_engines.h"
#include "gemm/onednn.h"

/* Column blocks start at multiples of 64 floats: whole packed blocks of
 * oneDNN's AVX-512 kernels, and no cache line shared between members. */
#define SLICE_ALIGN 64
/* The row count the packed layout is asked for: any count gives the same. */
#define PACKING_ROWS 64

struct lclip_gemm_weights {
    lclip_gemm_weights *next;
    const lclip_onednn *owner;
    size_t *bounds;               /* [slices + 1]: slice s is columns [bounds[s], bounds[s + 1]) */
    dnnl_memory_desc_t *packed_md; /* [slices] */
    dnnl_memory_t *packed;        /* [slices]; NULL for an empty slice */
    /* With several slices, all columns packed at once, the buffer that the
     * slices view (a step of many rows shares rows instead); NULL where
     * this CPU's layout cannot be cut into slices. */
    dnnl_memory_desc_t whole_md;
    dnnl_memory_t whole;
};

/* Rows per product: a member computes its slice a chunk of rows at a time
 * into scratch that stays in its cache (128 rows of a 1536-column slice:
 * 768 KiB), where the epilogue finishes them; it also bounds the scratch
 * (a whole pass's fc1 output would be 9 MiB). The packed weights are the
 * same for every chunk. */
#define CHUNK_ROWS 128

/* A step's rows come as full chunks, then the last one (maybe shorter):
 * one primitive shape each. */
enum { CHUNK_FULL, CHUNK_LAST, CHUNK_KINDS };

/* The oneDNN objects for the steps of one shape (rows, layer shape and
 * packing, epilogue): how the rows are shared out, the primitives, and for
 * each lane its stream and the memory objects that its runs point at their
 * buffers. A lane is a slice, or for a whole layer a member, and is used by
 * one member at a time. Made on the calling thread before the team runs a
 * step, so that the members' parts cannot fail; a pass's cache keeps them
 * for its later steps of the same shape (a tower's layers all have the
 * same few: a caption's 72 products have 4), else the step's own. Making
 * them took 14 us per step, a fifth of a single caption's time on 2
 * threads. */
typedef struct step_plan {
    struct step_plan *next;           /* in a cache */
    const lclip_gemm_weights *layout; /* the packing of the layer it was made for */
    int in, out, rows, parts, has_bias, fused, accumulates;
    lclip_gemm_activation act;
    int by_rows;                  /* the whole layer's products, its members sharing the rows */
    int slices;                   /* 1 by rows, else the layer's slices */
    int chunk, chunks;            /* rows per chunk; chunks - 1 full ones, then the last */
    int lanes;                    /* the slices, or by rows the members */
    int direct;                   /* products write the fused result into y or accumulate */
    dnnl_primitive_t *primitives; /* [slices][CHUNK_KINDS]; CHUNK_FULL only with chunks > 1 */
    dnnl_memory_t *args;          /* [lanes][CHUNK_KINDS][SLICE_ARGS]: src, dst, bias, scratchpad (or NULLs) */
    dnnl_stream_t *streams;       /* [lanes] */
} step_plan;

struct lclip_gemm_cache {
    step_plan *plans;
};

/* One step: its plan and buffers. */
typedef struct step_state {
    const step_plan *plan;
    step_plan *own_plan;        /* made for this step alone (no cache), or NULL */
    uint16_t *x_bf16;           /* [rows][in], BF16 only: the input rounded, unless another step's is shared */
    const uint16_t *input_bf16; /* what the products read: x_bf16, or the shared one */
    float *results;             /* unless direct, each lane's [scratch_rows()][width] (scratch_of): oneDNN's
                                 * fast kernels write dense rows, not y's strided columns */
} step_state;

enum { SLICE_ARGS = 4 };

lclip_status lclip_onednn_failed(dnnl_status_t s, const char *what)
{
    return lclip_fail(s == dnnl_out_of_memory ? LCLIP_E_NOMEM : LCLIP_E_UNSUPPORTED, "oneDNN: %s failed (status %d)",
                      what, (int)s);
}

static const char *isa_name(dnnl_cpu_isa_t isa)
{
    switch (isa) {
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_sse41: return "sse41";
    default: return "other";
    }
}

static int has_native_bf16(dnnl_cpu_isa_t isa)
{
    return ((unsigned)isa & (unsigned)dnnl_cpu_isa_avx512_core_bf16) == (unsigned)dnnl_cpu_isa_avx512_core_bf16;
}

/* A matmul of rows x in by in x columns, its output rows ld floats apart;
 * weights as packed_md, or "any" when packed_md is NULL; attr (post-ops) or
 * NULL. */
static dnnl_status_t matmul_pd(const lclip_onednn *e, int rows, int in, size_t columns, size_t ld, int bias,
                               const dnnl_memory_desc_t *packed_md, const_dnnl_primitive_attr_t attr,
                               dnnl_primitive_desc_t *pd)
{
    dnnl_data_type_t in_type = e->bf16 ? dnnl_bf16 : dnnl_f32;
    dnnl_memory_desc_t src, weights, bias_md, dst;
    dnnl_dims_t src_dims = {rows, in}, src_strides = {in, 1}, weight_dims = {in, (dnnl_dim_t)columns};
    dnnl_dims_t bias_dims = {1, (dnnl_dim_t)columns}, dst_dims = {rows, (dnnl_dim_t)columns},
                dst_strides = {(dnnl_dim_t)ld, 1};
    dnnl_status_t s = dnnl_memory_desc_init_by_strides(&src, 2, src_dims, in_type, src_strides);
    if (s == dnnl_success && packed_md)
        weights = *packed_md;
    else if (s == dnnl_success)
        s = dnnl_memory_desc_init_by_tag(&weights, 2, weight_dims, in_type, dnnl_format_tag_any);
    if (s == dnnl_success)
        s = dnnl_memory_desc_init_by_tag(&bias_md, 2, bias_dims, dnnl_f32, dnnl_ab);
    if (s == dnnl_success)
        s = dnnl_memory_desc_init_by_strides(&dst, 2, dst_dims, dnnl_f32, dst_strides);
    dnnl_matmul_desc_t desc;
    if (s == dnnl_success)
        s = dnnl_matmul_desc_init(&desc, &src, &weights, bias ? &bias_md : NULL, &dst);
    if (s == dnnl_success)
        s = dnnl_primitive_desc_create(pd, &desc, attr, e->engine, NULL);
    return s;
}

/* oneDNN may have only its reference kernels for a CPU or a data type:
 * those are far slower than the CBLAS, so the engine refuses them. */
static lclip_status check_jit(const lclip_onednn *e)
{
    dnnl_primitive_desc_t pd;
    dnnl_status_t s = matmul_pd(e, PACKING_ROWS, 256, 256, 256, 1, NULL, NULL, &pd);
    if (s != dnnl_success)
        return lclip_onednn_failed(s, "a matmul descriptor");
    const char *impl = "";
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    int reference = strncmp(impl, "ref", 3) == 0;
    char name[64];
    snprintf(name, sizeof name, "%s", impl);
    dnnl_primitive_desc_destroy(pd);
    if (reference)
        return lclip_fail(LCLIP_E_UNSUPPORTED, "oneDNN has only its reference kernel (%s) for this CPU (%s)", name,
                          isa_name(e->isa));
    return LCLIP_OK;
}

lclip_status lclip_onednn_open(int bf16, int n_threads, lclip_onednn **out)
{
    *out = NULL;
    dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    if (bf16 && !has_native_bf16(isa))
        return lclip_fail(LCLIP_E_UNSUPPORTED, "precision BF16 needs native bfloat16 instructions (AVX512-BF16 or "
                          "AMX); this CPU offers oneDNN %s", isa_name(isa));
    lclip_onednn *e = lclip_calloc(1, sizeof *e);
    if (!e)
        return lclip_fail(LCLIP_E_NOMEM, "out of memory");
    e->bf16 = bf16;
    e->n_threads = n_threads;
    e->slices = n_threads > 0 ? n_threads : 1;
    e->isa = isa;
    dnnl_status_t s = dnnl_engine_create(&e->engine, dnnl_cpu, 0);
    lclip_status status = s == dnnl_success ? check_jit(e) : lclip_onednn_failed(s, "creating a CPU engine");
    if (status != LCLIP_OK) {
        lclip_onednn_close(e);
        return status;
    }
    *out = e;
    return LCLIP_OK;
}

static void free_weights(lclip_gemm_weights *w)
{
    for (int i = 0; w->packed && i < w->owner->slices; i++)
        if (w->packed[i])
            dnnl_memory_destroy(w->packed[i]);
    if (w->whole)
        dnnl_memory_destroy(w->whole); /* after the slices that view it */
    lclip_free(w->packed);
    lclip_free(w->packed_md);
    lclip_free(w->bounds);
    lclip_free(w);
}

void lclip_onednn_close(lclip_onednn *e)
{
    if (!e)
        return;
    while (e->layers) {
        lclip_gemm_weights *next = e->layers->next;
        free_weights(e->layers);
        e->layers = next;
    }
    lclip_onednn_convs_free(e->convs);
    if (e->engine)
        dnnl_engine_destroy(e->engine);
    lclip_free(e);
}

dnnl_status_t lclip_onednn_reorder(const lclip_onednn *e, dnnl_memory_t source, dnnl_memory_t target)
{
    const dnnl_memory_desc_t *from, *to;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t primitive = NULL;
    dnnl_stream_t stream = NULL;
    dnnl_status_t s = dnnl_memory_get_memory_desc(source, &from);
    if (s == dnnl_success)
        s = dnnl_memory_get_memory_desc(target, &to);
    if (s == dnnl_success)
        s = dnnl_reorder_primitive_desc_create(&pd, from, e->engine, to, e->engine, NULL);
    if (s == dnnl_success)
        s = dnnl_primitive_create(&primitive, pd);
    if (s == dnnl_success)
        s = dnnl_stream_create(&stream, e->engine, dnnl_stream_default_flags);
    if (s == dnnl_success) {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, source}, {DNNL_ARG_TO, target}};
        s = dnnl_primitive_execute(primitive, stream, 2, args);
    }
    if (s == dnnl_success)
        s = dnnl_stream_wait(stream);
    if (stream)
        dnnl_stream_destroy(stream);
    if (primitive)
        dnnl_primitive_destroy(primitive);
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    return s;
}

/* Reorders the checkpoint's rows [begin, begin + columns) ([columns][in])
 * into oneDNN's packed layout (and to BF16): *memory, laid out as *md. */
static dnnl_status_t pack_columns(lclip_onednn *e, const lclip_linear *lin, size_t begin, size_t columns,
                                  dnnl_memory_desc_t *md, dnnl_memory_t *memory)
{
    dnnl_primitive_desc_t pd = NULL;
    dnnl_memory_t source = NULL;
    dnnl_memory_desc_t source_md;
    dnnl_dims_t dims = {lin->in, (dnnl_dim_t)columns}, strides = {1, lin->in};
    const float *rows = lin->weight + begin * (size_t)lin->in;
    dnnl_status_t st = matmul_pd(e, PACKING_ROWS, lin->in, columns, columns, lin->bias != NULL, NULL, NULL, &pd);
    if (st == dnnl_success) {
        *md = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
        st = dnnl_memory_desc_init_by_strides(&source_md, 2, dims, dnnl_f32, strides);
    }
    if (st == dnnl_success)
        st = dnnl_memory_create(&source, &source_md, e->engine, (void *)rows);
    if (st == dnnl_success)
        st = dnnl_memory_create(memory, md, e->engine, DNNL_MEMORY_ALLOCATE);
    void *packed = NULL;
    if (st == dnnl_success)
        st = dnnl_memory_get_data_handle(*memory, &packed);
    if (st == dnnl_success) { /* both copies' pages mapped in at once, not fault by fault */
        lclip_pages_populate_write(packed, dnnl_memory_desc_get_size(md));
        lclip_pages_populate_read(rows, columns * (size_t)lin->in * sizeof(float));
    }
    if (st == dnnl_success)
        st = lclip_onednn_reorder(e, source, *memory);
    if (source)
        dnnl_memory_destroy(source);
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    return st;
}

static lclip_gemm_weights *new_weights(const lclip_onednn *e, const lclip_linear *lin)
{
    lclip_gemm_weights *w = lclip_calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->owner = e;
    w->bounds = lclip_malloc_array((size_t)e->slices + 1, sizeof *w->bounds);
    w->packed_md = lclip_calloc((size_t)e->slices, sizeof *w->packed_md);
    w->packed = lclip_calloc((size_t)e->slices, sizeof *w->packed);
    if (!w->bounds || !w->packed_md || !w->packed) {
        free_weights(w);
        return NULL;
    }
    for (int s = 0; s < e->slices; s++) {
        size_t begin, end;
        lclip_team_share((size_t)lin->out, SLICE_ALIGN, s, e->slices, &begin, &end);
        w->bounds[s] = begin;
        w->bounds[s + 1] = end;
    }
    return w;
}

/* Whether each slice, packed on its own, is byte for byte the whole
 * layer's packed bytes at the slice's offset: the layouts of oneDNN's fast
 * kernels keep each block of columns contiguous, so on most CPUs one
 * packed copy serves both a column split and a row split. Then each slice
 * becomes a view of the whole; otherwise the whole copy goes. */
static dnnl_status_t view_slices(lclip_gemm_weights *w)
{
    void *whole = NULL, *slice = NULL;
    size_t offset = 0, whole_size = dnnl_memory_desc_get_size(&w->whole_md);
    dnnl_status_t st = dnnl_memory_get_data_handle(w->whole, &whole);
    int views = 1, slices = w->owner->slices;
    for (int i = 0; i < slices && st == dnnl_success && views; i++) {
        if (!w->packed[i])
            continue; /* an empty slice */
        size_t size = dnnl_memory_desc_get_size(&w->packed_md[i]);
        st = dnnl_memory_get_data_handle(w->packed[i], &slice);
        views = st == dnnl_success && offset + size <= whole_size && memcmp((char *)whole + offset, slice, size) == 0;
        offset += size;
    }
    if (st == dnnl_success && !views) {
        dnnl_memory_destroy(w->whole);
        w->whole = NULL;
        return st;
    }
    offset = 0;
    for (int i = 0; i < slices && st == dnnl_success; i++) {
        if (!w->packed[i])
            continue;
        dnnl_memory_destroy(w->packed[i]);
        w->packed[i] = NULL;
        st = dnnl_memory_create(&w->packed[i], &w->packed_md[i], w->owner->engine, (char *)whole + offset);
        offset += dnnl_memory_desc_get_size(&w->packed_md[i]);
    }
    return st;
}

/* Packs every slice, and the whole layer where its slices can view it. */
static dnnl_status_t pack_layer(lclip_onednn *e, const lclip_linear *lin, lclip_gemm_weights *w)
{
    dnnl_status_t st = dnnl_success;
    for (int i = 0; i < e->slices && st == dnnl_success; i++)
        if (w->bounds[i + 1] > w->bounds[i])
            st = pack_columns(e, lin, w->bounds[i], w->bounds[i + 1] - w->bounds[i], &w->packed_md[i],
                              &w->packed[i]);
    if (st != dnnl_success || e->slices == 1)
        return st;
    st = pack_columns(e, lin, 0, (size_t)lin->out, &w->whole_md, &w->whole);
    return st == dnnl_success ? view_slices(w) : st;
}

static uint64_t packed_size(const lclip_gemm_weights *w)
{
    uint64_t bytes = 0;
    if (w->whole)
        return dnnl_memory_desc_get_size(&w->whole_md);
    for (int i = 0; i < w->owner->slices; i++)
        bytes += w->packed[i] ? dnnl_memory_desc_get_size(&w->packed_md[i]) : 0;
    return bytes;
}

lclip_status lclip_onednn_pack(lclip_onednn *e, const lclip_linear *lin, const lclip_gemm_weights **out)
{
    lclip_gemm_weights *w = new_weights(e, lin);
    if (!w)
        return lclip_fail(LCLIP_E_NOMEM, "out of memory packing weights");
    int saved = lclip_onednn_threads_begin(e, e->n_threads);
    dnnl_status_t st = pack_layer(e, lin, w);
    lclip_onednn_threads_end(e, saved);
    if (st != dnnl_success) {
        free_weights(w);
        return lclip_onednn_failed(st, "packing a weight matrix");
    }
    e->packed_bytes += packed_size(w);
    w->next = e->layers;
    e->layers = w;
    *out = w;
    return LCLIP_OK;
}

void lclip_onednn_describe(const lclip_onednn *e, char *buf, size_t size)
{
    snprintf(buf, size, "engine=onednn isa=%s precision=%s packed_bytes=%llu", isa_name(e->isa),
             e->bf16 ? "bf16" : "f32", (unsigned long long)e->packed_bytes);
}

int lclip_onednn_threads_begin(const lclip_onednn *e, int threads)
{
    int saved = omp_get_max_threads();
    if (e->n_threads > 0)
        omp_set_num_threads(threads);
    return saved;
}

void lclip_onednn_threads_end(const lclip_onednn *e, int saved)
{
    if (e->n_threads > 0)
        omp_set_num_threads(saved);
}

int lclip_onednn_product(const lclip_onednn *e, int b_transposed, int m, int n, int k, float alpha, const float *a,
                         size_t lda, const float *b, size_t ldb, float *c, size_t ldc)
{
    int saved = lclip_onednn_threads_begin(e, 1);
    dnnl_status_t r = dnnl_sgemm('N', b_transposed ? 'T' : 'N', m, n, k, alpha, a, (dnnl_dim_t)lda, b,
                                 (dnnl_dim_t)ldb, 0.0f, c, (dnnl_dim_t)ldc);
    lclip_onednn_threads_end(e, saved);
    return r == dnnl_success;
}

/* ---- steps --------------------------------------------------------------- */

static void plan_free(step_plan *p)
{
    if (!p)
        return;
    for (int i = 0; p->primitives && i < p->slices * CHUNK_KINDS; i++)
        if (p->primitives[i])
            dnnl_primitive_destroy(p->primitives[i]);
    for (int i = 0; p->args && i < p->lanes * CHUNK_KINDS * SLICE_ARGS; i++)
        if (p->args[i])
            dnnl_memory_destroy(p->args[i]);
    for (int i = 0; p->streams && i < p->lanes; i++)
        if (p->streams[i])
            dnnl_stream_destroy(p->streams[i]);
    lclip_free(p->primitives);
    lclip_free(p->args);
    lclip_free(p->streams);
    lclip_free(p);
}

lclip_status lclip_onednn_cache_new(lclip_gemm_cache **out)
{
    *out = lclip_calloc(1, sizeof **out);
    return *out ? LCLIP_OK : lclip_fail(LCLIP_E_NOMEM, "out of memory");
}

void lclip_onednn_cache_free(lclip_gemm_cache *cache)
{
    while (cache && cache->plans) {
        step_plan *next = cache->plans->next;
        plan_free(cache->plans);
        cache->plans = next;
    }
    lclip_free(cache);
}

/* Rows of the scratch: one chunk's, or all of a shorter step's. */
static size_t scratch_rows(const step_plan *p)
{
    return (size_t)(p->rows < p->chunk ? p->rows : p->chunk);
}

static int chunk_rows(const step_plan *p, int kind)
{
    return kind == CHUNK_FULL ? p->chunk : p->rows - (p->chunks - 1) * p->chunk;
}

/* Step slice i: its columns [*begin, *end), packed weights and their layout. */
static void step_slice(const lclip_gemm_step *step, const step_plan *p, int i, size_t *begin, size_t *end,
                       const dnnl_memory_desc_t **md, dnnl_memory_t *weights)
{
    const lclip_gemm_weights *w = step->lin->packed;
    if (p->by_rows && w->owner->slices > 1) {
        *begin = 0;
        *end = (size_t)step->lin->out;
        *md = &w->whole_md;
        *weights = w->whole;
        return;
    }
    *begin = w->bounds[i];
    *end = w->bounds[i + 1];
    *md = &w->packed_md[i];
    *weights = w->packed[i];
}

/* A lane's scratch: its slice's share of one chunk's rows, or by rows a
 * chunk for each member. */
static float *scratch_of(const lclip_gemm_step *step, const step_plan *p, float *results, int slice, int lane)
{
    size_t at = p->by_rows ? (size_t)lane * (size_t)step->lin->out : step->lin->packed->bounds[slice];
    return results + scratch_rows(p) * at;
}

dnnl_status_t lclip_onednn_scratchpad(const lclip_onednn *e, const_dnnl_primitive_desc_t pd, dnnl_memory_t *memory)
{
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    *memory = NULL;
    if (!md || dnnl_memory_desc_get_size(md) == 0)
        return dnnl_success;
    return dnnl_memory_create(memory, md, e->engine, DNNL_MEMORY_ALLOCATE);
}

dnnl_status_t lclip_onednn_attr(const lclip_gemm_fusion *fusion, dnnl_primitive_attr_t *attr)
{
    dnnl_post_ops_t ops = NULL;
    dnnl_status_t r = dnnl_primitive_attr_create(attr);
    if (r == dnnl_success)
        r = dnnl_primitive_attr_set_scratchpad_mode(*attr, dnnl_scratchpad_mode_user);
    if (r != dnnl_success || !fusion)
        return r;
    r = dnnl_post_ops_create(&ops);
    if (r == dnnl_success && fusion->accumulate)
        r = dnnl_post_ops_append_sum(ops, 1.0f);
    if (r == dnnl_success && fusion->act == LCLIP_GEMM_ACT_RELU)
        r = dnnl_post_ops_append_eltwise(ops, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f);
    if (r == dnnl_success && fusion->act == LCLIP_GEMM_ACT_QUICK_GELU) /* swish: x * sigmoid(alpha x) */
        r = dnnl_post_ops_append_eltwise(ops, 1.0f, dnnl_eltwise_swish, 1.702f, 0.0f);
    if (r == dnnl_success && fusion->act == LCLIP_GEMM_ACT_GELU)
        r = dnnl_post_ops_append_eltwise(ops, 1.0f, dnnl_eltwise_gelu_erf, 0.0f, 0.0f);
    if (r == dnnl_success)
        r = dnnl_primitive_attr_set_post_ops(*attr, ops);
    if (ops)
        dnnl_post_ops_destroy(ops);
    return r;
}

/* Slice i's matmul for one kind of chunk, and for each lane that runs it
 * the memory objects for its input (x, or x rounded to BF16), its output
 * (scratch, or the direct target), its part of the bias, all pointed at
 * their buffers by each run, and a scratchpad if the kernel needs one. */
static dnnl_status_t create_chunk_kind(const lclip_gemm_step *step, step_plan *p, int i, int kind,
                                       const_dnnl_primitive_attr_t attr)
{
    const lclip_onednn *e = step->lin->packed->owner;
    const lclip_linear *lin = step->lin;
    size_t begin, end;
    const dnnl_memory_desc_t *md;
    dnnl_memory_t weights;
    step_slice(step, p, i, &begin, &end, &md, &weights);
    dnnl_primitive_desc_t pd;
    dnnl_status_t r = matmul_pd(e, chunk_rows(p, kind), lin->in, end - begin, end - begin, lin->bias != NULL, md,
                                attr, &pd);
    if (r != dnnl_success)
        return r;
    r = dnnl_primitive_create(&p->primitives[i * CHUNK_KINDS + kind], pd);
    int first_lane = p->by_rows ? 0 : i, end_lane = p->by_rows ? p->lanes : i + 1;
    for (int lane = first_lane; lane < end_lane && r == dnnl_success; lane++) {
        dnnl_memory_t *args = p->args + ((size_t)lane * CHUNK_KINDS + (size_t)kind) * SLICE_ARGS;
        r = dnnl_memory_create(&args[0], dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0), e->engine,
                               DNNL_MEMORY_NONE);
        if (r == dnnl_success)
            r = dnnl_memory_create(&args[1], dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0), e->engine,
                                   DNNL_MEMORY_NONE);
        if (r == dnnl_success && lin->bias)
            r = dnnl_memory_create(&args[2], dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 1), e->engine,
                                   DNNL_MEMORY_NONE);
        if (r == dnnl_success)
            r = lclip_onednn_scratchpad(e, pd, &args[3]);
    }
    dnnl_primitive_desc_destroy(pd);
    return r;
}

/* Primitives made for a team's members run single-threaded: oneDNN sizes
 * them by the creating thread's OpenMP count. */
static lclip_status create_slices(const lclip_gemm_step *step, step_plan *p)
{
    const lclip_gemm_weights *w = step->lin->packed;
    const lclip_onednn *e = w->owner;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_status_t r = lclip_onednn_attr(p->direct ? step->fusion : NULL, &attr);
    int saved = lclip_onednn_threads_begin(e, 1);
    for (int i = 0; i < p->lanes && r == dnnl_success; i++)
        r = dnnl_stream_create(&p->streams[i], e->engine, dnnl_stream_default_flags);
    for (int i = 0; i < p->slices && r == dnnl_success; i++) {
        if (!p->by_rows && w->bounds[i + 1] == w->bounds[i])
            continue;
        if (p->chunks > 1)
            r = create_chunk_kind(step, p, i, CHUNK_FULL, attr);
        if (r == dnnl_success)
            r = create_chunk_kind(step, p, i, CHUNK_LAST, attr);
    }
    lclip_onednn_threads_end(e, saved);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    return r == dnnl_success ? LCLIP_OK : lclip_onednn_failed(r, "setting up a matmul");
}

/* A step shares rows rather than columns where the whole layer is packed,
 * its epilogue fuses, and each member gets at least this many rows: then
 * each member's product writes its rows of the output in place, with no
 * copy from scratch and no epilogue pass. With fewer, each member would
 * read all the weights for a few rows. ViT-B/32, 2 threads, two builds
 * called alternately in one process (time by rows / by columns): 25 rows
 * per member 1.15-1.19, 50 1.07; 77 0.96 (77-token texts, batch 2), 100
 * 0.98 (images, batch 4), 375 0.95-0.96 in F32 and 0.92-0.95 in BF16
 * (images, batch 32). */
#define MIN_ROWS_PER_MEMBER 64

/* By rows with a team: equal chunks, a whole number per member, none
 * longer than CHUNK_ROWS. */
static void plan_rows(const lclip_gemm_step *step, step_plan *p)
{
    const lclip_gemm_weights *w = step->lin->packed;
    int members = step->parts, slices = w->owner->slices;
    p->by_rows = slices == 1 ||
                 (w->whole && step->fusion && (members == 1 || step->rows >= members * MIN_ROWS_PER_MEMBER));
    p->slices = p->by_rows ? 1 : slices;
    p->lanes = p->by_rows ? members : slices;
    p->direct = p->by_rows && step->fusion != NULL;
    p->chunk = CHUNK_ROWS;
    if (p->by_rows && members > 1 && step->rows > members) {
        int share = (step->rows + members - 1) / members;
        int pieces = (share + CHUNK_ROWS - 1) / CHUNK_ROWS;
        p->chunk = (share + pieces - 1) / pieces;
    }
    p->chunks = (step->rows + p->chunk - 1) / p->chunk;
}

static lclip_status plan_new(const lclip_gemm_step *step, step_plan **out)
{
    step_plan *p = lclip_calloc(1, sizeof *p);
    if (!p)
        return lclip_fail(LCLIP_E_NOMEM, "out of memory");
    const lclip_gemm_fusion *f = step->fusion;
    p->layout = step->lin->packed;
    p->in = step->lin->in;
    p->out = step->lin->out;
    p->rows = step->rows;
    p->parts = step->parts;
    p->has_bias = step->lin->bias != NULL;
    p->fused = f != NULL;
    p->accumulates = f && f->accumulate;
    p->act = f ? f->act : LCLIP_GEMM_ACT_NONE;
    plan_rows(step, p);
    p->primitives = lclip_calloc((size_t)p->slices * CHUNK_KINDS, sizeof *p->primitives);
    p->args = lclip_calloc((size_t)p->lanes * CHUNK_KINDS * SLICE_ARGS, sizeof *p->args);
    p->streams = lclip_calloc((size_t)p->lanes, sizeof *p->streams);
    lclip_status s = p->primitives && p->args && p->streams ? create_slices(step, p)
                                                            : lclip_fail(LCLIP_E_NOMEM, "out of memory");
    if (s != LCLIP_OK) {
        plan_free(p);
        return s;
    }
    *out = p;
    return LCLIP_OK;
}

static int same_md(const dnnl_memory_desc_t *a, const dnnl_memory_desc_t *b)
{
    return dnnl_memory_desc_equal(a, b) != 0;
}

/* Whether step may run on p: the same rows, team and epilogue, and a
 * layer of the same shape, packed alike. */
static int plan_fits(const step_plan *p, const lclip_gemm_step *step)
{
    const lclip_gemm_weights *a = p->layout, *b = step->lin->packed;
    const lclip_gemm_fusion *f = step->fusion;
    if (p->in != step->lin->in || p->out != step->lin->out || p->rows != step->rows || p->parts != step->parts ||
        p->has_bias != (step->lin->bias != NULL) || p->fused != (f != NULL))
        return 0;
    if (f && (p->accumulates != (f->accumulate != NULL) || p->act != f->act))
        return 0;
    if (a->owner != b->owner || (a->whole == NULL) != (b->whole == NULL) ||
        (a->whole && !same_md(&a->whole_md, &b->whole_md)))
        return 0;
    for (int i = 0; i < a->owner->slices; i++)
        if ((a->packed[i] == NULL) != (b->packed[i] == NULL) ||
            (a->packed[i] && !same_md(&a->packed_md[i], &b->packed_md[i])))
            return 0;
    return 1;
}

static lclip_status find_plan(const lclip_gemm_step *step, lclip_gemm_cache *cache, step_state *st)
{
    for (const step_plan *p = cache ? cache->plans : NULL; p; p = p->next)
        if (plan_fits(p, step)) {
            st->plan = p;
            return LCLIP_OK;
        }
    step_plan *made = NULL;
    lclip_status s = plan_new(step, &made);
    if (s != LCLIP_OK)
        return s;
    if (cache) {
        made->next = cache->plans;
        cache->plans = made;
    } else {
        st->own_plan = made;
    }
    st->plan = made;
    return LCLIP_OK;
}

lclip_status lclip_onednn_step_begin(lclip_gemm_step *step, lclip_gemm_cache *cache, const lclip_gemm_step *input_of)
{
    const lclip_onednn *e = step->lin->packed->owner;
    step_state *st = lclip_calloc(1, sizeof *st);
    if (!st)
        return lclip_fail(LCLIP_E_NOMEM, "out of memory");
    step->engine_state = st;
    lclip_status s = find_plan(step, cache, st);
    if (s != LCLIP_OK)
        return s;
    const step_plan *p = st->plan;
    size_t scratch_lanes = p->by_rows ? (size_t)p->lanes : 1;
    if (!p->direct)
        st->results = lclip_malloc_scratch(scratch_rows(p) * (size_t)step->lin->out * scratch_lanes,
                                           sizeof *st->results);
    const step_state *shared = input_of ? input_of->engine_state : NULL;
    if (e->bf16 && !shared)
        st->x_bf16 = lclip_malloc_scratch((size_t)step->rows * (size_t)step->lin->in, sizeof *st->x_bf16);
    if ((!p->direct && !st->results) || (e->bf16 && !shared && !st->x_bf16))
        return lclip_fail(LCLIP_E_NOMEM, "out of memory for a %d-row product", step->rows);
    st->input_bf16 = shared ? shared->input_bf16 : st->x_bf16;
    return LCLIP_OK;
}

void lclip_onednn_step_end(lclip_gemm_step *step)
{
    step_state *st = step->engine_state;
    if (st) {
        plan_free(st->own_plan);
        lclip_free(st->x_bf16);
        lclip_free(st->results);
        lclip_free(st);
    }
    step->engine_state = NULL;
}

int lclip_onednn_step_converts(const lclip_gemm_step *step)
{
    const step_state *st = step->engine_state;
    return st->x_bf16 != NULL;
}

/* Round to nearest, ties to even, as oneDNN's own conversion does (the
 * inputs are finite: a NaN would round to a NaN or infinity alike). */
static uint16_t to_bf16(float f)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    bits += 0x7fffu + ((bits >> 16) & 1u);
    return (uint16_t)(bits >> 16);
}

LCLIP_MULTIVERSION static void convert_part(const lclip_gemm_step *step, int part)
{
    const step_state *st = step->engine_state;
    size_t in = (size_t)step->lin->in, begin, end;
    lclip_team_share((size_t)step->rows, 1, part, step->parts, &begin, &end);
    for (size_t i = begin * in; i < end * in; i++)
        st->x_bf16[i] = to_bf16(step->x[i]);
}

void lclip_onednn_step_convert_part(const lclip_gemm_step *step, int part)
{
    const step_state *st = step->engine_state;
    if (!st->x_bf16)
        return; /* it reads another step's */
    convert_part(step, part); /* multiversioned functions stay static (clang 14) */
}

/* A sliced layer's member runs every chunk of its slices; a whole layer's
 * members share its chunks. */
void lclip_onednn_step_blocks(const lclip_gemm_step *step, int part, int *first, int *last)
{
    const step_plan *p = ((const step_state *)step->engine_state)->plan;
    size_t begin, end;
    if (p->by_rows) {
        lclip_team_share((size_t)p->chunks, 1, part, step->parts, &begin, &end);
        *first = (int)begin;
        *last = (int)end;
        return;
    }
    lclip_team_share((size_t)p->slices, 1, part, step->parts, &begin, &end);
    *first = (int)begin * p->chunks;
    *last = (int)end * p->chunks;
}

void lclip_onednn_step_run(const lclip_gemm_step *step, int part, int block, lclip_gemm_block *out)
{
    const lclip_onednn *e = step->lin->packed->owner;
    const step_state *st = step->engine_state;
    const step_plan *p = st->plan;
    int slice = block / p->chunks, chunk = block % p->chunks, lane = p->by_rows ? part : slice;
    int kind = chunk == p->chunks - 1 ? CHUNK_LAST : CHUNK_FULL;
    const dnnl_memory_desc_t *md;
    dnnl_memory_t weights;
    step_slice(step, p, slice, &out->begin, &out->end, &md, &weights);
    out->row_begin = chunk * p->chunk;
    out->row_end = out->row_begin + chunk_rows(p, kind);
    out->ld = out->end - out->begin;
    out->fused = p->direct;
    out->data = p->direct ? lclip_onednn_fused_output(step->fusion, step->y) + (size_t)out->row_begin * out->ld
                          : scratch_of(step, p, st->results, slice, lane);
    if (out->begin == out->end)
        return;
    /* On a team, this thread's own OpenMP count is 1 while it runs the
     * primitive (made for one thread); the calling thread's is restored.
     * The lane's memory objects are this step's for the run. */
    int saved = lclip_onednn_threads_begin(e, 1);
    dnnl_memory_t *args = p->args + ((size_t)lane * CHUNK_KINDS + (size_t)kind) * SLICE_ARGS;
    size_t offset = (size_t)out->row_begin * (size_t)step->lin->in;
    dnnl_memory_set_data_handle(args[0], e->bf16 ? (void *)(st->input_bf16 + offset) : (void *)(step->x + offset));
    dnnl_memory_set_data_handle(args[1], out->data);
    dnnl_exec_arg_t exec[5] = {{DNNL_ARG_SRC, args[0]}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, args[1]}};
    int n = 3;
    if (args[2]) {
        dnnl_memory_set_data_handle(args[2], (void *)(step->lin->bias + out->begin));
        exec[n++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, args[2]};
    }
    if (args[3])
        exec[n++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, args[3]};
    dnnl_primitive_execute(p->primitives[slice * CHUNK_KINDS + kind], p->streams[lane], n, exec);
    dnnl_stream_wait(p->streams[lane]);
    lclip_onednn_threads_end(e, saved);
}
