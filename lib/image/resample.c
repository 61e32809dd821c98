/* Pillow's resampling (libImaging/Resample.c and the nearest-neighbour
 * affine scale), reimplemented so that every rounding happens where Pillow's
 * happens: coefficients are computed in double exactly as Pillow orders the
 * operations, then turned into 22-bit fixed point for 8-bit images; each
 * pass rounds and clips to 8 bits. The integer sums are exact, so their
 * order is free (the horizontal pass, the costly one, runs them as int16
 * dot products that vectorise); the double ones (int32 images) keep
 * Pillow's order. */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "image/resample.h"

/* Pillow is built without fused multiply-add; so must the coefficients be.
 * GCC does not contract in ISO C mode (-std=c11, as the project builds);
 * clang is told. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* 8 bits for the sample, 2 for overshoot of the signed sum: Pillow's split. */
enum { PRECISION_BITS = 32 - 8 - 2 };
/* The split of a fixed-point coefficient into two int16 halves, and the
 * vector width the padded tap count is a multiple of. */
enum { SPLIT_BITS = 11, TAP_MULTIPLE = 8 };

/* Coefficients of one pass for the output positions of a window. */
typedef struct filter_coeffs {
    int count;       /* output positions */
    int ksize;       /* stride between positions' coefficient lists */
    int *first;      /* first input index used by each position */
    int *taps;       /* number of inputs used by each position */
    double *weights; /* count * ksize, normalised to sum 1 */
    int32_t *fixed;  /* the same in PRECISION_BITS fixed point */
    /* fixed = high * 2^SPLIT_BITS + low, both int16, zero-padded to kpad
     * taps: exact 16-bit dot products, which compilers vectorise. */
    int kpad;
    int16_t *high, *low;
} filter_coeffs;

/* Keys' cubic convolution with a = -0.5, as Pillow writes it. */
static double bicubic_filter(double x)
{
    const double a = -0.5;
    if (x < 0.0)
        x = -x;
    if (x < 1.0)
        return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    if (x < 2.0)
        return (((x - 5) * x + 8) * x - 4) * a;
    return 0.0;
}

static void free_coeffs(filter_coeffs *c)
{
    lclip_free(c->first);
    lclip_free(c->taps);
    lclip_free(c->weights);
    lclip_free(c->fixed);
    lclip_free(c->high);
    lclip_free(c->low);
    memset(c, 0, sizeof *c);
}

/* Pillow's fixed-point conversion: round half away from zero. */
static int32_t to_fixed(double w)
{
    double scaled = w * (1 << PRECISION_BITS);
    return (int32_t)(w < 0 ? -0.5 + scaled : 0.5 + scaled);
}

/* k = high * 2^SPLIT_BITS + low with 0 <= low < 2^SPLIT_BITS; |k| < 2^23
 * keeps high well inside int16. */
static void split_coeffs(const int32_t *fixed, int taps, int16_t *high, int16_t *low)
{
    for (int t = 0; t < taps; t++) {
        int32_t k = fixed[t];
        int32_t h = k >= 0 ? k >> SPLIT_BITS : -((-k + (1 << SPLIT_BITS) - 1) >> SPLIT_BITS);
        high[t] = (int16_t)h;
        low[t] = (int16_t)(k - h * (1 << SPLIT_BITS));
    }
}

/* Weights of output positions [first_out, first_out + count) when in_size
 * samples become out_size: Pillow's precompute_coeffs for the box (0, in_size)
 * (whose float arithmetic it copies), widened by the scale when shrinking. */
