/* What the compute code runs: a transformer's hyperparameters and weights,
 * whatever checkpoint they came from. load/ fills these structs; nothing
 * here knows about files. Weights are float32, row-major, every linear layer
 * [out_features][in_features] (y = x W^T + b). */
#ifndef LCLIP_TRANSFORMER_WEIGHTS_H
#define LCLIP_TRANSFORMER_WEIGHTS_H

#include "gemm/gemm.h" /* lclip_linear */

typedef enum lclip_activation {
    LCLIP_ACT_QUICK_GELU, /* x * sigmoid(1.702 x), OpenAI checkpoints */
    LCLIP_ACT_GELU,       /* exact erf GELU */
    LCLIP_ACT_RELU        /* max(x, 0): the ResNet image tower */
} lclip_activation;

typedef struct lclip_transformer_config {
    int width, layers, heads, mlp_width;
    float ln_eps;
    lclip_activation act;
} lclip_transformer_config;

typedef struct lclip_layer_norm {
    const float *gamma, *beta; /* [width] */
} lclip_layer_norm;

typedef struct lclip_block_weights {
    lclip_layer_norm ln1, ln2;
    lclip_linear q, k, v, attn_out;
    lclip_linear fc1, fc2;
} lclip_block_weights;

typedef struct lclip_transformer_weights {
    lclip_transformer_config cfg;
    lclip_block_weights *blocks; /* cfg.layers of them */
    const lclip_gemm *engine;    /* the layers' engine, which also runs attention's products (NULL: the CBLAS) */
} lclip_transformer_weights;

#endif
