/* Test support: reading golden arrays and comparing embeddings with the
 * fixtures' tolerance (per row: cosine >= 0.99999 and
 * max |x - ref| <= 1e-4 * max |ref|). */
#ifndef LCLIP_TESTS_GOLDEN_H
#define LCLIP_TESTS_GOLDEN_H

#include <stddef.h>

/* fixtures/relative as a heap array of count elements of elem_size bytes;
 * fails the test when the file is missing or of another size. */
void *golden_read(const char *fixtures, const char *relative, size_t count, size_t elem_size);

/* Asserts every row of got[rows][dim] matches ref within the tolerance and
 * returns the worst (1 - cosine) seen; label names the rows in failures. */
double assert_embeddings_match(const float *got, const float *ref, size_t rows, size_t dim, const char *label);

/* The manifest's image names without extension, in manifest order (the row
 * order of image goldens); free with golden_free_names. */
char **golden_image_stems(const char *fixtures, size_t *count);
void golden_free_names(char **names, size_t count);

#endif
