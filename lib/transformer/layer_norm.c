#include <math.h>

#include "transformer/transformer.h"

void lclip_layer_norm_rows(const lclip_layer_norm *ln, float eps, const float *x, float *y, int rows,
                           int width)
{
    for (int r = 0; r < rows; r++) {
        const float *in = x + (size_t)r * (size_t)width;
        float *out = y + (size_t)r * (size_t)width;
        /* Two passes in double: the mean is removed before squaring, so a
         * large common offset cannot cancel away the variance. */
        double sum = 0.0;
        for (int i = 0; i < width; i++)
            sum += in[i];
        double mean = sum / width;
        double squares = 0.0;
        for (int i = 0; i < width; i++) {
            double d = in[i] - mean;
            squares += d * d;
        }
        float inv_std = (float)(1.0 / sqrt(squares / width + (double)eps));
        float m = (float)mean;
        for (int i = 0; i < width; i++)
            out[i] = (in[i] - m) * inv_std * ln->gamma[i] + ln->beta[i];
    }
}
