/* The one internal description of a loaded CLIP model, whatever layout it
 * came from: its config and the towers (compute-layer structs) bound to its
 * tensors. Attention is stored as separate q/k/v projections: OpenAI's fused
 * in_proj is split by row blocks (no copy) and OpenAI's [in][out]
 * projections are transposed once at load. Pointers refer either into the
 * read-only mapping or to buffers the model owns. */
#ifndef LCLIP_LOAD_MODEL_H
#define LCLIP_LOAD_MODEL_H

#include "common/options.h"
#include "gemm/gemm.h"
#include "image/image_tower.h"
#include "load/config.h"
#include "load/safetensors.h"
#include "text/text_tower.h"

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
    lclip_gemm *gemm;          /* the engine of the linear layers, holding their packed weights */
    uint64_t converted_bytes;  /* F32 made from F16/BF16 tensors at open (packed ones since freed) */
    lclip_clip_config config;
    unsigned towers;       /* LCLIP_TOWER_* bits that were loaded */
    float logit_scale;     /* exp() of the stored value */
    lclip_image_tower vision;
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
