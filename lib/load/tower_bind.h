/* Name mapping: binds the tensors of the vision and text towers from either
 * naming scheme into the internal description (load/model.h). */
#ifndef LCLIP_LOAD_TOWER_BIND_H
#define LCLIP_LOAD_TOWER_BIND_H

#include "load/model.h"

/* HF when the file uses transformers' names, OpenAI otherwise; FORMAT when it
 * holds neither. */
lclip_status lclip_detect_layout(const lclip_safetensors *st, lclip_layout *layout);

/* The image tower the config names (ViT or ResNet) and its projection. */
lclip_status lclip_bind_vision_tower(lclip_model *model);
/* OpenAI's ModifiedResNet (load/resnet_bind.c). */
lclip_status lclip_bind_resnet_tower(lclip_model *model);
lclip_status lclip_bind_text_tower(lclip_model *model);
/* exp() of the stored logit_scale, checked to be finite. */
lclip_status lclip_bind_logit_scale(lclip_model *model);

#endif
