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
/* A scratch buffer of count * size bytes that is about to be written in
 * full (activations): lclip_malloc_array, with a large block's pages mapped
 * in at once rather than fault by fault (common/pages.h). */
void *lclip_malloc_scratch(size_t count, size_t size);
char *lclip_strdup(const char *s);

#ifdef LCLIP_FAULT_INJECTION
/* Test-only allocation accounting and fault injection, compiled only when
 * CMake's LIBCLIP_FAULT_INJECTION is ON (release builds keep no global
 * state). Symbols are hidden: INTERNAL tests reach them through the objects.
 *
 * Counting and the armed failure are per thread by default, so other
 * threads' allocations never shift the walk; the process-wide mode counts all
 * threads' allocations as one sequence, for calls that allocate on helper
 * threads too. The live-block count is always process-wide, because a block
 * may be freed on another thread than the one that made it. */
typedef struct lclip_fault_stats {
    uint64_t allocations;    /* attempts on this thread (or all, process-wide) since arming */
    size_t largest;          /* largest single request since arming (per-thread mode only) */
    int injected;            /* the armed failure has happened */
} lclip_fault_stats;

/* Restarts this thread's count and leaves the process-wide mode; the
 * fail_at-th allocation from now (1-based) returns NULL, once. 0 only counts. */
void lclip_fault_arm(uint64_t fail_at);
/* The same over every thread's allocations, until lclip_fault_arm is called. */
void lclip_fault_arm_process(uint64_t fail_at);
lclip_fault_stats lclip_fault_stats_get(void);
/* Blocks handed out by lclip_malloc and not yet passed to lclip_free, all threads. */
long long lclip_fault_live_blocks(void);
#endif

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
