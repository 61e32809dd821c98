#define _GNU_SOURCE
#include "test_util.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

char *make_temp_dir(void)
{
    const char *base = getenv("TMPDIR");
    char *templ = join_path(base && *base ? base : "/tmp", "libclip-test-XXXXXX");
    assert_non_null(mkdtemp(templ));
    return templ;
}

void rm_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char *child = join_path(path, e->d_name);
            rm_tree(child);
            free(child);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

char *join_path(const char *a, const char *b)
{
    char *p;
    assert_true(asprintf(&p, "%s/%s", a, b) > 0);
    return p;
}

void write_bytes_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (len)
        assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

void write_text_file(const char *path, const char *text)
{
    write_bytes_file(path, text, strlen(text));
}

char *replace_first(const char *s, const char *from, const char *to)
{
    const char *at = strstr(s, from);
    if (!at)
        fail_msg("replace_first: \"%s\" not found", from);
    size_t head = (size_t)(at - s), from_len = strlen(from), to_len = strlen(to);
    size_t tail = strlen(at + from_len);
    char *out = malloc(head + to_len + tail + 1);
    assert_non_null(out);
    memcpy(out, s, head);
    memcpy(out + head, to, to_len);
    memcpy(out + head + to_len, at + from_len, tail + 1);
    return out;
}

void *read_whole_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *buf = malloc(size > 0 ? (size_t)size : 1);
    assert_non_null(buf);
    *len = fread(buf, 1, (size_t)size, f);
    fclose(f);
    return buf;
}

const char *fixtures_dir(void)
{
    const char *dir = getenv("LIBCLIP_FIXTURES_DIR");
    if (!dir || !*dir)
        dir = LIBCLIP_FIXTURES_DIR;
    char *manifest = join_path(dir, "manifest.json");
    struct stat st;
    int present = stat(manifest, &st) == 0;
    free(manifest);
    if (!present) {
        print_message("skipping: reference fixtures not found at %s (set LIBCLIP_FIXTURES_DIR)\n", dir);
        return NULL;
    }
    return dir;
}

void copy_file(const char *from_dir, const char *to_dir, const char *name)
{
    char *from = join_path(from_dir, name), *to = join_path(to_dir, name);
    size_t len;
    void *bytes = read_whole_file(from, &len);
    assert_non_null(bytes);
    write_bytes_file(to, bytes, len);
    free(bytes);
    free(from);
    free(to);
}