static lclip_status compute_coeffs(int in_size, int out_size, int first_out, int count, filter_coeffs *c)
{
    memset(c, 0, sizeof *c);
    double scale = (double)(float)in_size / out_size;
    double filterscale = scale < 1.0 ? 1.0 : scale;
    double support = 2.0 * filterscale;
    if (support > INT_MAX / 4)
        return lclip_fail(LCLIP_E_TOO_LARGE, "image resize: a %d-to-%d reduction is too large", in_size, out_size);
    c->count = count;
    c->ksize = (int)ceil(support) * 2 + 1;
    size_t n;
    if (!lclip_mul_size((size_t)count, (size_t)c->ksize, &n))
        return lclip_fail(LCLIP_E_TOO_LARGE, "image resize: too many coefficients");
    c->first = lclip_malloc_array((size_t)count, sizeof *c->first);
    c->taps = lclip_malloc_array((size_t)count, sizeof *c->taps);
    c->weights = lclip_calloc(n, sizeof *c->weights);
    c->fixed = lclip_calloc(n, sizeof *c->fixed);
    c->kpad = (c->ksize + TAP_MULTIPLE - 1) / TAP_MULTIPLE * TAP_MULTIPLE;
    c->high = lclip_calloc((size_t)count, (size_t)c->kpad * sizeof *c->high);
    c->low = lclip_calloc((size_t)count, (size_t)c->kpad * sizeof *c->low);
    if (!c->first || !c->taps || !c->weights || !c->fixed || !c->high || !c->low) {
        free_coeffs(c);
        return lclip_fail(LCLIP_E_NOMEM, "image resize: out of memory for coefficients");
    }
    double ss = 1.0 / filterscale;
    for (int i = 0; i < count; i++) {
        double center = 0.0 + (first_out + i + 0.5) * scale;
        int lo = (int)(center - support + 0.5);
        int hi = (int)(center + support + 0.5);
        if (lo < 0)
            lo = 0;
        if (hi > in_size)
            hi = in_size;
        double *k = c->weights + (size_t)i * (size_t)c->ksize;
        double sum = 0.0;
        for (int x = 0; x < hi - lo; x++) {
            k[x] = bicubic_filter((x + lo - center + 0.5) * ss);
            sum += k[x];
        }
        for (int x = 0; x < hi - lo; x++) {
            if (sum != 0.0)
                k[x] /= sum;
            c->fixed[(size_t)i * (size_t)c->ksize + (size_t)x] = to_fixed(k[x]);
        }
        c->first[i] = lo;
        c->taps[i] = hi - lo;
        split_coeffs(c->fixed + (size_t)i * (size_t)c->ksize, hi - lo, c->high + (size_t)i * (size_t)c->kpad,
                     c->low + (size_t)i * (size_t)c->kpad);
    }
    return LCLIP_OK;
}

/* The input rows (or columns) [*lo, *hi) that a pass's positions read. */
static void input_span(const filter_coeffs *c, int *lo, int *hi)
{
    *lo = INT_MAX;
    *hi = 0;
    for (int i = 0; i < c->count; i++) {
        if (c->first[i] < *lo)
            *lo = c->first[i];
        if (c->first[i] + c->taps[i] > *hi)
            *hi = c->first[i] + c->taps[i];
    }
}

static uint8_t clip8(int32_t sum)
{
    if (sum < 0)
        return 0;
    sum >>= PRECISION_BITS;
    return sum > 255 ? 255 : (uint8_t)sum;
}

/* One output sample: sum of in[t] * fixed[t] + rounding, as two int16 dot
 * products over the padded taps. The partial sums may leave the int32 range
 * on extreme downscales (thousands of taps) while the total never does, so
 * they accumulate modulo 2^32, in unsigned arithmetic, and stay exact. */
static int32_t dot_split(const int16_t *in, const int16_t *high, const int16_t *low, int n)
{
    uint32_t sum_high = 0, sum_low = 0;
    for (int t = 0; t < n; t++) {
        sum_high += (uint32_t)(in[t] * high[t]);
        sum_low += (uint32_t)(in[t] * low[t]);
    }
    return (int32_t)((1u << (PRECISION_BITS - 1)) + (sum_high << SPLIT_BITS) + sum_low);
}

