/* The text tower's hyperparameters. */
#ifndef LCLIP_TEXT_TEXT_CONFIG_H
#define LCLIP_TEXT_TEXT_CONFIG_H

#include "transformer/weights.h"

typedef struct lclip_text_config {
    lclip_transformer_config tf;
    int vocab_size, context_length;
} lclip_text_config;

#endif
