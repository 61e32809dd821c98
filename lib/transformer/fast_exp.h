/* exp(x) in float to about 1 ulp, written so that the compiler vectorises
 * the loops that call it (glibc's expf is a scalar call): x = n ln2 + r with
 * |r| <= ln2/2, e^r by its Taylor series to r^6 (remainder below 2e-7
 * relative), and 2^n written straight into the exponent bits. Arguments are
 * clamped to [-87, 88], where float's exp is finite and normal. */
#ifndef LCLIP_TRANSFORMER_FAST_EXP_H
#define LCLIP_TRANSFORMER_FAST_EXP_H

#include <math.h>
#include <stdint.h>
#include <string.h>

static inline float lclip_fast_exp(float x)
{
    const float round_magic = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    x = fminf(fmaxf(x, -87.0f), 88.0f);
    float n = (x * 1.44269504088896341f + round_magic) - round_magic;
    float r = (x - n * 0.693145751953125f) - n * 1.42860682030941723e-6f; /* ln2 split hi + lo */
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720))))));
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

#endif
