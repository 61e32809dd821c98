#define _POSIX_C_SOURCE 200809L

#include "fingerprint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum {
    DATA_SAMPLE_BYTES = 64 * 1024,
    MAX_HEADER_BYTES = 100 * 1024 * 1024 /* libclip's default limit */
};

static uint64_t fnv1a(uint64_t hash, const unsigned char *bytes, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        hash ^= bytes[i];
        hash *= 0x100000001b3u;
    }
    return hash;
}

/* Hashes the next `size` bytes of file into *hash; 0 if they are all there. */
static int hash_bytes(FILE *file, uint64_t size, uint64_t *hash)
{
    unsigned char chunk[8192];
    while (size > 0) {
        size_t want = size < sizeof chunk ? (size_t)size : sizeof chunk;
        size_t got = fread(chunk, 1, want, file);
        *hash = fnv1a(*hash, chunk, got);
        if (got < want)
            return -1;
        size -= got;
    }
    return 0;
}

/* The weights file libclip would read for model_path, or NULL. */
static char *weights_file(const char *model_path)
{
    static const char *const names[] = {"model.safetensors", "open_clip_model.safetensors"};
    struct stat st;
    if (stat(model_path, &st) != 0)
        return NULL;
    if (S_ISREG(st.st_mode))
        return strdup(model_path);
    for (size_t i = 0; S_ISDIR(st.st_mode) && i < sizeof names / sizeof names[0]; i++) {
        size_t size = strlen(model_path) + strlen(names[i]) + 2;
        char *path = malloc(size);
        if (!path)
            return NULL;
        snprintf(path, size, "%s/%s", model_path, names[i]);
        struct stat weights;
        if (stat(path, &weights) == 0 && S_ISREG(weights.st_mode))
            return path;
        free(path);
    }
    return NULL;
}

uint64_t model_fingerprint(const char *model_path)
{
    char *path = weights_file(model_path);
    FILE *file = path ? fopen(path, "rb") : NULL;
    free(path);
    if (!file)
        return 0;
    uint64_t hash = 0xcbf29ce484222325u; /* FNV-1a offset basis */
    unsigned char length_bytes[8];
    uint64_t header_length = 0;
    int ok = fread(length_bytes, 1, 8, file) == 8;
    for (int i = 0; ok && i < 8; i++)
        header_length |= (uint64_t)length_bytes[i] << (8 * i);
    ok = ok && header_length <= MAX_HEADER_BYTES;
    if (ok) {
        hash = fnv1a(hash, length_bytes, 8);
        ok = hash_bytes(file, header_length, &hash) == 0;
    }
    if (ok)
        (void)hash_bytes(file, DATA_SAMPLE_BYTES, &hash); /* a smaller file is hashed whole */
    fclose(file);
    return ok && hash != 0 ? hash : 0;
}
