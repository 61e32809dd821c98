/* lclip-bench: times libclip on one model and prints JSON lines.
 *
 *   lclip-bench --model DIR [--mode all|image|text] [--threads 1,2] [--image-batches 1,8,32]
 *               [--text-batches 1,32] [--min-reps 5] [--max-reps 30] [--min-time 2]
 *               [--no-sgemm] [--no-open] [--blas-threading] [--emit-inputs DIR [--emit-only]]
 *               [--engine auto|cblas|onednn] [--precision f32|bf16]
 *   lclip-bench --fma-peak [--threads 1,2]
 *
 * For every row (image batch 1/8/32, caption batch 1/32, 77-token text batch
 * 1/32) and thread count it reports ms per item, items/s, the model's GFLOP
 * per item and achieved GF/s, and, measured in the same run, the time that
 * cblas_sgemm alone takes for exactly the GEMMs of that encode (the model's
 * own weights, the same shapes); sgemm_fraction = sgemm time / libclip time is
 * the share of the GEMM-only ceiling that libclip reaches. libclip and sgemm
 * reps alternate, so machine noise hits both alike; times are medians.
 * libclip runs with n_threads = the row's thread count (its own team, BLAS on
 * one thread); the reference is cblas_sgemm on that many BLAS threads. With
 * --blas-threading, an extra rep in each round runs libclip with n_threads = 0
 * and the BLAS on the row's threads (impl "libclip-blas-threads").
 * DIR is an HF directory or an open_clip one (open_clip_config.json; a
 * ResNet image tower's FLOPs are counted from its convolutions, and it has
 * no sgemm reference).
 * Also: open times with a cold and a warm page cache, and the peak RSS of the
 * process. --engine and --precision go into lclip_options.engine and
 * precision; every row and open record carries the encoder's
 * lclip_*_encoder_describe(), what actually ran. --fma-peak times only
 * a loop of independent FMAs (AVX-512 and AVX2, and AVX512-BF16 dot products
 * where the CPU has them) on each thread count: the machine's arithmetic
 * peak, the denominator of a percent-of-peak figure.
 * docs/performance.md describes every record. */
#define _GNU_SOURCE
#include <cblas.h>
#include <errno.h>
#include <fcntl.h>
#include <libclip.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "blas_backend.h"
#include "captions.h"
#include "gemm_model.h"

#define MAX_LIST 16

typedef struct options {
    const char *model;
    const char *mode; /* all, image, text */
    int threads[MAX_LIST], n_threads;
    int image_batches[MAX_LIST], n_image_batches;
    int text_batches[MAX_LIST], n_text_batches;
    int min_reps, max_reps;
    double min_time;
    int sgemm, open_timing, emit_only, blas_threading, fma_peak;
    const char *emit_inputs;
    int engine, precision; /* LCLIP_ENGINE_*, LCLIP_PRECISION_* */
} options;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* OpenBLAS's idle workers poll for about 0.1 s after a threaded call and
 * would take the cores of libclip's next rep: let them go to sleep first. */
static void settle_blas_workers(void)
{
    struct timespec pause = {0, 200 * 1000 * 1000};
    nanosleep(&pause, NULL);
}

static void die(const char *what, const char *detail)
{
    fprintf(stderr, "lclip-bench: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

static void json_str(const char *s)
{
    putchar('"');
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int parse_list(const char *s, int *out)
{
    int n = 0;
    while (*s && n < MAX_LIST) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v <= 0 || v > 4096)
            die("bad number list", s);
        out[n++] = (int)v;
        s = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            die("bad number list", end);
    }
    return n;
}

static void usage(void)
{
    fputs("usage: lclip-bench --model DIR [--mode all|image|text] [--threads 1,2] [--image-batches 1,8,32]\n"
          "                   [--text-batches 1,32] [--min-reps N] [--max-reps N] [--min-time SECONDS]\n"
          "                   [--no-sgemm] [--no-open] [--blas-threading] [--emit-inputs DIR [--emit-only]]\n"
          "                   [--engine auto|cblas|onednn] [--precision f32|bf16]\n"
          "       lclip-bench --fma-peak [--threads 1,2]\n",
          stderr);
    exit(2);
}

/* Indexed by LCLIP_ENGINE_* and LCLIP_PRECISION_*. */
static const char *const engine_names[] = {"auto", "cblas", "onednn", NULL};
static const char *const precision_names[] = {"f32", "bf16", NULL};

static int parse_choice(const char *v, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (!strcmp(v, names[i]))
            return i;
    die("unknown value", v);
    return -1;
}

static options parse_args(int argc, char **argv)
{
    options o = {.mode = "all", .min_reps = 5, .max_reps = 30, .min_time = 2.0, .sgemm = 1, .open_timing = 1};
    o.n_threads = parse_list("1,2", o.threads);
    o.n_image_batches = parse_list("1,8,32", o.image_batches);
    o.n_text_batches = parse_list("1,32", o.text_batches);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--no-sgemm"))
            o.sgemm = 0;
        else if (!strcmp(a, "--no-open"))
            o.open_timing = 0;
        else if (!strcmp(a, "--emit-only"))
            o.emit_only = 1;
        else if (!strcmp(a, "--blas-threading"))
            o.blas_threading = 1;
        else if (!strcmp(a, "--fma-peak"))
            o.fma_peak = 1;
        else if (!v)
            usage();
        else if (!strcmp(a, "--model"))
            o.model = v, i++;
        else if (!strcmp(a, "--mode"))
            o.mode = v, i++;
        else if (!strcmp(a, "--threads"))
            o.n_threads = parse_list(v, o.threads), i++;
        else if (!strcmp(a, "--image-batches"))
            o.n_image_batches = parse_list(v, o.image_batches), i++;
        else if (!strcmp(a, "--text-batches"))
            o.n_text_batches = parse_list(v, o.text_batches), i++;
        else if (!strcmp(a, "--min-reps"))
            o.min_reps = atoi(v), i++;
        else if (!strcmp(a, "--max-reps"))
            o.max_reps = atoi(v), i++;
        else if (!strcmp(a, "--min-time"))
            o.min_time = atof(v), i++;
        else if (!strcmp(a, "--emit-inputs"))
            o.emit_inputs = v, i++;
        else if (!strcmp(a, "--engine"))
            o.engine = parse_choice(v, engine_names), i++;
        else if (!strcmp(a, "--precision"))
            o.precision = parse_choice(v, precision_names), i++;
        else
            usage();
    }
    if (o.fma_peak && o.model)
        usage();
    if (o.fma_peak)
        return o;
    if (o.emit_only && !o.emit_inputs)
        usage();
    if (o.emit_only)
        o.open_timing = o.sgemm = 0;
    if (!o.model || (strcmp(o.mode, "all") && strcmp(o.mode, "image") && strcmp(o.mode, "text")))
        usage();
    if (o.min_reps < 1)
        o.min_reps = 1;
    if (o.max_reps < o.min_reps)
        o.max_reps = o.min_reps;
    return o;
}

