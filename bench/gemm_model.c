#define _GNU_SOURCE
#include "gemm_model.h"

#include <cblas.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char *read_text_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = NULL;
    if (fseek(f, 0, SEEK_END) == 0) {
        long size = ftell(f);
        if (size >= 0 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)size + 1))) {
            if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
                free(buf);
                buf = NULL;
            } else {
                buf[size] = '\0';
            }
        }
    }
    fclose(f);
    return buf;
}

/* obj[key], or obj itself for key NULL. */
static int json_int(const cJSON *obj, const char *key, int fallback)
{
    const cJSON *item = key ? cJSON_GetObjectItemCaseSensitive(obj, key) : obj;
    return cJSON_IsNumber(item) ? (int)item->valuedouble : fallback;
}

static void read_tower(const cJSON *obj, bench_tower_cfg *t)
{
    t->width = json_int(obj, "hidden_size", 0);
    t->layers = json_int(obj, "num_hidden_layers", 0);
    t->heads = json_int(obj, "num_attention_heads", 0);
    t->mlp = json_int(obj, "intermediate_size", 4 * t->width);
}

const char *bench_weights_name(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    return access(path, F_OK) == 0 ? "model.safetensors" : "open_clip_model.safetensors";
}

/* open_clip_config.json ({"model_cfg": ...} or a bare model config) of a
 * ResNet CLIP, the layout bench/make_model.py writes for RN50 and others. */
static int read_open_clip_config(const char *path, bench_model_cfg *cfg, char *err, size_t err_size)
{
    char *text = read_text_file(path);
    if (!text) {
        snprintf(err, err_size, "%s: cannot read (an HF or open_clip CLIP directory is needed)", path);
        return -1;
    }
    cJSON *root = cJSON_Parse(text);
    free(text);
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model_cfg");
    model = model ? model : root;
    const cJSON *vision = cJSON_GetObjectItemCaseSensitive(model, "vision_cfg");
    const cJSON *txt = cJSON_GetObjectItemCaseSensitive(model, "text_cfg");
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(vision, "layers");
    memset(cfg, 0, sizeof *cfg);
    int ok = cJSON_IsObject(txt) && cJSON_IsArray(layers) && cJSON_GetArraySize(layers) == 4;
    for (int i = 0; ok && i < 4; i++)
        ok = (cfg->resnet_layers[i] = json_int(cJSON_GetArrayItem(layers, i), NULL, 0)) > 0;
    if (ok) {
        cfg->resnet_width = json_int(vision, "width", 64);
        cfg->image_size = json_int(vision, "image_size", 224);
        cfg->embed_dim = json_int(model, "embed_dim", 1024);
        cfg->text.width = json_int(txt, "width", 512);
        cfg->text.heads = json_int(txt, "heads", 8);
        cfg->text.layers = json_int(txt, "layers", 12);
        cfg->text.mlp = 4 * cfg->text.width;
        cfg->context_length = json_int(txt, "context_length", 77);
    }
    cJSON_Delete(root);
    if (!ok || cfg->text.heads <= 0 || cfg->text.width % cfg->text.heads || cfg->image_size % 32) {
        snprintf(err, err_size, "%s: not a ResNet CLIP config (vision_cfg.layers: four counts)", path);
        return -1;
    }
    return 0;
}

