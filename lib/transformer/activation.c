#include "transformer/activation.h"

#include <math.h>

#include "transformer/fast_exp.h"

void lclip_activation_apply(lclip_activation act, float *x, size_t n)
{
    if (act == LCLIP_ACT_QUICK_GELU) {
        for (size_t i = 0; i < n; i++)
            x[i] = x[i] / (1.0f + lclip_fast_exp(-1.702f * x[i])); /* x * sigmoid(1.702 x) */
    } else {
        for (size_t i = 0; i < n; i++)
            x[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
    }
}