/* ---- page cache --------------------------------------------------------- */

/* Fraction of the file's pages in the page cache (mincore). */
static double resident_fraction(const char *path)
{
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size == 0) {
        if (fd >= 0)
            close(fd);
        return NAN;
    }
    size_t size = (size_t)st.st_size, page = (size_t)sysconf(_SC_PAGESIZE), pages = (size + page - 1) / page;
    void *map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    unsigned char *vec = malloc(pages);
    double fraction = NAN;
    if (map != MAP_FAILED && vec && mincore(map, size, vec) == 0) {
        size_t resident = 0;
        for (size_t i = 0; i < pages; i++)
            resident += vec[i] & 1;
        fraction = (double)resident / (double)pages;
    }
    free(vec);
    if (map != MAP_FAILED)
        munmap(map, size);
    return fraction;
}

/* Empties the page cache of the model: drop_caches when permitted (root,
 * writable /proc/sys), else posix_fadvise(DONTNEED) on the model's files
 * (drops their clean pages unless another process has them mapped). */
static const char *evict_model(const char *dir)
{
    sync();
    int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
    if (fd >= 0) {
        ssize_t w = write(fd, "3\n", 2);
        close(fd);
        if (w == 2)
            return "drop_caches";
    }
    static const char *const files[] = {"model.safetensors", "vocab.json", "merges.txt", "config.json",
                                        "preprocessor_config.json", "open_clip_model.safetensors",
                                        "open_clip_config.json", "bpe_simple_vocab_16e6.txt.gz"};
    int ok = 0;
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        int f = open(path, O_RDONLY);
        if (f >= 0) {
            ok |= posix_fadvise(f, 0, 0, POSIX_FADV_DONTNEED) == 0;
            close(f);
        }
    }
    return ok ? "fadvise_dontneed" : "none";
}

/* ---- inputs ------------------------------------------------------------- */

typedef struct inputs {
    int size, dim, max_images;
    float *pixels; /* max_images x 3 x size x size */
    const char *captions[BENCH_N_CAPTIONS];
    int caption_len[BENCH_N_CAPTIONS];
    char *long_texts[BENCH_N_LONG_TEXTS];
    int long_len[BENCH_N_LONG_TEXTS];
} inputs;

static void fill_pixels(float *p, size_t n)
{
    uint32_t x = 0x9e3779b9u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (float)(x >> 8) / 16777216.0f * 3.9f - 1.8f; /* the range of CLIP-normalised pixels */
    }
}

static int token_count(const lclip_text_encoder *txt, const char *text)
{
    int32_t tokens[1024];
    size_t n = 0;
    if ((size_t)lclip_text_encoder_context_length(txt) > sizeof tokens / sizeof *tokens)
        die("context too long", NULL);
    if (lclip_tokenize(txt, text, tokens, sizeof tokens / sizeof *tokens, &n) != LCLIP_OK)
        die("tokenize", lclip_last_error());
    return (int)n;
}

static void write_file(const char *dir, const char *name, const void *data, size_t bytes)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, bytes, f) != bytes || fclose(f) != 0)
        die("cannot write", path);
}

static void write_tokens(const lclip_text_encoder *txt, const char *dir, const char *name, const char *const *texts,
                         int n)
{
    size_t ctx = (size_t)lclip_text_encoder_context_length(txt);
    int32_t *tokens = calloc((size_t)n * ctx, sizeof *tokens);
    if (!tokens)
        die("out of memory", NULL);
    for (int i = 0; i < n; i++)
        if (lclip_tokenize(txt, texts[i], tokens + (size_t)i * ctx, ctx, NULL) != LCLIP_OK)
            die("tokenize", lclip_last_error());
    write_file(dir, name, tokens, (size_t)n * ctx * sizeof *tokens);
    free(tokens);
}