int bench_read_config(const char *dir, bench_model_cfg *cfg, char *err, size_t err_size)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    char *text = read_text_file(path);
    if (!text) {
        snprintf(path, sizeof path, "%s/open_clip_config.json", dir);
        return read_open_clip_config(path, cfg, err, err_size);
    }
    cJSON *root = cJSON_Parse(text);
    free(text);
    const cJSON *vision = cJSON_GetObjectItemCaseSensitive(root, "vision_config");
    const cJSON *txt = cJSON_GetObjectItemCaseSensitive(root, "text_config");
    if (!cJSON_IsObject(vision) || !cJSON_IsObject(txt)) {
        cJSON_Delete(root);
        snprintf(err, err_size, "%s: no vision_config / text_config", path);
        return -1;
    }
    memset(cfg, 0, sizeof *cfg);
    read_tower(vision, &cfg->vision);
    read_tower(txt, &cfg->text);
    cfg->image_size = json_int(vision, "image_size", 0);
    cfg->patch_size = json_int(vision, "patch_size", 0);
    cfg->embed_dim = json_int(root, "projection_dim", 512);
    cfg->context_length = json_int(txt, "max_position_embeddings", 77);
    cJSON_Delete(root);
    const bench_tower_cfg *towers[2] = {&cfg->vision, &cfg->text};
    for (int i = 0; i < 2; i++)
        if (towers[i]->width <= 0 || towers[i]->layers <= 0 || towers[i]->heads <= 0 ||
            towers[i]->width % towers[i]->heads || towers[i]->mlp <= 0) {
            snprintf(err, err_size, "%s: incomplete or inconsistent tower config", path);
            return -1;
        }
    if (cfg->patch_size <= 0 || cfg->image_size < cfg->patch_size) {
        snprintf(err, err_size, "%s: bad image_size / patch_size", path);
        return -1;
    }
    return 0;
}

/* ---- weights: the model's own tensors, mapped read-only ----------------- */

typedef struct lookup {
    const cJSON *header;
    const unsigned char *data;
    size_t data_size;
    char *err;
    size_t err_size;
    int failed;
} lookup;

static const float *tensor(lookup *l, size_t floats, const char *name)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(l->header, name);
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(t, "dtype");
    const cJSON *offsets = cJSON_GetObjectItemCaseSensitive(t, "data_offsets");
    if (l->failed)
        return NULL;
    if (!cJSON_IsString(dtype) || strcmp(dtype->valuestring, "F32") != 0 || cJSON_GetArraySize(offsets) != 2) {
        snprintf(l->err, l->err_size, "model.safetensors: no F32 tensor '%s' (the sgemm reference needs "
                 "an F32 HF checkpoint; use --no-sgemm otherwise)", name);
        l->failed = 1;
        return NULL;
    }
    double begin = cJSON_GetArrayItem(offsets, 0)->valuedouble, end = cJSON_GetArrayItem(offsets, 1)->valuedouble;
    if (begin < 0 || end > (double)l->data_size || end - begin != (double)(floats * sizeof(float)) ||
        (size_t)begin % sizeof(float)) {
        snprintf(l->err, l->err_size, "model.safetensors: tensor '%s' has %.0f bytes, expected %zu", name,
                 end - begin, floats * sizeof(float));
        l->failed = 1;
        return NULL;
    }
    return (const float *)(const void *)(l->data + (size_t)begin);
}

