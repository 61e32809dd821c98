/* The oneDNN engine: every call to oneDNN is in this file (oneDNN 2.6's C
 * API; 3.x support is a change here alone).
 *
 * Each linear layer's weights are packed once, at open, into the layout
 * oneDNN's matmul picks for this CPU (format "any"), in F32 or BF16, as
 * column blocks ("slices"): one per member of an n_threads team, so that
 * each member runs its own block single-threaded; one block, run on
 * oneDNN's own OpenMP threads, for n_threads = 0. The packed layout does
 * not depend on the row count, so one copy serves every batch; a matmul
 * primitive does (a runtime row count falls back to slower kernels), so a
 * step creates its primitives for its row chunks (CHUNK_ROWS, and the last
 * chunk's). oneDNN caches them (a repeated shape costs microseconds), which
 * is the only cache.
 *
 * BF16: the weights are stored as bfloat16; a step first rounds its input
 * to bfloat16 (a team step of its own, by rows), and the product
 * accumulates in float32. */
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/multiversion.h"
#include "common/pages.h"
#include "common/team.h"
#include "gemm/gemm_engines.h"

/* Column blocks start at multiples of 64 floats: whole packed blocks of
 * oneDNN's AVX-512 kernels, and no cache line shared between members. */
#define SLICE_ALIGN 64
/* The row count the packed layout is asked for: any count gives the same. */
#define PACKING_ROWS 64

struct lclip_onednn {
    dnnl_engine_t engine;
    int bf16, slices;
    dnnl_cpu_isa_t isa;
    uint64_t packed_bytes;
    lclip_gemm_weights *layers; /* every packed layer, to free */
};

struct lclip_gemm_weights {
    lclip_gemm_weights *next;
    const lclip_onednn *owner;
    size_t *bounds;               /* [slices + 1]: slice s is columns [bounds[s], bounds[s + 1]) */
    dnnl_memory_desc_t *packed_md; /* [slices] */
    dnnl_memory_t *packed;        /* [slices]; NULL for an empty slice */
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

/* The objects of one step, all made by the calling thread before the team
 * runs it, so that the members' parts cannot fail. A slice's objects are
 * used by the one member that runs it. */
typedef struct step_state {
    int chunks;                   /* row chunks: chunks - 1 full ones, then the last */
    dnnl_primitive_t *primitives; /* [slices][CHUNK_KINDS]; CHUNK_FULL only with chunks > 1 */
    dnnl_memory_t *args;          /* [slices][CHUNK_KINDS][SLICE_ARGS]: src, dst, bias (or NULL) */
    dnnl_stream_t *streams;       /* [slices] */
    uint16_t *x_bf16;             /* [rows][in], BF16 only: the input rounded */
    float *results;               /* slice s's [scratch_rows()][width] at scratch_rows() * bounds[s]: oneDNN's
                                   * fast kernels write dense rows, not y's strided columns */
} step_state;

enum { SLICE_ARGS = 3 };

static lclip_status dnnl_failed(dnnl_status_t s, const char *what)
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
 * weights as packed_md, or "any" when packed_md is NULL. */
static dnnl_status_t matmul_pd(const lclip_onednn *e, int rows, int in, size_t columns, size_t ld, int bias,
                               const dnnl_memory_desc_t *packed_md, dnnl_primitive_desc_t *pd)
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
        s = dnnl_primitive_desc_create(pd, &desc, NULL, e->engine, NULL);
    return s;
}

/* oneDNN may have only its reference kernels for a CPU or a data type:
 * those are far slower than the CBLAS, so the engine refuses them. */
static lclip_status check_jit(const lclip_onednn *e)
{
    dnnl_primitive_desc_t pd;
    dnnl_status_t s = matmul_pd(e, PACKING_ROWS, 256, 256, 256, 1, NULL, &pd);
    if (s != dnnl_success)
        return dnnl_failed(s, "a matmul descriptor");
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

lclip_status lclip_onednn_open(int bf16, int slices, lclip_onednn **out)
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
    e->slices = slices;
    e->isa = isa;
    dnnl_status_t s = dnnl_engine_create(&e->engine, dnnl_cpu, 0);
    lclip_status status = s == dnnl_success ? check_jit(e) : dnnl_failed(s, "creating a CPU engine");
    if (status != LCLIP_OK) {
        lclip_onednn_close(e);
        return status;
    }
    *out = e;
    return LCLIP_OK;
}

