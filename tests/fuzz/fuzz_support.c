#if !defined(_WIN32)
#define _POSIX_C_SOURCE 200809L
#endif

#include "fuzz_support.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "load/safetensors.h"

#ifndef LIBCLIP_FIXTURES_DIR
#define LIBCLIP_FIXTURES_DIR ""
#endif

static char scratch[256];
static char path_buf[1024];

_Noreturn void fuzz_violation(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: contract violated: %s (last error: %s)\n", file, line, what, lclip_last_error());
    abort();
}

void fuzz_check_status(lclip_status s)
{
    /* LCLIP_FUZZ_VERBOSE=1 shows what each input ends in (for corpus work). */
    static int verbose = -1;
    if (verbose < 0)
        verbose = getenv("LCLIP_FUZZ_VERBOSE") != NULL;
    FUZZ_REQUIRE(s >= LCLIP_OK && s <= LCLIP_E_TOO_LARGE);
    if (s != LCLIP_OK)
        FUZZ_REQUIRE(lclip_last_error()[0] != '\0');
    if (verbose)
        fprintf(stderr, "  %s%s%s\n", lclip_strerror(s), s ? ": " : "", s ? lclip_last_error() : "");
}

static void remove_scratch(void)
{
    DIR *d = opendir(scratch);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(path_buf, sizeof path_buf, "%s/%s", scratch, e->d_name);
        unlink(path_buf);
    }
    closedir(d);
    rmdir(scratch);
}

const char *fuzz_scratch_dir(void)
{
    if (scratch[0])
        return scratch;
    /* /dev/shm keeps the per-input file writes off the disk. */
    const char *base = getenv("TMPDIR");
    struct stat st;
    if (!base || !*base)
        base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
    snprintf(scratch, sizeof scratch, "%s/libclip-fuzz-XXXXXX", base);
    if (!mkdtemp(scratch)) {
        perror("mkdtemp");
        abort();
    }
    atexit(remove_scratch);
    return scratch;
}

const char *fuzz_scratch_path(const char *name)
{
    snprintf(path_buf, sizeof path_buf, "%s/%s", fuzz_scratch_dir(), name);
    return path_buf;
}

void fuzz_write_file(const char *path, const void *data, size_t size)
{
    if (!data) {
        unlink(path);
        return;
    }
    FILE *f = fopen(path, "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

/* The reference's bytes_to_unicode order: printable Latin-1 bytes first. */
static int is_printable_byte(int b)
{
    return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

/* UTF-8 of the symbol standing for byte b. */
static void byte_symbol(int b, char out[4])
{
    int code = b, extra = 0;
    if (!is_printable_byte(b)) {
        for (int i = 0; i < b; i++)
            extra += !is_printable_byte(i);
        code = 256 + extra;
    }
    memset(out, 0, 4);
    if (code < 0x80) {
        out[0] = (char)code;
    } else {
        out[0] = (char)(0xC0 | (code >> 6));
        out[1] = (char)(0x80 | (code & 0x3F));
    }
}

/* 48894 merges, as the CLIP vocabulary has: every pair of the 94 ASCII
 * symbols inside a word and at its end (17672), then letter triples until
 * the count is reached, so that real words exercise multi-step BPE. */
static void write_synthetic_vocab(const char *path)
{
    gzFile gz = gzopen(path, "wb");
    if (!gz)
        abort();
    gzputs(gz, "#version: synthetic libclip fuzz vocabulary\n");
    long count = 0;
    const long wanted = 48894;
    char a[4], b[4];
    for (int x = '!'; x <= '~' && count < wanted; x++)
        for (int y = '!'; y <= '~' && count < wanted; y++) {
            byte_symbol(x, a);
            byte_symbol(y, b);
            gzprintf(gz, "%s %s\n", a, b);
            gzprintf(gz, "%s %s</w>\n", a, b);
            count += 2;
        }
    for (int x = 'a'; x <= 'z' && count < wanted; x++)
        for (int y = 'a'; y <= 'z' && count < wanted; y++)
            for (int z = 'a'; z <= 'z' && count < wanted; z++) {
                gzprintf(gz, "%c%c %c\n", x, y, z);
                count++;
                if (count < wanted) {
                    gzprintf(gz, "%c%c %c</w>\n", x, y, z);
                    count++;
                }
            }
    if (count != wanted || gzclose(gz) != Z_OK)
        abort();
}

const char *fuzz_vocab_path(void)
{
    static char path[1024];
    if (path[0])
        return path;
    const char *env = getenv("LCLIP_FUZZ_VOCAB");
    if (env && *env) {
        snprintf(path, sizeof path, "%s", env);
        return path;
    }
    snprintf(path, sizeof path, "%s/bpe_simple_vocab_16e6.txt.gz", LIBCLIP_FIXTURES_DIR);
    if (LIBCLIP_FIXTURES_DIR[0] && access(path, R_OK) == 0)
        return path;
    snprintf(path, sizeof path, "%s", fuzz_scratch_path("synthetic_vocab.txt.gz"));
    write_synthetic_vocab(path);
    return path;
}

void fuzz_check_table_entry(const lclip_safetensors *st, size_t i)
{
    const lclip_tensor_info *t = &st->tensors[i];
    FUZZ_REQUIRE(t->n_bytes == t->n_elements * lclip_dtype_size(t->dtype));
    if (i > 0)
        FUZZ_REQUIRE(strcmp(st->tensors[i - 1].name, t->name) < 0);
    FUZZ_REQUIRE(lclip_safetensors_find(st, t->name) == t);
    volatile unsigned char sink = 0;
    if (t->n_bytes) {
        sink ^= t->data[0];
        sink ^= t->data[t->n_bytes - 1];
    }
    (void)sink;
}
