#include "transformer/activation.h"

#include <math.h>

#include "common/multiversion.h"
#include "transformer/fast_exp.h"

/* x * sigmoid(1.702 x), OpenAI's approximation. */
static inline float quick_gelu(float x)
{
    return x / (1.0f + lclip_fast_exp(-1.702f * x));
}

/* The exact GELU, x/2 (1 + erf(x / sqrt 2)) = x/2 erfc(-x / sqrt 2), without
 * libm's scalar erff: erfc(z) for z >= 0 is the Chebyshev fit
 * t exp(-z^2 + P(t)), t = 1 / (1 + z/2), fractional error below 1.2e-7
 * (Numerical Recipes' erfcc); erfc(-z) = 2 - erfc(z). Max abs error against
 * a double-precision GELU: 4e-7. */
static inline float gelu(float x)
{
    float z = fabsf(x) * 0.70710678118654752f;
    float t = 1.0f / (1.0f + 0.5f * z);
    float p = -1.26551223f +
              t * (1.00002368f +
                   t * (0.37409196f +
                        t * (0.09678418f +
                             t * (-0.18628806f +
                                  t * (0.27886807f +
                                       t * (-1.13520398f + t * (1.48851587f + t * (-0.82215223f + t * 0.17087277f))))))));
    float tail = t * lclip_fast_exp(p - z * z); /* erfc(|x| / sqrt 2) */
    return 0.5f * x * (x > 0.0f ? 2.0f - tail : tail);
}

/* Multiversioned functions stay static: clang 14 cannot call another
 * file's (see common/multiversion.h). */
LCLIP_MULTIVERSION static void apply(lclip_activation act, float *x, size_t n)
{
    if (act == LCLIP_ACT_QUICK_GELU) {
        for (size_t i = 0; i < n; i++)
            x[i] = quick_gelu(x[i]);
    } else if (act == LCLIP_ACT_RELU) {
        for (size_t i = 0; i < n; i++)
            x[i] = x[i] > 0.0f ? x[i] : 0.0f;
    } else {
        for (size_t i = 0; i < n; i++)
            x[i] = gelu(x[i]);
    }
}

void lclip_activation_apply(lclip_activation act, float *x, size_t n)
{
    apply(act, x, n);
}
