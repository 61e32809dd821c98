#include "common/vector.h"

#include <math.h>

void lclip_l2_normalize_rows(float *x, size_t rows, size_t dim)
{
    for (size_t r = 0; r < rows; r++) {
        float *v = x + r * dim;
        double squares = 0.0;
        for (size_t i = 0; i < dim; i++)
            squares += (double)v[i] * v[i];
        if (squares == 0.0)
            continue;
        float inv = (float)(1.0 / sqrt(squares));
        for (size_t i = 0; i < dim; i++)
            v[i] *= inv;
    }
}
