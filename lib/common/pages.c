#if !defined(_WIN32)
#define _DEFAULT_SOURCE /* madvise */
#endif

#include "common/pages.h"

#include <stdint.h>

#if !defined(_WIN32)
#include <sys/mman.h>
#include <unistd.h>
#define LCLIP_HAVE_MADVISE 1
#endif
#if defined(__linux__)
/* Linux's values (since 5.14), for C libraries whose headers predate them;
 * an older kernel refuses them with EINVAL, which is ignored. */
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#endif
/* 0: no such advice here. */
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 0
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 0
#endif
#ifndef MADV_DONTNEED
#define MADV_DONTNEED 0
#endif

/* advice on the whole pages inside [addr, addr + len) only: a heap block's
 * or a tensor's first and last pages may belong to its neighbours too. */
static void advise_pages(uintptr_t addr, size_t len, int advice)
{
#ifdef LCLIP_HAVE_MADVISE
    long page = sysconf(_SC_PAGESIZE);
    if (advice == 0 || page <= 0 || !addr)
        return;
    uintptr_t first = (addr + (uintptr_t)page - 1) / (uintptr_t)page * (uintptr_t)page;
    uintptr_t last = (addr + len) / (uintptr_t)page * (uintptr_t)page;
    if (first < last)
        (void)madvise((void *)first, last - first, advice);
#else
    (void)addr;
    (void)len;
    (void)advice;
#endif
}

void lclip_pages_populate_write(void *addr, size_t len)
{
    advise_pages((uintptr_t)addr, len, MADV_POPULATE_WRITE);
}

void lclip_pages_populate_read(const void *addr, size_t len)
{
    advise_pages((uintptr_t)addr, len, MADV_POPULATE_READ);
}

void lclip_pages_discard(const void *addr, size_t len)
{
    advise_pages((uintptr_t)addr, len, MADV_DONTNEED);
}