/* The inputs and libclip's raw embeddings, for compare.py's agreement check
 * and for feeding PyTorch and ONNX Runtime the very same token ids. */
static void emit_inputs(const options *o, const inputs *in, lclip_image_encoder *img, lclip_text_encoder *txt)
{
    if (mkdir(o->emit_inputs, 0777) != 0 && errno != EEXIST)
        die("cannot create", o->emit_inputs);
    size_t dim = (size_t)in->dim, plane = 3 * (size_t)in->size * (size_t)in->size;
    int n_img = in->max_images < 4 ? in->max_images : 4;
    float *out = malloc((size_t)BENCH_N_CAPTIONS * dim * sizeof *out);
    if (!out)
        die("out of memory", NULL);
    if (img) {
        if (lclip_image_encode_pixels(img, in->pixels, (size_t)n_img, out) != LCLIP_OK)
            die("image encode", lclip_last_error());
        write_file(o->emit_inputs, "image_pixels.f32", in->pixels, (size_t)n_img * plane * sizeof(float));
        write_file(o->emit_inputs, "image_embeds.f32", out, (size_t)n_img * dim * sizeof *out);
    }
    if (txt) {
        write_tokens(txt, o->emit_inputs, "captions.i32", in->captions, BENCH_N_CAPTIONS);
        if (lclip_text_encode_batch(txt, in->captions, BENCH_N_CAPTIONS, out) != LCLIP_OK)
            die("text encode", lclip_last_error());
        write_file(o->emit_inputs, "captions_embeds.f32", out, BENCH_N_CAPTIONS * dim * sizeof *out);
        write_tokens(txt, o->emit_inputs, "text77.i32", (const char *const *)in->long_texts, BENCH_N_LONG_TEXTS);
        if (lclip_text_encode_batch(txt, (const char *const *)in->long_texts, BENCH_N_LONG_TEXTS, out) != LCLIP_OK)
            die("text encode", lclip_last_error());
        write_file(o->emit_inputs, "text77_embeds.f32", out, BENCH_N_LONG_TEXTS * dim * sizeof *out);
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/inputs.json", o->emit_inputs);
    FILE *f = fopen(path, "w");
    if (!f)
        die("cannot write", path);
    fprintf(f, "{\"dim\": %d, \"image_size\": %d, \"images\": %d, \"captions\": %d, \"text77\": %d, "
               "\"context_length\": %d, \"captions_text\": [",
            in->dim, in->size, img ? n_img : 0, txt ? BENCH_N_CAPTIONS : 0, txt ? BENCH_N_LONG_TEXTS : 0,
            txt ? lclip_text_encoder_context_length(txt) : 0);
    for (int i = 0; i < BENCH_N_CAPTIONS; i++)
        fprintf(f, "%s\"%s\"", i ? ", " : "", bench_captions[i]); /* plain ASCII, no escapes needed */
    fprintf(f, "], \"image_describe\": \"%s\", \"text_describe\": \"%s\"}\n", lclip_image_encoder_describe(img),
            lclip_text_encoder_describe(txt)); /* key=value words, no escapes needed */
    fclose(f);
    free(out);
}

/* ---- timing ------------------------------------------------------------- */

typedef enum { ROW_IMAGE, ROW_CAPTIONS, ROW_TEXT77 } row_kind;

typedef struct encoders {
    lclip_image_encoder *img;
    lclip_text_encoder *txt;
} encoders;

typedef struct bench {
    const options *o;
    bench_model_cfg cfg;
    bench_weights weights;
    int have_weights;
    inputs in;
    encoders team;          /* n_threads = the row's threads */
    encoders blas_threaded; /* n_threads = 0, with --blas-threading */
    float *out;
} bench;

typedef struct row {
    row_kind kind;
    int batch, items;
    const char *name;
} row;

static void run_libclip(bench *b, const row *r, const encoders *e)
{
    if (r->kind == ROW_IMAGE) {
        if (lclip_image_encode_pixels(e->img, b->in.pixels, (size_t)r->batch, b->out) != LCLIP_OK)
            die("image encode", lclip_last_error());
        return;
    }
    const char *const *texts = r->kind == ROW_CAPTIONS ? b->in.captions : (const char *const *)b->in.long_texts;
    for (int i = 0; i < r->items; i += r->batch) {
        size_t n = (size_t)(r->items - i < r->batch ? r->items - i : r->batch);
        if (lclip_text_encode_batch(e->txt, texts + i, n, b->out) != LCLIP_OK)
            die("text encode", lclip_last_error());
    }
}

/* FLOPs of one rep; with scratch, runs the GEMMs. */
static double run_gemms(bench *b, const row *r, bench_scratch *s)
{
    const bench_weights *w = s ? &b->weights : NULL;
    if (r->kind == ROW_IMAGE)
        return bench_image_gemms(&b->cfg, w, s, r->batch);
    const int *len = r->kind == ROW_CAPTIONS ? b->in.caption_len : b->in.long_len;
    double flops = 0;
    for (int i = 0; i < r->items; i += r->batch)
        flops += bench_text_gemms(&b->cfg, w, s, len + i, r->items - i < r->batch ? r->items - i : r->batch);
    return flops;
}

static int alloc_scratch(bench *b, const row *r, bench_scratch *s)
{
    const bench_model_cfg *c = &b->cfg;
    if (r->kind == ROW_IMAGE) {
        int grid = c->image_size / c->patch_size, tokens = grid * grid + 1;
        size_t rows = (size_t)r->batch * (size_t)tokens;
        size_t patches = (size_t)r->batch * (size_t)(grid * grid) * 3 * (size_t)c->patch_size * (size_t)c->patch_size;
        return bench_scratch_alloc(s, rows, c->vision.width, c->vision.mlp, tokens, patches);
    }
    const int *len = r->kind == ROW_CAPTIONS ? b->in.caption_len : b->in.long_len;
    size_t rows = 0, most = 0;
    int longest = 1;
    for (int i = 0; i < r->items; i += r->batch) {
        size_t chunk = 0;
        for (int j = i; j < r->items && j < i + r->batch; j++) {
            chunk += (size_t)len[j];
            longest = len[j] > longest ? len[j] : longest;
        }
        most = chunk > most ? chunk : most;
    }
    rows = most;
    return bench_scratch_alloc(s, rows, c->text.width, c->text.mlp, longest, 0);
}

static const char *describe_encoder(const encoders *e, row_kind kind)
{
    return kind == ROW_IMAGE ? lclip_image_encoder_describe(e->img) : lclip_text_encoder_describe(e->txt);
}

/* One libclip row record; ref (the sgemm reference's reps) may be NULL. */
static void print_row(const row *r, const char *impl, const char *describe, int threads, int lib_blas_threads,
                      double flops, double tokens, const double *lib, const double *ref, int reps)
{
    double lib_sorted[1024], ref_sorted[1024];
    memcpy(lib_sorted, lib, (size_t)reps * sizeof *lib);
    double lib_med = median(lib_sorted, reps), lib_min = lib_sorted[0];
    double ms_item = 1e3 * lib_med / r->items;
    printf("{\"type\":\"row\",\"impl\":\"%s\",\"row\":\"%s\",\"tower\":\"%s\",\"batch\":%d,\"threads\":%d,"
           "\"blas_threads\":%d,\"items\":%d,\"tokens_per_item\":%.2f,\"reps\":%d,\"ms_per_item\":%.4f,"
           "\"ms_per_item_min\":%.4f,\"items_per_s\":%.3f,\"gflop_per_item\":%.5f,\"gflops\":%.3f",
           impl, r->name, r->kind == ROW_IMAGE ? "image" : "text", r->batch, threads, lib_blas_threads,
           r->items, tokens, reps, ms_item, 1e3 * lib_min / r->items, 1e3 / ms_item, flops / r->items / 1e9,
           flops / lib_med / 1e9);
    printf(",\"describe\":");
    json_str(describe);
    if (ref) {
        memcpy(ref_sorted, ref, (size_t)reps * sizeof *ref);
        double ref_med = median(ref_sorted, reps);
        printf(",\"sgemm_ms_per_item\":%.4f,\"sgemm_gflops\":%.3f,\"sgemm_fraction\":%.4f", 1e3 * ref_med / r->items,
               flops / ref_med / 1e9, ref_med / lib_med);
        /* the reference's time per GEMM kind, mean over the reps */
        double op_s[BENCH_N_OPS], op_f[BENCH_N_OPS];
        bench_ops_get(op_s, op_f);
        printf(",\"sgemm_ops\":{");
        for (int i = 0, first = 1; i < BENCH_N_OPS; i++)
            if (op_f[i] > 0) {
                printf("%s\"%s\":{\"ms_per_item\":%.4f,\"gflop_per_item\":%.5f}", first ? "" : ",", bench_op_names[i],
                       1e3 * op_s[i] / reps / r->items, op_f[i] / reps / r->items / 1e9);
                first = 0;
            }
        printf("}");
    }
    printf(",\"rep_ms\":[");
    for (int i = 0; i < reps; i++)
        printf("%s%.3f", i ? "," : "", 1e3 * lib[i]);
    if (ref) {
        printf("],\"sgemm_rep_ms\":[");
        for (int i = 0; i < reps; i++)
            printf("%s%.3f", i ? "," : "", 1e3 * ref[i]);
    }
    printf("]}\n");
    fflush(stdout);
}

static double average_tokens(const bench *b, const row *r)
{
    if (r->kind == ROW_IMAGE) { /* a ViT's tokens; the attention pool's of a ResNet */
        int grid = b->cfg.image_size / (b->cfg.resnet_width ? 32 : b->cfg.patch_size);
        return grid * grid + 1;
    }
    const int *len = r->kind == ROW_CAPTIONS ? b->in.caption_len : b->in.long_len;
    double tokens = 0;
    for (int i = 0; i < r->items; i++)
        tokens += len[i];
    return tokens / r->items;
}

/* Both run the BLAS on the row's threads; libclip's team sets it back to 1
 * at its next call. Each returns the seconds of one rep. */
static double time_sgemm_reference(bench *b, const row *r, int threads, bench_scratch *scratch)
{
    blas_set_threads(threads);
    double t0 = now_s();
    run_gemms(b, r, scratch);
    return now_s() - t0;
}

static double time_libclip_on_blas_threads(bench *b, const row *r, int threads)
{
    blas_set_threads(threads);
    double t0 = now_s();
    run_libclip(b, r, &b->blas_threaded);
    return now_s() - t0;
}

static void time_row(bench *b, const row *r, int threads)
{
    const options *o = b->o;
    bench_scratch scratch = {0};
    int sgemm = b->have_weights, blas_threaded = o->blas_threading;
    if (sgemm && alloc_scratch(b, r, &scratch) != 0)
        die("out of memory for the sgemm reference", NULL);
    double flops = run_gemms(b, r, NULL);
    /* After anything that ran the BLAS on several threads, OpenBLAS's idle
     * workers must stop polling before libclip's team runs again. */
    int settle = threads > 1 && (sgemm || blas_threaded);
    /* warm-up: first touches of weights and scratch, OpenBLAS thread start */
    run_libclip(b, r, &b->team);
    int lib_blas_threads = blas_threads();
    if (blas_threaded)
        time_libclip_on_blas_threads(b, r, threads);
    if (sgemm)
        time_sgemm_reference(b, r, threads, &scratch);
    if (settle)
        settle_blas_workers();
    static double lib[1024], alt[1024], ref[1024];
    int reps = 0;
    bench_ops_reset();
    double start = now_s();
    while (reps < o->max_reps && reps < 1024 && (reps < o->min_reps || now_s() - start < o->min_time)) {
        double t0 = now_s();
        run_libclip(b, r, &b->team);
        lib[reps] = now_s() - t0;
        if (blas_threaded)
            alt[reps] = time_libclip_on_blas_threads(b, r, threads);
        if (sgemm)
            ref[reps] = time_sgemm_reference(b, r, threads, &scratch);
        if (settle)
            settle_blas_workers();
        reps++;
    }
    double tokens = average_tokens(b, r);
    print_row(r, "libclip", describe_encoder(&b->team, r->kind), threads, lib_blas_threads, flops, tokens, lib,
              sgemm ? ref : NULL, reps);
    if (blas_threaded)
        print_row(r, "libclip-blas-threads", describe_encoder(&b->blas_threaded, r->kind), threads, threads, flops,
                  tokens, alt, sgemm ? ref : NULL, reps);
    bench_scratch_free(&scratch);
}

/* ---- open --------------------------------------------------------------- */

/* lclip_options for o's engine and precision, raw projections (as
 * PyTorch's encode_*: compare.py checks agreement). */
static lclip_options encoder_options(const options *o, int n_threads)
{
    lclip_options opts;
    lclip_options_init(&opts);
    opts.normalize = 0;
    opts.n_threads = n_threads;
    opts.engine = o->engine;
    opts.precision = o->precision;
    return opts;
}

/* With describe, the encoder's lclip_*_encoder_describe() is copied there. */
static double open_once(const options *o, int image, int first_encode, const inputs *in, double *encode_s,
                        char *describe, size_t describe_size)
{
    lclip_options opts = encoder_options(o, 1); /* one thread: with n_threads = 0 oneDNN takes all cores */
    float out[4096];
    double t0 = now_s(), t1;
    if (image) {
        lclip_image_encoder *e;
        if (lclip_image_encoder_open(o->model, &opts, &e) != LCLIP_OK)
            die("image encoder open", lclip_last_error());
        t1 = now_s();
        if (first_encode && lclip_image_encoder_dim(e) <= sizeof out / sizeof *out &&
            lclip_image_encode_pixels(e, in->pixels, 1, out) != LCLIP_OK)
            die("image encode", lclip_last_error());
        if (describe)
            snprintf(describe, describe_size, "%s", lclip_image_encoder_describe(e));
        lclip_image_encoder_close(e);
    } else {
        lclip_text_encoder *e;
        if (lclip_text_encoder_open(o->model, &opts, &e) != LCLIP_OK)
            die("text encoder open", lclip_last_error());
        t1 = now_s();
        if (first_encode && lclip_text_encoder_dim(e) <= sizeof out / sizeof *out &&
            lclip_text_encode(e, in->captions[0], out) != LCLIP_OK)
            die("text encode", lclip_last_error());
        if (describe)
            snprintf(describe, describe_size, "%s", lclip_text_encoder_describe(e));
        lclip_text_encoder_close(e);
    }
    *encode_s = now_s() - t1;
    return t1 - t0;
}

static void time_open(const options *o, int image, const inputs *in)
{
    char weights[4096];
    snprintf(weights, sizeof weights, "%s/%s", o->model, bench_weights_name(o->model));
    const char *tower = image ? "image" : "text";
    blas_set_threads(1);
    /* cold: nothing of the model in the page cache */
    const char *method = evict_model(o->model);
    double before = resident_fraction(weights), encode_s;
    char describe[512];
    double open_s = open_once(o, image, 1, in, &encode_s, describe, sizeof describe);
    printf("{\"type\":\"open\",\"tower\":\"%s\",\"cache\":\"cold\",\"evict\":\"%s\",\"resident_before\":%.4f,"
           "\"resident_after\":%.4f,\"open_ms\":%.3f,\"first_encode_ms\":%.3f,\"threads\":1,\"describe\":",
           tower, method, before, resident_fraction(weights), 1e3 * open_s, 1e3 * encode_s);
    json_str(describe);
    printf("}\n");
    /* warm: median of 5 */
    double opens[5], encodes[5];
    for (int i = 0; i < 5; i++)
        opens[i] = open_once(o, image, 1, in, &encodes[i], NULL, 0);
    printf("{\"type\":\"open\",\"tower\":\"%s\",\"cache\":\"warm\",\"resident_before\":%.4f,\"reps\":5,"
           "\"open_ms\":%.3f,\"first_encode_ms\":%.3f,\"threads\":1,\"describe\":",
           tower, resident_fraction(weights), 1e3 * median(opens, 5), 1e3 * median(encodes, 5));
    json_str(describe);
    printf("}\n");
    fflush(stdout);
}

/* ---- arithmetic peak (--fma-peak) ---------------------------------------- */

/* 12 independent accumulators: more than the FMA units' latency x count
 * (4 x 2 on current x86 cores), so that the loop runs at their throughput. */
#define PEAK_CHAINS 12
#define PEAK_ITERATIONS 20000000L

typedef struct peak_kernel {
    const char *name;
    double flops_per_iteration;
    float (*run)(long iterations, float seed);
    int supported;
} peak_kernel;

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define PEAK_LOOP(vec, set1, fma, reduce)                                                                      \
    vec acc[PEAK_CHAINS], m = set1(0.9999999f), c = set1(1e-7f);                                            \
    for (int j = 0; j < PEAK_CHAINS; j++)                                                                      \
        acc[j] = set1(seed + (float)j);                                                                        \
    for (long i = 0; i < iterations; i++)                                                                      \
        for (int j = 0; j < PEAK_CHAINS; j++)                                                                  \
            acc[j] = fma(acc[j], m, c);                                                                        \
    float sum = 0;                                                                                             \
    for (int j = 0; j < PEAK_CHAINS; j++)                                                                      \
        sum += reduce(acc[j]);                                                                                 \
    return sum

__attribute__((target("avx512f"))) static float peak_avx512(long iterations, float seed)
{
    PEAK_LOOP(__m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_reduce_add_ps);
}

__attribute__((target("avx2,fma"))) static float reduce256(__m256 v)
{
    float f[8];
    _mm256_storeu_ps(f, v);
    return f[0] + f[1] + f[2] + f[3] + f[4] + f[5] + f[6] + f[7];
}

__attribute__((target("avx2,fma"))) static float peak_avx2(long iterations, float seed)
{
    PEAK_LOOP(__m256, _mm256_set1_ps, _mm256_fmadd_ps, reduce256);
}

/* vdpbf16ps: 16 lanes, each 2 products and 2 sums, 64 flops; the factors
 * are pairs of bfloat16 0.5 (a float's halves would make a NaN) */
__attribute__((target("avx512f,avx512bf16"))) static __m512 dot_bf16(__m512 acc, __m512 m, __m512 c)
{
    (void)m, (void)c;
    __m512bh half = (__m512bh)_mm512_set1_epi32(0x3f003f00);
    return _mm512_dpbf16_ps(acc, half, half);
}

__attribute__((target("avx512f,avx512bf16"))) static float peak_bf16(long iterations, float seed)
{
    PEAK_LOOP(__m512, _mm512_set1_ps, dot_bf16, _mm512_reduce_add_ps);
}
#endif

typedef struct peak_job {
    const peak_kernel *k;
    pthread_barrier_t *start;
    float result;
} peak_job;

static void *peak_thread(void *arg)
{
    peak_job *job = arg;
    pthread_barrier_wait(job->start);
    job->result = job->k->run(PEAK_ITERATIONS, job->result);
    return NULL;
}

/* Best of 7 runs of the loop on `threads` threads at once: GF/s of all. */
static double time_peak(const peak_kernel *k, int threads)
{
    double best = 0;
    for (int rep = 0; rep < 7; rep++) {
        pthread_t tid[MAX_LIST * 16];
        peak_job jobs[MAX_LIST * 16];
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
        for (int t = 0; t < threads; t++) {
            jobs[t] = (peak_job){k, &start, (float)t};
            if (pthread_create(&tid[t], NULL, peak_thread, &jobs[t]) != 0)
                die("pthread_create", NULL);
        }
        pthread_barrier_wait(&start);
        double t0 = now_s();
        for (int t = 0; t < threads; t++)
            pthread_join(tid[t], NULL);
        double s = now_s() - t0, gflops = k->flops_per_iteration * PEAK_ITERATIONS * threads / s / 1e9;
        pthread_barrier_destroy(&start);
        best = gflops > best ? gflops : best;
    }
    return best;
}

static void fma_peak(const options *o)
{
    peak_kernel kernels[] = {
#if defined(__x86_64__) && defined(__GNUC__)
        {"avx512_fma_f32", PEAK_CHAINS * 16 * 2, peak_avx512, __builtin_cpu_supports("avx512f")},
        {"avx2_fma_f32", PEAK_CHAINS * 8 * 2, peak_avx2,
         __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")},
        {"avx512_bf16_dot", PEAK_CHAINS * 16 * 4, peak_bf16, __builtin_cpu_supports("avx512bf16")},
#endif
        {NULL, 0, NULL, 0}};
    for (int ti = 0; ti < o->n_threads; ti++)
        for (const peak_kernel *k = kernels; k->name; k++)
            if (k->supported && o->threads[ti] <= MAX_LIST * 16) {
                printf("{\"type\":\"peak\",\"kernel\":\"%s\",\"threads\":%d,\"gflops\":%.2f}\n", k->name,
                       o->threads[ti], time_peak(k, o->threads[ti]));
                fflush(stdout);
            }
}

/* ---- main --------------------------------------------------------------- */

/* Peak RSS in MiB: VmHWM of this process image. (getrusage's ru_maxrss is
 * not reset by exec on Linux, so a child of a big parent, e.g. compare.py
 * with PyTorch loaded, would report the parent's peak.) */
static double peak_rss_mib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %lf kB", &kib) == 1)
            break;
    if (f)
        fclose(f);
    if (kib < 0) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        kib = (double)ru.ru_maxrss;
    }
    return kib / 1024.0;
}

