/* Test support: temporary directories, files, string helpers, fixtures. */
#ifndef LCLIP_TESTS_TEST_UTIL_H
#define LCLIP_TESTS_TEST_UTIL_H

#include <stddef.h>

/* A fresh directory under $TMPDIR (or /tmp); remove with rm_tree. */
char *make_temp_dir(void);
void rm_tree(const char *path);
/* "a/b" (to free). */
char *join_path(const char *a, const char *b);
void write_text_file(const char *path, const char *text);
void write_bytes_file(const char *path, const void *data, size_t len);
/* s with the first occurrence of from replaced by to (to free); fails the
 * test if from is absent. */
char *replace_first(const char *s, const char *from, const char *to);
/* Whole file in a heap buffer (to free), or NULL. */
void *read_whole_file(const char *path, size_t *len);
/* from_dir/name copied to to_dir/name; fails the test if unreadable. */
void copy_file(const char *from_dir, const char *to_dir, const char *name);

/* The fixtures directory if it exists and holds manifest.json, else NULL
 * after printing why the calling test is skipped. */
const char *fixtures_dir(void);

#endif