static int bind_tower(lookup *l, const char *prefix, const bench_tower_cfg *t, bench_tower_weights *w)
{
    size_t ww = (size_t)t->width * (size_t)t->width, wm = (size_t)t->width * (size_t)t->mlp;
    const float ***lists[6] = {&w->q, &w->k, &w->v, &w->out, &w->fc1, &w->fc2};
    for (int i = 0; i < 6; i++)
        if (!(*lists[i] = calloc((size_t)t->layers, sizeof(float *))))
            return -1;
    char name[256];
    static const char *const names[6] = {"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                         "self_attn.out_proj", "mlp.fc1", "mlp.fc2"};
    for (int layer = 0; layer < t->layers; layer++)
        for (int i = 0; i < 6; i++) {
            snprintf(name, sizeof name, "%s.encoder.layers.%d.%s.weight", prefix, layer, names[i]);
            (*lists[i])[layer] = tensor(l, i >= 4 ? wm : ww, name);
        }
    return l->failed ? -1 : 0;
}

static void free_tower(bench_tower_weights *w)
{
    free(w->q);
    free(w->k);
    free(w->v);
    free(w->out);
    free(w->fc1);
    free(w->fc2);
}

int bench_weights_open(const char *dir, const bench_model_cfg *cfg, bench_weights *w, char *err,
                       size_t err_size)
{
    memset(w, 0, sizeof *w);
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    if (cfg->resnet_width) {
        snprintf(err, err_size, "%s: the sgemm reference runs ViT models only; use --no-sgemm", dir);
        return -1;
    }
    int fd = open(path, O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < 8) {
        if (fd >= 0)
            close(fd);
        snprintf(err, err_size, "%s: cannot open", path);
        return -1;
    }
    w->map_size = (size_t)st.st_size;
    w->map = mmap(NULL, w->map_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (w->map == MAP_FAILED) {
        w->map = NULL;
        snprintf(err, err_size, "%s: cannot map", path);
        return -1;
    }
    const unsigned char *bytes = w->map;
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; i--)
        header_len = header_len << 8 | bytes[i];
    if (header_len > w->map_size - 8) {
        snprintf(err, err_size, "%s: bad header length", path);
        bench_weights_close(w);
        return -1;
    }
    cJSON *header = cJSON_ParseWithLength((const char *)bytes + 8, (size_t)header_len);
    lookup l = {header, bytes + 8 + header_len, w->map_size - 8 - (size_t)header_len, err, err_size, !header};
    if (!header)
        snprintf(err, err_size, "%s: unreadable JSON header", path);
    int rc = 0;
    if (bind_tower(&l, "vision_model", &cfg->vision, &w->vision) || bind_tower(&l, "text_model", &cfg->text, &w->text))
        rc = -1;
    if (rc == 0) {
        size_t patch_floats = (size_t)cfg->vision.width * 3 * (size_t)cfg->patch_size * (size_t)cfg->patch_size;
        w->vision.patch = tensor(&l, patch_floats, "vision_model.embeddings.patch_embedding.weight");
        w->vision.projection = tensor(&l, (size_t)cfg->embed_dim * (size_t)cfg->vision.width,
                                      "visual_projection.weight");
        w->text.projection = tensor(&l, (size_t)cfg->embed_dim * (size_t)cfg->text.width,
                                    "text_projection.weight");
        rc = l.failed ? -1 : 0;
    }
    cJSON_Delete(header);
    if (rc)
        bench_weights_close(w);
    return rc;
}

void bench_weights_close(bench_weights *w)
{
    free_tower(&w->vision);
    free_tower(&w->text);
    if (w->map)
        munmap(w->map, w->map_size);
    memset(w, 0, sizeof *w);
}

/* ---- scratch ------------------------------------------------------------ */

static float *filled(size_t n, unsigned seed)
{
    float *p = malloc((n ? n : 1) * sizeof *p);
    uint32_t x = seed * 2654435761u + 1u;
    for (size_t i = 0; p && i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = ((float)(x >> 8) / 16777216.0f - 0.5f) * 0.1f; /* small, never denormal */
    }
    return p;
}

int bench_scratch_alloc(bench_scratch *s, size_t rows, int width, int mlp, int longest, size_t input_floats)
{
    size_t tw = rows * (size_t)width;
    s->input = filled(input_floats, 1);
    s->normed = filled(tw, 2);
    s->q = filled(tw, 3);
    s->k = filled(tw, 4);
    s->v = filled(tw, 5);
    s->attended = filled(tw, 6);
    s->hidden = filled(rows * (size_t)mlp, 7);
    s->scores = filled((size_t)longest * (size_t)longest, 8);
    s->output = filled(tw, 9);
    if (!s->input || !s->normed || !s->q || !s->k || !s->v || !s->attended || !s->hidden || !s->scores ||
        !s->output) {
        bench_scratch_free(s);
        return -1;
    }
    return 0;
}

void bench_scratch_free(bench_scratch *s)
{
    free(s->input);
    free(s->normed);
    free(s->q);
    free(s->k);
    free(s->v);
    free(s->attended);
    free(s->hidden);
    free(s->scores);
    free(s->output);
    memset(s, 0, sizeof *s);
}

/* ---- the GEMMs of a forward pass --------------------------------------- */

typedef struct run {
    int execute;
    double flops;
} run;

const char *const bench_op_names[BENCH_N_OPS] = {"patch", "qkv", "attn_scores", "attn_pv", "attn_out", "fc1", "fc2",
                                                 "projection"};
static double op_seconds[BENCH_N_OPS], op_flops[BENCH_N_OPS];
static int current_op;

void bench_ops_reset(void)
{
    memset(op_seconds, 0, sizeof op_seconds);
    memset(op_flops, 0, sizeof op_flops);
}

void bench_ops_get(double seconds[BENCH_N_OPS], double flops[BENCH_N_OPS])
{
    memcpy(seconds, op_seconds, sizeof op_seconds);
    memcpy(flops, op_flops, sizeof op_flops);
}

static double clock_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void gemm(run *r, int trans_b, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
                 int ldb, float beta, float *c, int ldc)
{
    r->flops += 2.0 * m * n * k;
    if (r->execute) {
        double t0 = clock_s();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k, alpha, a, lda, b,
                    ldb, beta, c, ldc);
        op_seconds[current_op] += clock_s() - t0;
        op_flops[current_op] += 2.0 * m * n * k;
    }
}