static void print_env(const bench *b)
{
    const options *o = b->o;
    const bench_model_cfg *c = &b->cfg;
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    time_t t = time(NULL);
    char date[64];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
    printf("{\"type\":\"env\",\"libclip\":");
    json_str(lclip_version());
    printf(",\"model\":");
    json_str(o->model);
    printf(",\"mode\":\"%s\",\"date\":\"%s\",\"host\":", o->mode, date);
    json_str(host);
    printf(",\"cpus_online\":%ld,\"blas\":", sysconf(_SC_NPROCESSORS_ONLN));
    json_str(blas_name());
    printf(",\"blas_core\":");
    json_str(blas_core());
    printf(",\"blas_config\":");
    json_str(blas_config());
    static const char *const vars[] = {"OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                                       "OMP_NUM_THREADS"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++) {
        const char *v = getenv(vars[i]);
        printf(",\"%s\":", vars[i]);
        if (v)
            json_str(v);
        else
            printf("null");
    }
    printf(",\"engine\":\"%s\",\"precision\":\"%s\"", engine_names[o->engine], precision_names[o->precision]);
    printf(",\"sgemm_reference\":%s,\"min_reps\":%d,\"max_reps\":%d,\"min_time_s\":%.2f,"
           "\"vision\":{\"width\":%d,\"layers\":%d,\"heads\":%d,\"mlp\":%d,\"image_size\":%d,\"patch_size\":%d},"
           "\"text\":{\"width\":%d,\"layers\":%d,\"heads\":%d,\"mlp\":%d,\"context_length\":%d},\"embed_dim\":%d}\n",
           b->have_weights ? "true" : "false", o->min_reps, o->max_reps, o->min_time, c->vision.width,
           c->vision.layers, c->vision.heads, c->vision.mlp, c->image_size, c->patch_size, c->text.width,
           c->text.layers, c->text.heads, c->text.mlp, c->context_length, c->embed_dim);
    fflush(stdout);
}

