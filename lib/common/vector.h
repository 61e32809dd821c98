#ifndef LCLIP_COMMON_VECTOR_H
#define LCLIP_COMMON_VECTOR_H

#include <stddef.h>

/* Scales each of rows vectors of dim floats to unit L2 norm (a zero vector
 * stays zero). */
void lclip_l2_normalize_rows(float *x, size_t rows, size_t dim);

#endif
