/* dladdr */
#define _GNU_SOURCE

#include "text/builtin_vocab.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__unix__) || defined(__APPLE__)
#include <dlfcn.h>
#define LCLIP_HAVE_DLADDR 1
#endif

#include "common/alloc.h"
#include "common/error.h"
#include "common/file.h"

#define GZ_NAME "bpe_simple_vocab_16e6.txt.gz"

/* *found: the canonical path of dir/GZ_NAME if it is a regular file. */
static lclip_status try_directory(const char *dir, char **found)
{
    char candidate[PATH_MAX], resolved[PATH_MAX];
    int n = snprintf(candidate, sizeof candidate, "%s/%s", dir, GZ_NAME);
    if (n < 0 || (size_t)n >= sizeof candidate || !realpath(candidate, resolved) || !lclip_is_regular_file(resolved))
        return LCLIP_OK;
    *found = lclip_strdup(resolved);
    return *found ? LCLIP_OK : lclip_fail(LCLIP_E_NOMEM, "out of memory");
}

#ifdef LCLIP_HAVE_DLADDR
/* The directory of the file holding this function: libclip.so, or the
 * executable a static libclip was linked into. 0 if the loader cannot say. */
static int own_directory(char dir[PATH_MAX])
{
    Dl_info info;
    if (!dladdr((void *)own_directory, &info) || !info.dli_fname || !realpath(info.dli_fname, dir))
        return 0;
    char *slash = strrchr(dir, '/');
    if (!slash)
        return 0;
    slash[slash == dir] = '\0'; /* "/lib.so" keeps its "/" */
    return 1;
}

/* rel relative to this file's directory. */
static lclip_status try_beside_library(const char *rel, char **found)
{
    char dir[PATH_MAX], joined[PATH_MAX];
    if (!own_directory(dir))
        return LCLIP_OK;
    int n = snprintf(joined, sizeof joined, "%s/%s", dir, rel);
    if (n < 0 || (size_t)n >= sizeof joined)
        return LCLIP_OK;
    return try_directory(joined, found);
}
#endif

lclip_status lclip_builtin_vocab_path(char **out)
{
    *out = NULL;
    lclip_status s = LCLIP_OK;
#ifdef LCLIP_HAVE_DLADDR
#ifdef LCLIP_DATA_FROM_LIBDIR
    s = try_beside_library(LCLIP_DATA_FROM_LIBDIR, out);
#endif
#ifdef LCLIP_DATA_FROM_BUILD_LIBDIR
    if (s == LCLIP_OK && !*out)
        s = try_beside_library(LCLIP_DATA_FROM_BUILD_LIBDIR, out);
#endif
#endif
#ifdef LCLIP_INSTALL_DATA_DIR
    if (s == LCLIP_OK && !*out)
        s = try_directory(LCLIP_INSTALL_DATA_DIR, out);
#endif
    return s;
}
