/* Writing a whole file so that readers never see a partial one: the data go
 * to a new temporary file beside the target, which is renamed over it only
 * when complete. */
#if !defined(_WIN32)
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/file.h"

#if !defined(_WIN32)
#include <fcntl.h>
#include <unistd.h>
#endif

static lclip_status write_error(const char *path, const char *what, int err)
{
    char reason[128] = "unknown error";
#if defined(_WIN32)
    strerror_s(reason, sizeof reason, err);
#else
    strerror_r(err, reason, sizeof reason);
#endif
    return lclip_fail(LCLIP_E_IO, "%s: %s: %s", path, what, reason);
}

#if !defined(_WIN32)
/* Creates "path.tmp-<pid>-<nanoseconds>" exclusively (mode 0666 less the
 * umask, as any new file); *tmp_path receives its name. */
static lclip_status create_temporary(const char *path, char **tmp_path, int *fd)
{
    size_t size = strlen(path) + 64;
    char *name = lclip_malloc(size);
    if (!name)
        return lclip_fail(LCLIP_E_NOMEM, "%s: out of memory", path);
    for (int attempt = 0; attempt < 100; attempt++) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        snprintf(name, size, "%s.tmp-%ld-%ld%02d", path, (long)getpid(), (long)now.tv_nsec, attempt);
        *fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (*fd >= 0) {
            *tmp_path = name;
            return LCLIP_OK;
        }
        if (errno != EEXIST)
            break;
    }
    lclip_status s = write_error(path, "cannot create a temporary file beside it", errno);
    lclip_free(name);
    return s;
}

static int write_all(int fd, const unsigned char *data, size_t size)
{
    while (size > 0) {
        ssize_t n = write(fd, data, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        size -= (size_t)n;
    }
    return 0;
}

lclip_status lclip_write_file_replacing(const char *path, const void *data, size_t size)
{
    char *tmp_path = NULL;
    int fd = -1;
    lclip_status s = create_temporary(path, &tmp_path, &fd);
    if (s != LCLIP_OK)
        return s;
    if (write_all(fd, data, size) != 0)
        s = write_error(path, "write failed", errno);
    else if (fsync(fd) != 0) /* the data on disk before the name points at it */
        s = write_error(path, "cannot flush to disk", errno);
    if (close(fd) != 0 && s == LCLIP_OK)
        s = write_error(path, "write failed", errno);
    if (s == LCLIP_OK && rename(tmp_path, path) != 0)
        s = write_error(path, "cannot rename the temporary file over it", errno);
    if (s != LCLIP_OK)
        unlink(tmp_path);
    lclip_free(tmp_path);
    return s;
}
#else
lclip_status lclip_write_file_replacing(const char *path, const void *data, size_t size)
{
    size_t name_size = strlen(path) + 8;
    char *tmp_path = lclip_malloc(name_size);
    if (!tmp_path)
        return lclip_fail(LCLIP_E_NOMEM, "%s: out of memory", path);
    snprintf(tmp_path, name_size, "%s.tmp", path);
    FILE *f = fopen(tmp_path, "wbx");
    lclip_status s = LCLIP_OK;
    if (!f)
        s = write_error(path, "cannot create a temporary file beside it", errno);
    else if (fwrite(data, 1, size, f) != size)
        s = write_error(path, "write failed", errno);
    if (f && fclose(f) != 0 && s == LCLIP_OK)
        s = write_error(path, "write failed", errno);
    if (s == LCLIP_OK && (remove(path), rename(tmp_path, path) != 0))
        s = write_error(path, "cannot rename the temporary file over it", errno);
    if (s != LCLIP_OK && f)
        remove(tmp_path);
    lclip_free(tmp_path);
    return s;
}
#endif
