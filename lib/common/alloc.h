/* All heap allocation goes through these wrappers, so that a failing
 * allocation can be injected in tests and overflow is checked in one place. */
#ifndef LCLIP_COMMON_ALLOC_H
#define LCLIP_COMMON_ALLOC_H

#include <stddef.h>
#include <stdint.h>

void *lclip_malloc(size_t size);
/* Zeroed; NULL if count * size overflows. */
void *lclip_calloc(size_t count, size_t size);
/* NULL if count * size overflows. */
void *lclip_malloc_array(size_t count, size_t size);
void lclip_free(void *ptr);
char *lclip_strdup(const char *s);

/* *out = a * b; returns 0 on overflow (leaving *out unspecified). */
static inline int lclip_mul_size(size_t a, size_t b, size_t *out)
{
#if defined(__GNUC__) || defined(__clang__)
    return !__builtin_mul_overflow(a, b, out);
#else
    if (a != 0 && b > SIZE_MAX / a)
        return 0;
    *out = a * b;
    return 1;
#endif
}

static inline int lclip_mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
#if defined(__GNUC__) || defined(__clang__)
    return !__builtin_mul_overflow(a, b, out);
#else
    if (a != 0 && b > UINT64_MAX / a)
        return 0;
    *out = a * b;
    return 1;
#endif
}

#endif