/* Interleaved 8-bit samples to int16 planes; channels is a constant once
 * inlined into split_channels' switch, so the loop stays tight. */
static inline void split_channels_n(const uint8_t *row, int width, int16_t *planes, size_t plane_len, int channels)
{
    for (int x = 0; x < width; x++, row += channels)
        for (int ch = 0; ch < channels; ch++)
            planes[(size_t)ch * plane_len + (size_t)x] = row[ch];
}

static void split_channels(const uint8_t *row, int width, int channels, int16_t *planes, size_t plane_len)
{
    switch (channels) {
    case 1: split_channels_n(row, width, planes, plane_len, 1); break;
    case 2: split_channels_n(row, width, planes, plane_len, 2); break;
    case 3: split_channels_n(row, width, planes, plane_len, 3); break;
    default: split_channels_n(row, width, planes, plane_len, 4); break;
    }
}

/* Each row is split into int16 channel planes (with a zero tail for the
 * padded taps), then every output sample is one dot product. */
static lclip_status horizontal_pass_u8(const uint8_t *src, size_t src_stride, int channels, int rows,
                                       const filter_coeffs *c, uint8_t *dst, size_t dst_stride)
{
    int lo, hi;
    input_span(c, &lo, &hi);
    size_t plane_len = (size_t)(hi - lo) + (size_t)c->kpad;
    int16_t *planes = lclip_calloc(plane_len, (size_t)channels * sizeof *planes);
    if (!planes)
        return lclip_fail(LCLIP_E_NOMEM, "image resize: out of memory");
    for (int y = 0; y < rows; y++) {
        split_channels(src + (size_t)y * src_stride + (size_t)lo * (size_t)channels, hi - lo, channels, planes,
                       plane_len);
        uint8_t *out = dst + (size_t)y * dst_stride;
        for (int ch = 0; ch < channels; ch++) {
            const int16_t *plane = planes + (size_t)ch * plane_len;
            for (int i = 0; i < c->count; i++) {
                size_t k = (size_t)i * (size_t)c->kpad;
                int32_t sum = dot_split(plane + (c->first[i] - lo), c->high + k, c->low + k, c->kpad);
                out[i * channels + ch] = clip8(sum);
            }
        }
    }
    lclip_free(planes);
    return LCLIP_OK;
}

/* src row 0 is input row base; each output row sums whole input rows of
 * row_bytes samples, which vectorises whatever the channel count. */
static lclip_status vertical_pass_u8(const uint8_t *src, size_t src_stride, int base, size_t row_bytes,
                                     const filter_coeffs *c, uint8_t *dst, size_t dst_stride)
{
    int32_t *acc = lclip_malloc_array(row_bytes, sizeof *acc);
    if (!acc)
        return lclip_fail(LCLIP_E_NOMEM, "image resize: out of memory");
    for (int i = 0; i < c->count; i++) {
        const int32_t *k = c->fixed + (size_t)i * (size_t)c->ksize;
        const uint8_t *rows = src + (size_t)(c->first[i] - base) * src_stride;
        for (size_t b = 0; b < row_bytes; b++)
            acc[b] = 1 << (PRECISION_BITS - 1);
        for (int t = 0; t < c->taps[i]; t++) {
            const uint8_t *row = rows + (size_t)t * src_stride;
            int32_t weight = k[t];
            for (size_t b = 0; b < row_bytes; b++)
                acc[b] += row[b] * weight;
        }
        uint8_t *d = dst + (size_t)i * dst_stride;
        for (size_t b = 0; b < row_bytes; b++)
            d[b] = clip8(acc[b]);
    }
    lclip_free(acc);
    return LCLIP_OK;
}

static void copy_window(const uint8_t *src, size_t src_stride, size_t pixel_size, const lclip_resize_window *win,
                        uint8_t *dst, size_t dst_stride)
{
    for (int y = 0; y < win->h; y++)
        memcpy(dst + (size_t)y * dst_stride, src + (size_t)(win->y0 + y) * src_stride + (size_t)win->x0 * pixel_size,
               (size_t)win->w * pixel_size);
}

