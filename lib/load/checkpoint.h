/* Which files make up a checkpoint: resolves the user's model_path (an HF
 * directory, an open_clip directory, a .safetensors file, or the index of a
 * sharded checkpoint) to the weights and the config files beside them. */
#ifndef LCLIP_LOAD_CHECKPOINT_H
#define LCLIP_LOAD_CHECKPOINT_H

#include "libclip.h"

typedef struct lclip_checkpoint_files {
    char *directory;    /* where the weights live */
    char *weights;      /* the .safetensors file, or the index when sharded */
    int sharded;        /* weights is a model.safetensors.index.json (load/sharded.h) */
    char *hf_config;    /* config.json beside the weights, or NULL */
    char *preprocessor; /* preprocessor_config.json beside the weights, or NULL */
    char *open_clip_config; /* open_clip_config.json beside the weights, or NULL */
} lclip_checkpoint_files;

lclip_status lclip_checkpoint_resolve(const char *model_path, lclip_checkpoint_files *files);
void lclip_checkpoint_files_free(lclip_checkpoint_files *files);

#endif
