#ifndef LCLIP_TRANSFORMER_ACTIVATION_H
#define LCLIP_TRANSFORMER_ACTIVATION_H

#include <stddef.h>

#include "transformer/weights.h"

/* In place over n floats: QuickGELU, the exact (erf) GELU or ReLU. */
void lclip_activation_apply(lclip_activation act, float *x, size_t n);

#endif
