/* --engine auto|cblas|onednn and --precision f32|bf16, as the tools take
 * them (lclip_options.engine / precision). Header-only: the tools are one
 * file each. */
#ifndef CLIP_TOOLS_ENGINE_FLAGS_H
#define CLIP_TOOLS_ENGINE_FLAGS_H

#include <string.h>

#include "libclip.h"

/* 0 and *engine set, or -1 for a word that names no engine. */
static inline int parse_engine(const char *word, int *engine)
{
    static const char *const names[] = {"auto", "cblas", "onednn"}; /* LCLIP_ENGINE_* order */
    for (int i = 0; i < 3; i++)
        if (strcmp(word, names[i]) == 0)
            return *engine = i, 0;
    return -1;
}

static inline int parse_precision(const char *word, int *precision)
{
    if (strcmp(word, "f32") == 0)
        return *precision = LCLIP_PRECISION_F32, 0;
    if (strcmp(word, "bf16") == 0)
        return *precision = LCLIP_PRECISION_BF16, 0;
    return -1;
}

#define ENGINE_FLAGS_USAGE                                                                          \
    "  --engine auto|cblas|onednn  what runs the matrix products (default auto: oneDNN if built in)\n" \
    "  --precision f32|bf16        bf16: half the weight memory and about twice the speed on CPUs\n"   \
    "                              with AVX512-BF16 or AMX, to a cosine of 0.9999 (default f32)\n"

#endif
