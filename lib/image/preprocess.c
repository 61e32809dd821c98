/* The reference transform after decoding, in Pillow's integer arithmetic:
 *   1. Resize: shorter side -> resize_size, longer int(size * long / short);
 *      "1" and "P" nearest-neighbour, "LA"/"RGBA" premultiplied by alpha
 *      (unless the size does not change: Pillow then just copies);
 *   2. CenterCrop: offsets round((size - crop) / 2), half to even; a side
 *      shorter than the crop is zero-padded around the image (torchvision);
 *   3. convert("RGB") per mode; 4. (v / 255 - mean) / std in float32.
 * Only the cropped window of the resized image is ever computed. */
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "image/preprocess.h"
#include "image/resample.h"

/* Largest accepted crop: far beyond any CLIP model, small enough that
 * 3 * crop * crop floats cannot overflow anything. */
enum { MAX_CROP_SIZE = 16384 };

/* Pillow's a * b / 255 rounded, in its integer form. */
static uint8_t mul_div_255(unsigned a, unsigned b)
{
    unsigned t = a * b + 128;
    return (uint8_t)(((t >> 8) + t) >> 8);
}

/* Where a side of the resized image lands in the crop: source start,
 * length, and destination start. */
typedef struct crop_span {
    int src, len, dst;
} crop_span;

static crop_span centre_crop(int size, int crop)
{
    crop_span span = {0, size, (crop - size) / 2};
    if (size >= crop) {
        int excess = size - crop, half = excess / 2;
        /* round(excess / 2) with Python's half-to-even rule. */
        span.src = half + ((excess & 1) && (half & 1));
        span.len = crop;
        span.dst = 0;
    }
    return span;
}

/* torchvision's Resize(int) output size: the shorter side becomes target. */
static lclip_status resized_size(int w, int h, int target, int *out_w, int *out_h)
{
    int shorter = w <= h ? w : h, longer = w <= h ? h : w;
    double scaled = (double)((int64_t)target * longer) / shorter;
    if (scaled >= 2147483647.0)
        return lclip_fail(LCLIP_E_TOO_LARGE, "image preprocessing: %d x %d resized to %d is too large", w, h,
                          target);
    *out_w = w <= h ? target : (int)scaled;
    *out_h = w <= h ? (int)scaled : target;
    return LCLIP_OK;
}

static int has_alpha(lclip_pixel_mode mode)
{
    return mode == LCLIP_MODE_LA || mode == LCLIP_MODE_RGBA;
}

/* RGBA -> RGBa (LA -> La): colour channels times alpha / 255. */
static lclip_status premultiply(lclip_pixels *px)
{
    if (!px->owned)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "image preprocessing: borrowed pixels with alpha");
    int size = lclip_pixel_size(px->mode);
    for (int y = 0; y < px->height; y++) {
        uint8_t *p = px->owned + (size_t)y * px->stride;
        for (int x = 0; x < px->width; x++, p += size)
            for (int c = 0; c < size - 1; c++)
                p[c] = mul_div_255(p[c], p[size - 1]);
    }
    return LCLIP_OK;
}

/* RGBa -> RGBA for one sample: Pillow divides with truncation and clips. */
static uint8_t unpremultiply(uint8_t v, uint8_t alpha)
{
    if (alpha == 0 || alpha == 255)
        return v;
    unsigned q = 255u * v / alpha;
    return q > 255 ? 255 : (uint8_t)q;
}

/* One cropped pixel to RGB, as convert("RGB") does for its mode. */
static void to_rgb(const lclip_pixels *px, int premultiplied, const uint8_t *p, uint8_t rgb[3])
{
    switch (px->mode) {
    case LCLIP_MODE_1:
    case LCLIP_MODE_L:
        rgb[0] = rgb[1] = rgb[2] = p[0];
        break;
    case LCLIP_MODE_LA:
        rgb[0] = rgb[1] = rgb[2] = premultiplied ? unpremultiply(p[0], p[1]) : p[0];
        break;
    case LCLIP_MODE_RGB:
        memcpy(rgb, p, 3);
        break;
    case LCLIP_MODE_RGBA:
        for (int c = 0; c < 3; c++)
            rgb[c] = premultiplied ? unpremultiply(p[c], p[3]) : p[c];
        break;
    case LCLIP_MODE_CMYK: {
        unsigned white = 255u - p[3];
        for (int c = 0; c < 3; c++)
            rgb[c] = (uint8_t)(white - mul_div_255(p[c], white));
        break;
    }
    case LCLIP_MODE_P:
        memcpy(rgb, px->palette + 3 * (size_t)p[0], 3);
        break;
    case LCLIP_MODE_I: {
        int32_t v;
        memcpy(&v, p, sizeof v);
        rgb[0] = rgb[1] = rgb[2] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        break;
    }
    }
}

