#include <math.h>

#include "common/multiversion.h"
#include "transformer/transformer.h"

/* Sums in double over SUM_LANES running partial sums: an order the vector
 * units can follow (one add per lane) without -ffast-math's licence to
 * reorder a single running sum. */
#define SUM_LANES 8

static inline double row_sum(const float *in, int width)
{
    double lanes[SUM_LANES] = {0};
    int i = 0;
    for (; i + SUM_LANES <= width; i += SUM_LANES)
        for (int l = 0; l < SUM_LANES; l++)
            lanes[l] += in[i + l];
    double sum = 0.0;
    for (int l = 0; l < SUM_LANES; l++)
        sum += lanes[l];
    for (; i < width; i++)
        sum += in[i];
    return sum;
}

static inline double row_squares(const float *in, int width, double mean)
{
    double lanes[SUM_LANES] = {0};
    int i = 0;
    for (; i + SUM_LANES <= width; i += SUM_LANES)
        for (int l = 0; l < SUM_LANES; l++) {
            double d = in[i + l] - mean;
            lanes[l] += d * d;
        }
    double squares = 0.0;
    for (int l = 0; l < SUM_LANES; l++)
        squares += lanes[l];
    for (; i < width; i++) {
        double d = in[i] - mean;
        squares += d * d;
    }
    return squares;
}

LCLIP_MULTIVERSION static void normalize_rows(const lclip_layer_norm *ln, float eps, const float *x, float *y,
                                              int rows, int width)
{
    for (int r = 0; r < rows; r++) {
        const float *in = x + (size_t)r * (size_t)width;
        float *out = y + (size_t)r * (size_t)width;
        /* Two passes in double: the mean is removed before squaring, so a
         * large common offset cannot cancel away the variance. */
        double mean = row_sum(in, width) / width;
        float inv_std = (float)(1.0 / sqrt(row_squares(in, width, mean) / width + (double)eps));
        float m = (float)mean;
        for (int i = 0; i < width; i++)
            out[i] = (in[i] - m) * inv_std * ln->gamma[i] + ln->beta[i];
    }
}

void lclip_layer_norm_rows(const lclip_layer_norm *ln, float eps, const float *x, float *y, int rows, int width)
{
    normalize_rows(ln, eps, x, y, rows, width); /* multiversioned functions stay static (clang 14) */
}

typedef struct layer_norm_step {
    const lclip_layer_norm *ln;
    float eps;
    const float *x;
    float *y;
    int rows, width;
} layer_norm_step;

static void layer_norm_task(void *ctx, int part, int parts)
{
    const layer_norm_step *s = ctx;
    size_t begin, end, offset;
    lclip_team_share((size_t)s->rows, 1, part, parts, &begin, &end);
    offset = begin * (size_t)s->width;
    lclip_layer_norm_rows(s->ln, s->eps, s->x + offset, s->y + offset, (int)(end - begin), s->width);
}

void lclip_layer_norm_forward(lclip_team *team, const lclip_layer_norm *ln, float eps, const float *x, float *y,
                              int rows, int width)
{
    layer_norm_step step = {ln, eps, x, y, rows, width};
    lclip_team_run(team, layer_norm_task, &step);
}