static void free_weights(lclip_gemm_weights *w, int slices)
{
    for (int i = 0; w->packed && i < slices; i++)
        if (w->packed[i])
            dnnl_memory_destroy(w->packed[i]);
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
        free_weights(e->layers, e->slices);
        e->layers = next;
    }
    if (e->engine)
        dnnl_engine_destroy(e->engine);
    lclip_free(e);
}

/* Reorders the checkpoint's [columns][in] rows of slice s into oneDNN's
 * packed layout (and to BF16). */
static lclip_status pack_slice(lclip_onednn *e, const lclip_linear *lin, lclip_gemm_weights *w, int s,
                               dnnl_stream_t stream)
{
    size_t begin = w->bounds[s], columns = w->bounds[s + 1] - begin;
    dnnl_primitive_desc_t pd = NULL, reorder_pd = NULL;
    dnnl_primitive_t reorder = NULL;
    dnnl_memory_t source = NULL;
    dnnl_memory_desc_t source_md;
    dnnl_dims_t dims = {lin->in, (dnnl_dim_t)columns}, strides = {1, lin->in};
    dnnl_status_t st = matmul_pd(e, PACKING_ROWS, lin->in, columns, columns, lin->bias != NULL, NULL, &pd);
    if (st == dnnl_success) {
        w->packed_md[s] = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
        st = dnnl_memory_desc_init_by_strides(&source_md, 2, dims, dnnl_f32, strides);
    }
    if (st == dnnl_success)
        st = dnnl_memory_create(&source, &source_md, e->engine, (void *)(lin->weight + begin * (size_t)lin->in));
    if (st == dnnl_success)
        st = dnnl_memory_create(&w->packed[s], &w->packed_md[s], e->engine, DNNL_MEMORY_ALLOCATE);
    void *packed = NULL;
    if (st == dnnl_success)
        st = dnnl_memory_get_data_handle(w->packed[s], &packed);
    if (st == dnnl_success) { /* both copies' pages mapped in at once, not fault by fault */
        lclip_pages_populate_write(packed, dnnl_memory_desc_get_size(&w->packed_md[s]));
        lclip_pages_populate_read(lin->weight + begin * (size_t)lin->in, columns * (size_t)lin->in * sizeof(float));
    }
    if (st == dnnl_success)
        st = dnnl_reorder_primitive_desc_create(&reorder_pd, &source_md, e->engine, &w->packed_md[s], e->engine, NULL);
    if (st == dnnl_success)
        st = dnnl_primitive_create(&reorder, reorder_pd);
    if (st == dnnl_success) {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, source}, {DNNL_ARG_TO, w->packed[s]}};
        st = dnnl_primitive_execute(reorder, stream, 2, args);
    }
    if (st == dnnl_success)
        st = dnnl_stream_wait(stream);
    if (st == dnnl_success)
        e->packed_bytes += dnnl_memory_desc_get_size(&w->packed_md[s]);
    if (reorder)
        dnnl_primitive_destroy(reorder);
    if (reorder_pd)
        dnnl_primitive_desc_destroy(reorder_pd);
    if (source)
        dnnl_memory_destroy(source);
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    return st == dnnl_success ? LCLIP_OK : dnnl_failed(st, "packing a weight matrix");
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
        free_weights(w, e->slices);
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