/* The crop, in px's mode, to normalised planes. ToTensor divides in float32
 * and Normalize subtracts and divides in float32: one table per channel. */
static void convert_and_normalise(const lclip_pixels *px, int premultiplied, const uint8_t *crop, int n,
                                  const lclip_vision_config *cfg, float *out_chw)
{
    float table[3][256];
    for (int c = 0; c < 3; c++)
        for (int v = 0; v < 256; v++)
            table[c][v] = ((float)v / 255.0f - cfg->mean[c]) / cfg->std[c];
    size_t size = (size_t)lclip_pixel_size(px->mode), plane = (size_t)n * (size_t)n;
    for (size_t i = 0; i < plane; i++) {
        uint8_t rgb[3] = {0, 0, 0};
        to_rgb(px, premultiplied, crop + i * size, rgb);
        for (int c = 0; c < 3; c++)
            out_chw[(size_t)c * plane + i] = table[c][rgb[c]];
    }
}

static lclip_status resize_window(const lclip_pixels *px, const lclip_resize_window *win, uint8_t *dst,
                                  size_t dst_stride)
{
    switch (px->mode) {
    case LCLIP_MODE_1:
    case LCLIP_MODE_P:
        return lclip_resize_nearest(px->data, px->stride, 1, win, dst, dst_stride);
    case LCLIP_MODE_I:
        return lclip_resize_bicubic_i32(px->data, px->stride, win, dst, dst_stride);
    default:
        return lclip_resize_bicubic_u8(px->data, px->stride, lclip_pixel_size(px->mode), win, dst, dst_stride);
    }
}

static lclip_status check_config(const lclip_vision_config *cfg)
{
    if (cfg->resize_size <= 0 || cfg->crop_size <= 0 || cfg->crop_size > MAX_CROP_SIZE)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "image preprocessing: resize %d / crop %d out of range",
                          cfg->resize_size, cfg->crop_size);
    for (int c = 0; c < 3; c++)
        if (!(cfg->std[c] > 0.0f))
            return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "image preprocessing: std[%d] is not positive", c);
    return LCLIP_OK;
}

lclip_status lclip_preprocess(lclip_pixels *px, const lclip_vision_config *cfg, float *out_chw)
{
    lclip_status s = check_config(cfg);
    lclip_resize_window win = {px->width, px->height, 0, 0, 0, 0, 0, 0};
    if (s == LCLIP_OK)
        s = resized_size(px->width, px->height, cfg->resize_size, &win.out_w, &win.out_h);
    if (s != LCLIP_OK)
        return s;
    int n = cfg->crop_size;
    crop_span sx = centre_crop(win.out_w, n), sy = centre_crop(win.out_h, n);
    win.x0 = sx.src;
    win.w = sx.len;
    win.y0 = sy.src;
    win.h = sy.len;

    int premultiplied = 0;
    if (has_alpha(px->mode) && (win.out_w != win.in_w || win.out_h != win.in_h)) {
        if ((s = premultiply(px)) != LCLIP_OK)
            return s;
        premultiplied = 1;
    }
    /* Zero bytes are what torchvision pads with, in any mode. */
    size_t size = (size_t)lclip_pixel_size(px->mode), stride = (size_t)n * size;
    uint8_t *crop = lclip_calloc((size_t)n * (size_t)n, size);
    if (!crop)
        return lclip_fail(LCLIP_E_NOMEM, "image preprocessing: out of memory");
    s = resize_window(px, &win, crop + (size_t)sy.dst * stride + (size_t)sx.dst * size, stride);
    if (s == LCLIP_OK)
        convert_and_normalise(px, premultiplied, crop, n, cfg, out_chw);
    lclip_free(crop);
    return s;
}