static void close_encoders(encoders *e)
{
    lclip_image_encoder_close(e->img);
    lclip_text_encoder_close(e->txt);
    e->img = NULL;
    e->txt = NULL;
}

/* (Re)opens e's encoders with n_threads. */
static void open_encoders(const bench *b, encoders *e, int image, int text, int n_threads)
{
    close_encoders(e);
    lclip_options opts = encoder_options(b->o, n_threads);
    if (image && lclip_image_encoder_open(b->o->model, &opts, &e->img) != LCLIP_OK)
        die("image encoder open", lclip_last_error());
    if (text && lclip_text_encoder_open(b->o->model, &opts, &e->txt) != LCLIP_OK)
        die("text encoder open", lclip_last_error());
}

int main(int argc, char **argv)
{
    options o = parse_args(argc, argv);
    if (o.fma_peak) {
        fma_peak(&o);
        return 0;
    }
    bench b = {.o = &o};
    char err[512];
    if (bench_read_config(o.model, &b.cfg, err, sizeof err) != 0)
        die(err, NULL);
    if (b.cfg.resnet_width && o.sgemm) {
        fprintf(stderr, "lclip-bench: a ResNet CLIP: no sgemm reference (it runs ViT models only)\n");
        o.sgemm = 0;
    }
    int do_image = strcmp(o.mode, "text") != 0, do_text = strcmp(o.mode, "image") != 0;

    int max_images = 4, max_text_batch = 0, max_image_batch = 0;
    for (int i = 0; i < o.n_text_batches; i++)
        max_text_batch = o.text_batches[i] > max_text_batch ? o.text_batches[i] : max_text_batch;
    for (int i = 0; i < o.n_image_batches; i++)
        max_images = o.image_batches[i] > max_images ? o.image_batches[i] : max_images,
        max_image_batch = o.image_batches[i] > max_image_batch ? o.image_batches[i] : max_image_batch;
    b.in.size = b.cfg.image_size;
    b.in.dim = b.cfg.embed_dim;
    b.in.max_images = max_images;
    size_t pixel_floats = (size_t)max_images * 3 * (size_t)b.in.size * (size_t)b.in.size;
    b.in.pixels = malloc(pixel_floats * sizeof(float));
    b.out = malloc((size_t)(max_images > BENCH_N_CAPTIONS ? max_images : BENCH_N_CAPTIONS) * (size_t)b.in.dim *
                   sizeof(float));
    if (!b.in.pixels || !b.out)
        die("out of memory", NULL);
    fill_pixels(b.in.pixels, pixel_floats);
    for (int i = 0; i < BENCH_N_CAPTIONS; i++)
        b.in.captions[i] = bench_captions[i];
    for (int i = 0; i < BENCH_N_LONG_TEXTS; i++)
        if (!(b.in.long_texts[i] = bench_long_text(i)))
            die("out of memory", NULL);

    /* Before anything maps the weights: mapped pages cannot be evicted. */
    if (o.open_timing) {
        if (do_image)
            time_open(&o, 1, &b.in);
        if (do_text)
            time_open(&o, 0, &b.in);
    }

    open_encoders(&b, &b.team, do_image, do_text, 1);
    if ((b.team.img && (int)lclip_image_encoder_dim(b.team.img) != b.in.dim) ||
        (b.team.txt && (int)lclip_text_encoder_dim(b.team.txt) != b.in.dim))
        die("config.json's projection_dim disagrees with the encoder", NULL);
    if (b.team.txt) {
        for (int i = 0; i < BENCH_N_CAPTIONS; i++)
            if ((b.in.caption_len[i] = token_count(b.team.txt, b.in.captions[i])) < 5 || b.in.caption_len[i] > 20)
                die("a benchmark caption is not 5 to 20 tokens long", b.in.captions[i]);
        for (int i = 0; i < BENCH_N_LONG_TEXTS; i++)
            if ((b.in.long_len[i] = token_count(b.team.txt, b.in.long_texts[i])) != b.cfg.context_length)
                die("a long text does not fill the context", NULL);
    }
    if (o.sgemm) {
        if (bench_weights_open(o.model, &b.cfg, &b.weights, err, sizeof err) != 0)
            die(err, NULL);
        b.have_weights = 1;
    }
    print_env(&b);
    if (o.emit_inputs)
        emit_inputs(&o, &b.in, b.team.img, b.team.txt);
    if (o.emit_only)
        o.n_threads = 0;

    if (b.team.txt) {
        int shortest = 1 << 30, longest = 0;
        for (int i = 0; i < BENCH_N_CAPTIONS; i++) {
            shortest = b.in.caption_len[i] < shortest ? b.in.caption_len[i] : shortest;
            longest = b.in.caption_len[i] > longest ? b.in.caption_len[i] : longest;
        }
        int32_t tokens[1024];
        double t0 = now_s();
        int rounds = 50;
        for (int k = 0; k < rounds; k++)
            for (int i = 0; i < BENCH_N_CAPTIONS; i++)
                lclip_tokenize(b.team.txt, b.in.captions[i], tokens, sizeof tokens / sizeof *tokens, NULL);
        printf("{\"type\":\"tokenize\",\"captions\":%d,\"min_tokens\":%d,\"max_tokens\":%d,\"us_per_caption\":%.3f}\n",
               BENCH_N_CAPTIONS, shortest, longest, 1e6 * (now_s() - t0) / (rounds * BENCH_N_CAPTIONS));
        fflush(stdout);
    }

    for (int ti = 0; ti < o.n_threads; ti++) {
        int threads = o.threads[ti];
        open_encoders(&b, &b.team, do_image, do_text, threads);
        if (o.blas_threading)
            open_encoders(&b, &b.blas_threaded, do_image, do_text, 0);
        char names[3 * MAX_LIST][32];
        int n_names = 0;
        for (int i = 0; do_image && i < o.n_image_batches; i++) {
            snprintf(names[n_names], sizeof names[n_names], "image_b%d", o.image_batches[i]);
            row r = {ROW_IMAGE, o.image_batches[i], o.image_batches[i], names[n_names++]};
            time_row(&b, &r, threads);
        }
        for (int i = 0; do_text && i < o.n_text_batches; i++) {
            snprintf(names[n_names], sizeof names[n_names], "captions_b%d", o.text_batches[i]);
            row r = {ROW_CAPTIONS, o.text_batches[i], BENCH_N_CAPTIONS, names[n_names++]};
            time_row(&b, &r, threads);
        }
        for (int i = 0; do_text && i < o.n_text_batches; i++) {
            snprintf(names[n_names], sizeof names[n_names], "text77_b%d", o.text_batches[i]);
            /* 77-token texts cost ~6 GFLOP each: batch 1 runs 8 of them per rep, not all 32 */
            int items = o.text_batches[i] > 8 ? o.text_batches[i] : 8;
            row r = {ROW_TEXT77, o.text_batches[i], items < BENCH_N_LONG_TEXTS ? items : BENCH_N_LONG_TEXTS,
                     names[n_names++]};
            time_row(&b, &r, threads);
        }
    }

    if (!o.emit_only) {
        printf("{\"type\":\"rss\",\"mode\":\"%s\",\"peak_rss_mib\":%.1f,\"sgemm_reference\":%s,\"open_timing\":%s,"
               "\"max_image_batch\":%d,\"max_text_batch\":%d,\"threads\":%d,\"image_describe\":",
               o.mode, peak_rss_mib(), b.have_weights ? "true" : "false", o.open_timing ? "true" : "false",
               do_image ? max_image_batch : 0, do_text ? max_text_batch : 0,
               o.n_threads ? o.threads[o.n_threads - 1] : 1);
        json_str(lclip_image_encoder_describe(b.team.img));
        printf(",\"text_describe\":");
        json_str(lclip_text_encoder_describe(b.team.txt));
        printf("}\n");
    }

    if (b.have_weights)
        bench_weights_close(&b.weights);
    close_encoders(&b.team);
    close_encoders(&b.blas_threaded);
    for (int i = 0; i < BENCH_N_LONG_TEXTS; i++)
        free(b.in.long_texts[i]);
    free(b.in.pixels);
    free(b.out);
    return 0;
}