lclip_status lclip_onednn_pack(lclip_onednn *e, const lclip_linear *lin, const lclip_gemm_weights **out)
{
    lclip_gemm_weights *w = new_weights(e, lin);
    if (!w)
        return lclip_fail(LCLIP_E_NOMEM, "out of memory packing weights");
    dnnl_stream_t stream;
    dnnl_status_t st = dnnl_stream_create(&stream, e->engine, dnnl_stream_default_flags);
    lclip_status s = st == dnnl_success ? LCLIP_OK : dnnl_failed(st, "creating a stream");
    for (int i = 0; i < e->slices && s == LCLIP_OK; i++)
        if (w->bounds[i + 1] > w->bounds[i])
            s = pack_slice(e, lin, w, i, stream);
    if (st == dnnl_success)
        dnnl_stream_destroy(stream);
    if (s != LCLIP_OK) {
        free_weights(w, e->slices);
        return s;
    }
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

/* ---- steps --------------------------------------------------------------- */

static void step_state_free(step_state *st, int slices)
{
    if (!st)
        return;
    for (int i = 0; st->primitives && i < slices * CHUNK_KINDS; i++)
        if (st->primitives[i])
            dnnl_primitive_destroy(st->primitives[i]);
    for (int i = 0; st->args && i < slices * CHUNK_KINDS * SLICE_ARGS; i++)
        if (st->args[i])
            dnnl_memory_destroy(st->args[i]);
    for (int i = 0; st->streams && i < slices; i++)
        if (st->streams[i])
            dnnl_stream_destroy(st->streams[i]);
    lclip_free(st->primitives);
    lclip_free(st->args);
    lclip_free(st->streams);
    lclip_free(st->x_bf16);
    lclip_free(st->results);
    lclip_free(st);
}

/* Rows of the scratch: one chunk's, or all of a shorter step's. */
static size_t scratch_rows(const lclip_gemm_step *step)
{
    return (size_t)(step->rows < CHUNK_ROWS ? step->rows : CHUNK_ROWS);
}

static int chunk_rows(const lclip_gemm_step *step, const step_state *st, int kind)
{
    return kind == CHUNK_FULL ? CHUNK_ROWS : step->rows - (st->chunks - 1) * CHUNK_ROWS;
}

/* Slice i's matmul for one kind of chunk, and the memory objects wrapping
 * its buffers: its input (x, or x rounded to BF16; the first chunk's rows
 * until a run points it at its own), its part of the scratch, its part of
 * the bias. */
static dnnl_status_t create_chunk_kind(const lclip_gemm_step *step, step_state *st, int i, int kind)
{
    const lclip_gemm_weights *w = step->lin->packed;
    const lclip_onednn *e = w->owner;
    const lclip_linear *lin = step->lin;
    size_t begin = w->bounds[i], columns = w->bounds[i + 1] - begin;
    dnnl_primitive_desc_t pd;
    dnnl_status_t r = matmul_pd(e, chunk_rows(step, st, kind), lin->in, columns, columns, lin->bias != NULL,
                                &w->packed_md[i], &pd);
    if (r != dnnl_success)
        return r;
    r = dnnl_primitive_create(&st->primitives[i * CHUNK_KINDS + kind], pd);
    dnnl_memory_t *args = st->args + ((size_t)i * CHUNK_KINDS + (size_t)kind) * SLICE_ARGS;
    void *input = e->bf16 ? (void *)st->x_bf16 : (void *)step->x;
    if (r == dnnl_success)
        r = dnnl_memory_create(&args[0], dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0), e->engine, input);
    if (r == dnnl_success)
        r = dnnl_memory_create(&args[1], dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0), e->engine,
                               st->results + scratch_rows(step) * begin);
    if (r == dnnl_success && lin->bias)
        r = dnnl_memory_create(&args[2], dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 1), e->engine,
                               (void *)(lin->bias + begin));
    dnnl_primitive_desc_destroy(pd);
    return r;
}

/* Primitives made for a team's members run single-threaded: oneDNN sizes
 * them by the creating thread's OpenMP count. */
static lclip_status create_slices(const lclip_gemm_step *step, step_state *st)
{
    const lclip_gemm_weights *w = step->lin->packed;
    const lclip_onednn *e = w->owner;
    int saved = omp_get_max_threads();
    if (e->slices > 1)
        omp_set_num_threads(1);
    dnnl_status_t r = dnnl_success;
    for (int i = 0; i < e->slices && r == dnnl_success; i++) {
        if (w->bounds[i + 1] == w->bounds[i])
            continue;
        r = dnnl_stream_create(&st->streams[i], e->engine, dnnl_stream_default_flags);
        if (r == dnnl_success && st->chunks > 1)
            r = create_chunk_kind(step, st, i, CHUNK_FULL);
        if (r == dnnl_success)
            r = create_chunk_kind(step, st, i, CHUNK_LAST);
    }
    if (e->slices > 1)
        omp_set_num_threads(saved);
    return r == dnnl_success ? LCLIP_OK : dnnl_failed(r, "setting up a matmul");
}

