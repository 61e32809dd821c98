/* The matrix products of one CLIP encode, derived from the model's config:
 * counted (FLOPs = 2 M N K per GEMM) and, for the sgemm reference, run with
 * cblas_sgemm on exactly the shapes, transposes and leading dimensions that
 * a straightforward CLIP forward pass uses, on the model's own weights. */
#ifndef BENCH_GEMM_MODEL_H
#define BENCH_GEMM_MODEL_H

#include <stddef.h>

typedef struct bench_tower_cfg {
    int width, layers, heads, mlp;
} bench_tower_cfg;

typedef struct bench_model_cfg {
    bench_tower_cfg vision, text;
    int image_size, patch_size, embed_dim, context_length;
    /* An OpenAI ModifiedResNet image tower (resnet_width > 0; vision and
     * patch_size unused): Bottleneck counts per layer and the stem's width. */
    int resnet_layers[4], resnet_width;
} bench_model_cfg;

/* Reads DIR/config.json (transformers' CLIPConfig) or, without one,
 * DIR/open_clip_config.json. 0 on success; otherwise -1 with a message in
 * err. */
int bench_read_config(const char *dir, bench_model_cfg *cfg, char *err, size_t err_size);

/* The weight matrices that enter GEMMs, pointing into the memory-mapped
 * DIR/model.safetensors (float32, HF tensor names). */
typedef struct bench_tower_weights {
    const float **q, **k, **v, **out, **fc1, **fc2; /* one per layer */
    const float *patch;                           /* vision only: [width, 3 P P] */
    const float *projection;                      /* [embed, width] */
} bench_tower_weights;

typedef struct bench_weights {
    void *map;
    size_t map_size;
    bench_tower_weights vision, text;
} bench_weights;

/* The weights file of DIR: model.safetensors or open_clip_model.safetensors. */
const char *bench_weights_name(const char *dir);

/* The sgemm reference reads HF ViT checkpoints only. */
int bench_weights_open(const char *dir, const bench_model_cfg *cfg, bench_weights *w, char *err,
                       size_t err_size);
void bench_weights_close(bench_weights *w);

/* Scratch activations for the reference GEMMs, sized for the largest call. */
typedef struct bench_scratch {
    float *input, *normed, *q, *k, *v, *attended, *hidden, *scores, *output;
} bench_scratch;

int bench_scratch_alloc(bench_scratch *s, size_t rows, int width, int mlp, int longest, size_t input_floats);
void bench_scratch_free(bench_scratch *s);

/* One image encode of n images / one text encode of n texts whose token
 * counts (start to end token) are lengths[0..n-1]. Returns the FLOPs; runs
 * the GEMMs when w and s are not NULL (counting only otherwise). */
double bench_image_gemms(const bench_model_cfg *cfg, const bench_weights *w, bench_scratch *s, int n);
double bench_text_gemms(const bench_model_cfg *cfg, const bench_weights *w, bench_scratch *s,
                        const int *lengths, int n);

/* Per-operation totals of the GEMMs run so far (seconds of cblas_sgemm and
 * FLOPs), accumulated by bench_*_gemms when they execute. */
enum { BENCH_OP_PATCH, BENCH_OP_QKV, BENCH_OP_SCORES, BENCH_OP_PV, BENCH_OP_OUT, BENCH_OP_FC1, BENCH_OP_FC2,
       BENCH_OP_PROJ, BENCH_N_OPS };
extern const char *const bench_op_names[BENCH_N_OPS];
void bench_ops_reset(void);
void bench_ops_get(double seconds[BENCH_N_OPS], double flops[BENCH_N_OPS]);

#endif
