/* File access, the OS layer for files: memory mapping for weights (shared
 * page cache, zero copy), whole-file reads for small JSON and text files,
 * and whole-file writes that replace a file in one step (file_write.c). */
#ifndef LCLIP_COMMON_FILE_H
#define LCLIP_COMMON_FILE_H

#include <stddef.h>

#include "libclip.h"

typedef struct lclip_mapped_file {
    const unsigned char *data;
    size_t size;
    int is_mapping; /* 1: munmap on close; 0: heap copy (platforms without mmap) */
} lclip_mapped_file;

/* Maps path read-only. An empty file is LCLIP_E_FORMAT. */
lclip_status lclip_map_file(const char *path, lclip_mapped_file *out);
void lclip_unmap_file(lclip_mapped_file *file);
/* Gives the pages of [addr, addr + len) back to the OS, where they lie in
 * file's mapping (a tensor packed elsewhere): reading them again would map
 * them in again from the file, so this only saves memory. */
void lclip_mapped_release(const lclip_mapped_file *file, const void *addr, size_t len);

/* Reads a whole file of at most max_bytes into a NUL-terminated heap buffer
 * (free with lclip_free). Larger files are LCLIP_E_TOO_LARGE. */
lclip_status lclip_read_file(const char *path, size_t max_bytes, char **out, size_t *out_len);

/* Writes data[size] to a temporary file beside path and renames it over
 * path: path holds either its old content or all of data, never a part;
 * on failure the temporary file is removed. */
lclip_status lclip_write_file_replacing(const char *path, const void *data, size_t size);

/* 1 if path names an existing directory / regular file. */
int lclip_is_directory(const char *path);
int lclip_is_regular_file(const char *path);

/* "dir/name" in a new heap string (NULL on allocation failure). */
char *lclip_path_join(const char *dir, const char *name);
/* The directory part of path ("." when there is none), in a new heap string. */
char *lclip_path_dirname(const char *path);

#endif
