#if !defined(_WIN32)
#define _POSIX_C_SOURCE 200809L
#endif

#include "common/file.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/pages.h"

#if !defined(_WIN32)
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#define LCLIP_HAVE_MMAP 1
#endif

static lclip_status io_error(const char *path, const char *what)
{
    char reason[128] = "unknown error";
#if defined(_WIN32)
    strerror_s(reason, sizeof reason, errno);
#else
    strerror_r(errno, reason, sizeof reason); /* strerror() may share one buffer across threads */
#endif
    return lclip_fail(LCLIP_E_IO, "%s: %s: %s", path, what, reason);
}

int lclip_is_directory(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int lclip_is_regular_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

#ifdef LCLIP_HAVE_MMAP
lclip_status lclip_map_file(const char *path, lclip_mapped_file *out)
{
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return io_error(path, "cannot open");
    struct stat st;
    if (fstat(fd, &st) != 0) {
        lclip_status s = io_error(path, "cannot stat");
        close(fd);
        return s;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return lclip_fail(LCLIP_E_IO, "%s: not a regular file", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return lclip_fail(LCLIP_E_FORMAT, "%s: the file is empty", path);
    }
    if ((unsigned long long)st.st_size > SIZE_MAX) {
        close(fd);
        return lclip_fail(LCLIP_E_TOO_LARGE, "%s: file too large for this address space", path);
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    lclip_status s = p == MAP_FAILED ? io_error(path, "cannot map") : LCLIP_OK;
    close(fd); /* the mapping keeps its own reference */
    if (s != LCLIP_OK)
        return s;
    out->data = p;
    out->size = (size_t)st.st_size;
    out->is_mapping = 1;
    return LCLIP_OK;
}
#else
lclip_status lclip_map_file(const char *path, lclip_mapped_file *out)
{
    char *buf;
    size_t len;
    memset(out, 0, sizeof *out);
    lclip_status s = lclip_read_file(path, SIZE_MAX - 1, &buf, &len);
    if (s != LCLIP_OK)
        return s;
    if (len == 0) {
        lclip_free(buf);
        return lclip_fail(LCLIP_E_FORMAT, "%s: the file is empty", path);
    }
    out->data = (const unsigned char *)buf;
    out->size = len;
    return LCLIP_OK;
}
#endif

void lclip_mapped_release(const lclip_mapped_file *file, const void *addr, size_t len)
{
    const unsigned char *begin = addr, *end = begin + len;
    if (file->is_mapping && begin >= file->data && end <= file->data + file->size)
        lclip_pages_discard(addr, len); /* a heap copy is not the OS's to take back */
}

void lclip_unmap_file(lclip_mapped_file *file)
{
    if (!file->data)
        return;
#ifdef LCLIP_HAVE_MMAP
    if (file->is_mapping)
        munmap((void *)file->data, file->size);
    else
#endif
        lclip_free((void *)file->data);
    memset(file, 0, sizeof *file);
}

lclip_status lclip_read_file(const char *path, size_t max_bytes, char **out, size_t *out_len)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return io_error(path, "cannot open");
    /* Devices and FIFOs could be endless or block forever. */
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return lclip_fail(LCLIP_E_IO, "%s: not a regular file", path);
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    lclip_status s = LCLIP_OK;
    for (;;) {
        if (cap - len < 4096) {
            size_t new_cap = cap ? cap * 2 : 65536;
            char *grown = lclip_malloc(new_cap + 1);
            if (!grown) {
                s = lclip_fail(LCLIP_E_NOMEM, "%s: out of memory reading the file", path);
                break;
            }
            if (len)
                memcpy(grown, buf, len);
            lclip_free(buf);
            buf = grown;
            cap = new_cap;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (len > max_bytes) {
            s = lclip_fail(LCLIP_E_TOO_LARGE, "%s: larger than the %zu-byte limit for this kind of file",
                           path, max_bytes);
            break;
        }
        if (n == 0) {
            if (ferror(f))
                s = io_error(path, "read failed");
            break;
        }
    }
    fclose(f);
    if (s != LCLIP_OK) {
        lclip_free(buf);
        return s;
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return LCLIP_OK;
}

char *lclip_path_join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = lclip_malloc(a + b + 2);
    if (!p)
        return NULL;
    memcpy(p, dir, a);
    size_t at = a;
    if (a && dir[a - 1] != '/')
        p[at++] = '/';
    memcpy(p + at, name, b + 1);
    return p;
}

char *lclip_path_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return lclip_strdup(".");
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *p = lclip_malloc(n + 1);
    if (!p)
        return NULL;
    memcpy(p, path, n);
    p[n] = '\0';
    return p;
}
