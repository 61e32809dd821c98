/* Test support: reading golden arrays and comparing embeddings with the
 * fixtures' tolerance (per row: cosine >= 0.99999 and
 * max |x - ref| <= 1e-4 * max |ref|). */
#ifndef LCLIP_TESTS_GOLDEN_H
#define LCLIP_TESTS_GOLDEN_H

#include <stddef.h>
#include <stdint.h>

/* fixtures/relative as a heap array of count elements of elem_size bytes;
 * fails the test when the file is missing or of another size. */
void *golden_read(const char *fixtures, const char *relative, size_t count, size_t elem_size);

/* Asserts every row of got[rows][dim] matches ref within the tolerance and
 * returns the worst (1 - cosine) seen; label names the rows in failures. */
double assert_embeddings_match(const float *got, const float *ref, size_t rows, size_t dim, const char *label);

/* The manifest's image names without extension, in manifest order (the row
 * order of image goldens); free with golden_free_names. */
char **golden_image_stems(const char *fixtures, size_t *count);
/* The manifest images' file paths, in manifest order; free with golden_free_names. */
char **golden_image_files(const char *fixtures, size_t *count);
void golden_free_names(char **names, size_t count);

/* The preprocessed tensors golden/preprocess-<size>/ of every manifest image,
 * [count][3][size][size] in manifest order. */
float *golden_pixels(const char *fixtures, int size, size_t *count);
/* golden/text_tokens.i32: GOLDEN_TEXTS rows of GOLDEN_CONTEXT ids. */
#define GOLDEN_TEXTS 40
#define GOLDEN_CONTEXT 77
int32_t *golden_text_tokens(const char *fixtures);

#endif
