#if !defined(_WIN32)
#define _DEFAULT_SOURCE /* madvise */
#endif

#include "common/pages.h"

#include <stdint.h>

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
/* Linux's values (since 5.14), for C libraries whose headers predate them;
 * an older kernel refuses them with EINVAL, which is ignored. */
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#else
#define MADV_POPULATE_READ 0
#define MADV_POPULATE_WRITE 0
#endif

/* advice on the whole pages inside [addr, addr + len) only: a heap block's
 * first and last pages may belong to its neighbours too. */
static void advise_pages(uintptr_t addr, size_t len, int advice)
{
#if defined(__linux__)
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0 || !addr)
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