/* y[rows, out] = x[rows, in] W^T (+ bias, as beta = 1), W [out, in]. */
static void linear(run *r, const float *w, int has_bias, int rows, int out, int in, const float *x, float *y)
{
    gemm(r, 1, rows, out, in, 1.0f, x, in, w, in, has_bias ? 1.0f : 0.0f, y, out);
}

/* Pre-LN transformer blocks over packed sequences (row offsets start[i],
 * lengths len[i]): q, k, v, attention per sequence and head (scores, then
 * probabilities x V), out projection, fc1, fc2. */
static void transformer(run *r, const bench_tower_cfg *t, const bench_tower_weights *w, bench_scratch *s,
                        int rows, const int *start, const int *len, int n_seq)
{
    int width = t->width, hd = t->width / t->heads;
    float scale = 1.0f / sqrtf((float)hd);
    for (int layer = 0; layer < t->layers; layer++) {
        const float *none = NULL;
        current_op = BENCH_OP_QKV;
        linear(r, w ? w->q[layer] : none, 1, rows, width, width, s ? s->normed : NULL, s ? s->q : NULL);
        linear(r, w ? w->k[layer] : none, 1, rows, width, width, s ? s->normed : NULL, s ? s->k : NULL);
        linear(r, w ? w->v[layer] : none, 1, rows, width, width, s ? s->normed : NULL, s ? s->v : NULL);
        for (int i = 0; i < n_seq; i++)
            for (int h = 0; h < t->heads; h++) {
                size_t col = (size_t)start[i] * (size_t)width + (size_t)h * (size_t)hd;
                int n = len[i];
                current_op = BENCH_OP_SCORES;
                gemm(r, 1, n, n, hd, scale, s ? s->q + col : NULL, width, s ? s->k + col : NULL, width, 0.0f,
                     s ? s->scores : NULL, n);
                current_op = BENCH_OP_PV;
                gemm(r, 0, n, hd, n, 1.0f, s ? s->scores : NULL, n, s ? s->v + col : NULL, width, 0.0f,
                     s ? s->attended + col : NULL, width);
            }
        current_op = BENCH_OP_OUT;
        linear(r, w ? w->out[layer] : none, 1, rows, width, width, s ? s->attended : NULL, s ? s->normed : NULL);
        current_op = BENCH_OP_FC1;
        linear(r, w ? w->fc1[layer] : none, 1, rows, t->mlp, width, s ? s->normed : NULL, s ? s->hidden : NULL);
        current_op = BENCH_OP_FC2;
        linear(r, w ? w->fc2[layer] : none, 1, rows, width, t->mlp, s ? s->hidden : NULL, s ? s->normed : NULL);
    }
}

/* A convolution as the GEMM it is: output pixels x out channels x (in x k x k). */
static double conv_flops(int size, int in, int out, int k)
{
    return 2.0 * size * size * out * (double)in * k * k;
}

