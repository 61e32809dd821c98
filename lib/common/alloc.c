#include "common/alloc.h"

#include "common/pages.h"

#include <stdlib.h>
#include <string.h>

#ifdef LCLIP_FAULT_INJECTION
#include <stdatomic.h>

static _Thread_local uint64_t fault_fail_at;
static _Thread_local lclip_fault_stats fault_stats;
static atomic_llong fault_live_blocks;

/* The process-wide walk: one count over all threads. */
static atomic_int fault_process_armed;
static atomic_ullong fault_process_count, fault_process_fail_at;
static atomic_int fault_process_injected;

void lclip_fault_arm(uint64_t fail_at)
{
    atomic_store(&fault_process_armed, 0);
    fault_fail_at = fail_at;
    memset(&fault_stats, 0, sizeof fault_stats);
}

void lclip_fault_arm_process(uint64_t fail_at)
{
    atomic_store(&fault_process_count, 0);
    atomic_store(&fault_process_fail_at, fail_at);
    atomic_store(&fault_process_injected, 0);
    atomic_store(&fault_process_armed, 1);
}

lclip_fault_stats lclip_fault_stats_get(void)
{
    if (!atomic_load(&fault_process_armed))
        return fault_stats;
    lclip_fault_stats process = {atomic_load(&fault_process_count), 0, atomic_load(&fault_process_injected)};
    return process;
}

long long lclip_fault_live_blocks(void)
{
    return atomic_load(&fault_live_blocks);
}

/* 1 when this request is the one to fail. */
static int fault_should_fail(size_t size)
{
    if (atomic_load(&fault_process_armed)) {
        uint64_t n = atomic_fetch_add(&fault_process_count, 1) + 1;
        if (n != atomic_load(&fault_process_fail_at))
            return 0;
        atomic_store(&fault_process_injected, 1);
        return 1;
    }
    fault_stats.allocations++;
    if (size > fault_stats.largest)
        fault_stats.largest = size;
    if (fault_fail_at != 0 && fault_stats.allocations == fault_fail_at) {
        fault_stats.injected = 1;
        return 1;
    }
    return 0;
}
#endif

void *lclip_malloc(size_t size)
{
#ifdef LCLIP_FAULT_INJECTION
    if (fault_should_fail(size))
        return NULL;
    void *p = malloc(size ? size : 1);
    if (p)
        atomic_fetch_add(&fault_live_blocks, 1);
    return p;
#else
    return malloc(size ? size : 1);
#endif
}

void *lclip_calloc(size_t count, size_t size)
{
    size_t total;
    if (!lclip_mul_size(count, size, &total))
        return NULL;
    void *p = lclip_malloc(total);
    if (p)
        memset(p, 0, total);
    return p;
}

void *lclip_malloc_array(size_t count, size_t size)
{
    size_t total;
    if (!lclip_mul_size(count, size, &total))
        return NULL;
    return lclip_malloc(total);
}

/* Smaller blocks come from the heap's reused pages, where populating only
 * costs a system call. */
#define SCRATCH_POPULATE_MIN ((size_t)1 << 20)

void *lclip_malloc_scratch(size_t count, size_t size)
{
    void *p = lclip_malloc_array(count, size);
    if (p && count * size >= SCRATCH_POPULATE_MIN) /* no overflow: the block exists */
        lclip_pages_populate_write(p, count * size);
    return p;
}

void lclip_free(void *ptr)
{
#ifdef LCLIP_FAULT_INJECTION
    if (ptr)
        atomic_fetch_sub(&fault_live_blocks, 1);
#endif
    free(ptr);
}

char *lclip_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *copy = lclip_malloc(n);
    if (copy)
        memcpy(copy, s, n);
    return copy;
}