/* Coefficients for the passes Pillow runs: a dimension whose size does not
 * change is not resampled at all. */
static lclip_status plan_passes(const lclip_resize_window *win, filter_coeffs *horiz, filter_coeffs *vert)
{
    memset(horiz, 0, sizeof *horiz);
    memset(vert, 0, sizeof *vert);
    lclip_status s = LCLIP_OK;
    if (win->out_w != win->in_w)
        s = compute_coeffs(win->in_w, win->out_w, win->x0, win->w, horiz);
    if (s == LCLIP_OK && win->out_h != win->in_h)
        s = compute_coeffs(win->in_h, win->out_h, win->y0, win->h, vert);
    if (s != LCLIP_OK)
        free_coeffs(horiz);
    return s;
}

lclip_status lclip_resize_bicubic_u8(const uint8_t *src, size_t src_stride, int channels,
                                     const lclip_resize_window *win, uint8_t *dst, size_t dst_stride)
{
    filter_coeffs horiz, vert;
    lclip_status s = plan_passes(win, &horiz, &vert);
    if (s != LCLIP_OK)
        return s;
    size_t row_bytes = (size_t)win->w * (size_t)channels;
    if (horiz.count && vert.count) {
        int lo, hi;
        input_span(&vert, &lo, &hi);
        uint8_t *temp = lclip_malloc_array((size_t)(hi - lo), row_bytes);
        if (!temp) {
            s = lclip_fail(LCLIP_E_NOMEM, "image resize: out of memory");
        } else {
            s = horizontal_pass_u8(src + (size_t)lo * src_stride, src_stride, channels, hi - lo, &horiz, temp,
                                   row_bytes);
            if (s == LCLIP_OK)
                s = vertical_pass_u8(temp, row_bytes, lo, row_bytes, &vert, dst, dst_stride);
            lclip_free(temp);
        }
    } else if (horiz.count) {
        s = horizontal_pass_u8(src + (size_t)win->y0 * src_stride, src_stride, channels, win->h, &horiz, dst,
                               dst_stride);
    } else if (vert.count) {
        s = vertical_pass_u8(src + (size_t)win->x0 * (size_t)channels, src_stride, 0, row_bytes, &vert, dst,
                             dst_stride);
    } else {
        copy_window(src, src_stride, (size_t)channels, win, dst, dst_stride);
    }
    free_coeffs(&horiz);
    free_coeffs(&vert);
    return s;
}

/* Pillow's ROUND_UP for the int32 passes (its 0.5F is a float constant). */
static int32_t round_half_away(double v)
{
    return (int32_t)(v >= 0.0 ? v + 0.5F : v - 0.5F);
}

