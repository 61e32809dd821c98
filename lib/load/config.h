/* Hyperparameters of a CLIP model, whatever layout they came from: a
 * Hugging Face config.json (+ preprocessor_config.json), an open_clip model
 * config, or inference from tensor shapes as OpenAI's build_model does. */
#ifndef LCLIP_LOAD_CONFIG_H
#define LCLIP_LOAD_CONFIG_H

#include "image/vision_config.h"
#include "libclip.h"
#include "load/safetensors.h"
#include "text/text_config.h"

typedef struct lclip_clip_config {
    int embed_dim;
    lclip_vision_config vision;
    lclip_text_config text;
} lclip_clip_config;

/* Which towers a caller needs: only those are read and validated. */
enum { LCLIP_TOWER_VISION = 1, LCLIP_TOWER_TEXT = 2 };

/* OpenAI ViT-B/32's values and CLIP's normalisation: the defaults both
 * transformers' CLIPConfig and open_clip fall back on. */
void lclip_config_defaults(lclip_clip_config *cfg);

/* preprocessor_path may be NULL (CLIP's preprocessing defaults). */
lclip_status lclip_config_from_hf(const char *config_path, const char *preprocessor_path,
                                  lclip_clip_config *cfg);
lclip_status lclip_config_from_open_clip(const char *config_path, lclip_clip_config *cfg);
/* OpenAI's build_model: sizes from tensor shapes, heads = width / 64. */
lclip_status lclip_config_infer_openai(const lclip_safetensors *st, unsigned towers,
                                       lclip_clip_config *cfg);

/* Range checks of the towers asked for; label names the source in messages. */
lclip_status lclip_config_validate(const lclip_clip_config *cfg, unsigned towers, const char *label);

#endif
