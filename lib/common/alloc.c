#include "common/alloc.h"

#include <stdlib.h>
#include <string.h>

void *lclip_malloc(size_t size)
{
    return malloc(size ? size : 1);
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

void lclip_free(void *ptr)
{
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