static int32_t load_i32(const uint8_t *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Both int32 passes: sample (i, t) of output i's t-th tap sits at
 * src + offset(i, t); the double sums keep Pillow's order, tap by tap. */
static void horizontal_pass_i32(const uint8_t *src, size_t src_stride, int rows, const filter_coeffs *c,
                                uint8_t *dst, size_t dst_stride)
{
    for (int y = 0; y < rows; y++) {
        const uint8_t *row = src + (size_t)y * src_stride;
        for (int i = 0; i < c->count; i++) {
            const double *k = c->weights + (size_t)i * (size_t)c->ksize;
            double sum = 0.0;
            for (int t = 0; t < c->taps[i]; t++)
                sum += load_i32(row + (size_t)(c->first[i] + t) * 4) * k[t];
            int32_t v = round_half_away(sum);
            memcpy(dst + (size_t)y * dst_stride + (size_t)i * 4, &v, 4);
        }
    }
}

static void vertical_pass_i32(const uint8_t *src, size_t src_stride, int base, int width, const filter_coeffs *c,
                              uint8_t *dst, size_t dst_stride)
{
    for (int i = 0; i < c->count; i++) {
        const double *k = c->weights + (size_t)i * (size_t)c->ksize;
        const uint8_t *rows = src + (size_t)(c->first[i] - base) * src_stride;
        for (int x = 0; x < width; x++) {
            double sum = 0.0;
            for (int t = 0; t < c->taps[i]; t++)
                sum += load_i32(rows + (size_t)t * src_stride + (size_t)x * 4) * k[t];
            int32_t v = round_half_away(sum);
            memcpy(dst + (size_t)i * dst_stride + (size_t)x * 4, &v, 4);
        }
    }
}

lclip_status lclip_resize_bicubic_i32(const uint8_t *src, size_t src_stride, const lclip_resize_window *win,
                                      uint8_t *dst, size_t dst_stride)
{
    filter_coeffs horiz, vert;
    lclip_status s = plan_passes(win, &horiz, &vert);
    if (s != LCLIP_OK)
        return s;
    size_t row_bytes = (size_t)win->w * 4;
    if (horiz.count && vert.count) {
        int lo, hi;
        input_span(&vert, &lo, &hi);
        uint8_t *temp = lclip_malloc_array((size_t)(hi - lo), row_bytes);
        if (!temp) {
            s = lclip_fail(LCLIP_E_NOMEM, "image resize: out of memory");
        } else {
            horizontal_pass_i32(src + (size_t)lo * src_stride, src_stride, hi - lo, &horiz, temp, row_bytes);
            vertical_pass_i32(temp, row_bytes, lo, win->w, &vert, dst, dst_stride);
            lclip_free(temp);
        }
    } else if (horiz.count) {
        horizontal_pass_i32(src + (size_t)win->y0 * src_stride, src_stride, win->h, &horiz, dst, dst_stride);
    } else if (vert.count) {
        vertical_pass_i32(src + (size_t)win->x0 * 4, src_stride, 0, win->w, &vert, dst, dst_stride);
    } else {
        copy_window(src, src_stride, 4, win, dst, dst_stride);
    }
    free_coeffs(&horiz);
    free_coeffs(&vert);
    return s;
}

/* Pillow's nearest-neighbour scale: the source coordinate starts half a
 * step in and is advanced by repeated addition (not multiplication), then
 * truncated; the sums are replayed from 0 to reach the window. */
static lclip_status nearest_table(int in_size, int out_size, int first, int count, int **out)
{
    int *table = lclip_malloc_array((size_t)count, sizeof *table);
    if (!table)
        return lclip_fail(LCLIP_E_NOMEM, "image resize: out of memory");
    double step = (double)(float)in_size / out_size;
    double pos = 0.0 + step * 0.5;
    for (int i = 0; i < first + count; i++, pos += step) {
        if (i < first)
            continue;
        int v = pos < 0.0 ? -1 : (int)pos;
        table[i - first] = v < 0 ? 0 : v >= in_size ? in_size - 1 : v;
    }
    *out = table;
    return LCLIP_OK;
}

lclip_status lclip_resize_nearest(const uint8_t *src, size_t src_stride, int pixel_size,
                                  const lclip_resize_window *win, uint8_t *dst, size_t dst_stride)
{
    int *xs = NULL, *ys = NULL;
    lclip_status s = nearest_table(win->in_w, win->out_w, win->x0, win->w, &xs);
    if (s == LCLIP_OK)
        s = nearest_table(win->in_h, win->out_h, win->y0, win->h, &ys);
    if (s == LCLIP_OK) {
        size_t size = (size_t)pixel_size;
        for (int y = 0; y < win->h; y++) {
            const uint8_t *row = src + (size_t)ys[y] * src_stride;
            uint8_t *d = dst + (size_t)y * dst_stride;
            for (int x = 0; x < win->w; x++)
                memcpy(d + (size_t)x * size, row + (size_t)xs[x] * size, size);
        }
    }
    lclip_free(xs);
    lclip_free(ys);
    return s;
}