/* ModifiedResNet's products per image, counted: the stem's three 3x3
 * convolutions, each Bottleneck's 1x1, 3x3 and 1x1 (the stride's average
 * pool before the last) and shortcut, the attention pool's k/v over all
 * tokens, q and c_proj over the mean token, and its scores and sums. */
static double resnet_flops(const bench_model_cfg *cfg)
{
    int w = cfg->resnet_width, size = cfg->image_size / 2, in = w;
    double f = conv_flops(size, 3, w / 2, 3) + conv_flops(size, w / 2, w / 2, 3) + conv_flops(size, w / 2, w, 3);
    size /= 2;
    for (int layer = 0; layer < 4; layer++)
        for (int b = 0; b < cfg->resnet_layers[layer]; b++) {
            int planes = w << layer, stride = layer > 0 && b == 0 ? 2 : 1;
            f += conv_flops(size, in, planes, 1) + conv_flops(size, planes, planes, 3);
            size /= stride;
            f += conv_flops(size, planes, 4 * planes, 1);
            if (b == 0)
                f += conv_flops(size, in, 4 * planes, 1);
            in = 4 * planes;
        }
    double tokens = (double)size * size + 1, c = in;
    return f + 2.0 * 2 * tokens * c * c + 2.0 * c * c + 2.0 * 2 * tokens * c + 2.0 * c * cfg->embed_dim;
}

double bench_image_gemms(const bench_model_cfg *cfg, const bench_weights *w, bench_scratch *s, int n)
{
    if (cfg->resnet_width)
        return n * resnet_flops(cfg);
    run r = {w && s, 0.0};
    const bench_tower_weights *tw = w ? &w->vision : NULL;
    if (!r.execute)
        tw = NULL, s = NULL;
    int grid = cfg->image_size / cfg->patch_size, tokens = grid * grid + 1, width = cfg->vision.width;
    int patch_len = 3 * cfg->patch_size * cfg->patch_size;
    current_op = BENCH_OP_PATCH;
    /* patch embedding: a convolution with stride = kernel, as a GEMM over unfolded patches */
    linear(&r, tw ? tw->patch : NULL, 0, n * grid * grid, width, patch_len, s ? s->input : NULL,
           s ? s->output : NULL);
    int *start = malloc((size_t)(n > 0 ? n : 1) * sizeof *start), *len = malloc((size_t)(n > 0 ? n : 1) * sizeof *len);
    if (!start || !len) {
        free(start);
        free(len);
        return NAN;
    }
    for (int i = 0; i < n; i++)
        start[i] = i * tokens, len[i] = tokens;
    transformer(&r, &cfg->vision, tw, s, n * tokens, start, len, n);
    /* projection of the class tokens */
    current_op = BENCH_OP_PROJ;
    linear(&r, tw ? tw->projection : NULL, 0, n, cfg->embed_dim, width, s ? s->normed : NULL, s ? s->output : NULL);
    free(start);
    free(len);
    return r.flops;
}

double bench_text_gemms(const bench_model_cfg *cfg, const bench_weights *w, bench_scratch *s, const int *lengths,
                        int n)
{
    run r = {w && s, 0.0};
    const bench_tower_weights *tw = w ? &w->text : NULL;
    if (!r.execute)
        tw = NULL, s = NULL;
    int *start = malloc((size_t)(n > 0 ? n : 1) * sizeof *start);
    if (!start)
        return NAN;
    int rows = 0;
    for (int i = 0; i < n; i++)
        start[i] = rows, rows += lengths[i];
    /* token embedding is a gather, not a GEMM; texts are packed, each up to its end token */
    transformer(&r, &cfg->text, tw, s, rows, start, lengths, n);
    current_op = BENCH_OP_PROJ;
    linear(&r, tw ? tw->projection : NULL, 0, n, cfg->embed_dim, cfg->text.width, s ? s->normed : NULL,
           s ? s->output : NULL);
    free(start);
    return r.flops;
}