lclip_status lclip_onednn_step_begin(lclip_gemm_step *step)
{
    const lclip_onednn *e = step->lin->packed->owner;
    step_state *st = lclip_calloc(1, sizeof *st);
    if (!st)
        return lclip_fail(LCLIP_E_NOMEM, "out of memory");
    step->engine_state = st;
    st->chunks = (step->rows + CHUNK_ROWS - 1) / CHUNK_ROWS;
    st->primitives = lclip_calloc((size_t)e->slices * CHUNK_KINDS, sizeof *st->primitives);
    st->args = lclip_calloc((size_t)e->slices * CHUNK_KINDS * SLICE_ARGS, sizeof *st->args);
    st->streams = lclip_calloc((size_t)e->slices, sizeof *st->streams);
    st->results = lclip_malloc_scratch(scratch_rows(step) * (size_t)step->lin->out, sizeof *st->results);
    if (e->bf16)
        st->x_bf16 = lclip_malloc_scratch((size_t)step->rows * (size_t)step->lin->in, sizeof *st->x_bf16);
    if (!st->primitives || !st->args || !st->streams || !st->results || (e->bf16 && !st->x_bf16))
        return lclip_fail(LCLIP_E_NOMEM, "out of memory for a %d-row product", step->rows);
    return create_slices(step, st);
}

void lclip_onednn_step_end(lclip_gemm_step *step)
{
    const lclip_onednn *e = step->lin->packed->owner;
    step_state_free(step->engine_state, e->slices);
    step->engine_state = NULL;
}

int lclip_onednn_step_converts(const lclip_gemm_step *step)
{
    return step->lin->packed->owner->bf16;
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
    convert_part(step, part); /* multiversioned functions stay static (clang 14) */
}

void lclip_onednn_step_blocks(const lclip_gemm_step *step, int part, int *first, int *last)
{
    const step_state *st = step->engine_state;
    size_t begin, end;
    lclip_team_share((size_t)step->lin->packed->owner->slices, 1, part, step->parts, &begin, &end);
    *first = (int)begin * st->chunks;
    *last = (int)end * st->chunks;
}

void lclip_onednn_step_run(const lclip_gemm_step *step, int block, lclip_gemm_block *out)
{
    const lclip_gemm_weights *w = step->lin->packed;
    const lclip_onednn *e = w->owner;
    const step_state *st = step->engine_state;
    int slice = block / st->chunks, chunk = block % st->chunks;
    int kind = chunk == st->chunks - 1 ? CHUNK_LAST : CHUNK_FULL;
    out->begin = w->bounds[slice];
    out->end = w->bounds[slice + 1];
    out->row_begin = chunk * CHUNK_ROWS;
    out->row_end = out->row_begin + chunk_rows(step, st, kind);
    out->data = st->results + scratch_rows(step) * out->begin;
    out->ld = out->end - out->begin;
    if (out->begin == out->end)
        return;
    /* On a team, this thread's own OpenMP count is 1 while it runs the
     * primitive (made for one thread); the calling thread's is restored. */
    int saved = omp_get_max_threads();
    if (e->slices > 1)
        omp_set_num_threads(1);
    dnnl_memory_t *args = st->args + ((size_t)slice * CHUNK_KINDS + (size_t)kind) * SLICE_ARGS;
    size_t offset = (size_t)out->row_begin * (size_t)step->lin->in;
    dnnl_memory_set_data_handle(args[0], e->bf16 ? (void *)(st->x_bf16 + offset) : (void *)(step->x + offset));
    dnnl_exec_arg_t exec[4] = {{DNNL_ARG_SRC, args[0]}, {DNNL_ARG_WEIGHTS, w->packed[slice]},
                               {DNNL_ARG_DST, args[1]}, {DNNL_ARG_BIAS, args[2]}};
    dnnl_primitive_execute(st->primitives[slice * CHUNK_KINDS + kind], st->streams[slice], args[2] ? 4 : 3, exec);
    dnnl_stream_wait(st->streams[slice]);
    if (e->slices > 1)
        omp_set_num_threads(saved);
}
