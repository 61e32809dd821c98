/* The one internal description of a loaded CLIP model, whatever layout it
 * came from. Weights are float32, row-major, with every linear layer stored
 * as [out_features][in_features] (y = x W^T + b) and attention as separate
 * q/k/v projections: OpenAI's fused in_proj is split by row blocks (no copy)
 * and OpenAI's [in][out] projections are transposed once at load. Pointers
 * refer either into the read-only mapping or to buffers the model owns. */
#ifndef LCLIP_LOAD_MODEL_H
#define LCLIP_LOAD_MODEL_H

#include "common/options.h"
#include "load/config.h"
#include "load/safetensors.h"

typedef struct lclip_linear {
    const float *weight; /* [out][in] */
    const float *bias;   /* [out], or NULL */
    int out, in;
} lclip_linear;

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
} lclip_transformer_weights;

typedef struct lclip_vision_tower {
    lclip_vision_config cfg;
    const float *patch_weight;       /* [width][3][patch][patch], the conv kernel */
    const float *class_embedding;    /* [width] */
    const float *position_embedding; /* [grid*grid + 1][width], row 0 = class token */
    lclip_layer_norm ln_pre, ln_post;
    lclip_transformer_weights transformer;
    lclip_linear projection; /* [embed_dim][width], no bias */
} lclip_vision_tower;

typedef struct lclip_text_tower {
    lclip_text_config cfg;
    const float *token_embedding;    /* [vocab][width] */
    const float *position_embedding; /* [context][width] */
    lclip_transformer_weights transformer;
    lclip_layer_norm ln_final;
    lclip_linear projection; /* [embed_dim][width], no bias */
} lclip_text_tower;

typedef enum lclip_layout {
    LCLIP_LAYOUT_HF,    /* transformers' CLIPModel names */
    LCLIP_LAYOUT_OPENAI /* OpenAI / open_clip state-dict names */
} lclip_layout;

typedef struct lclip_owned_buffer lclip_owned_buffer;

typedef struct lclip_model {
    lclip_options options; /* resolved; options.vocab_path points at vocab_path below */
    char *vocab_path;      /* the caller's vocab_path, copied */
    lclip_layout layout;
    char *directory;       /* holds the weights, and tokenizer files if any */
    lclip_safetensors *weights;
    lclip_owned_buffer *owned; /* converted or transposed tensors */
    uint64_t converted_bytes;  /* of owned: F32 made from F16/BF16 tensors */
    lclip_clip_config config;
    unsigned towers;       /* LCLIP_TOWER_* bits that were loaded */
    float logit_scale;     /* exp() of the stored value */
    lclip_vision_tower vision;
    lclip_text_tower text;
} lclip_model;

/* Resolves the caller's options (NULL for defaults) and model_path (see
 * libclip.h for the accepted forms), reads the config, binds and validates
 * the tensors of the requested towers, then applies the thread option.
 * api_name prefixes argument errors. */
lclip_status lclip_model_open(const char *api_name, const char *model_path, const lclip_options *opts,
                              unsigned towers, lclip_model **out);
void lclip_model_close(lclip_model *model);

#endif
