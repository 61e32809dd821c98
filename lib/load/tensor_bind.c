#include "load/tensor_bind.h"

#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/pages.h"

struct lclip_owned_buffer {
    lclip_owned_buffer *next;
    size_t bytes;    /* of data */
    size_t returned; /* bytes given back by lclip_tensor_done */
    float data[];
};

static float *owned_alloc(lclip_owned_buffer **list, uint64_t count)
{
    size_t bytes;
    if (count > SIZE_MAX || !lclip_mul_size((size_t)count, sizeof(float), &bytes) ||
        bytes > SIZE_MAX - sizeof(lclip_owned_buffer))
        return NULL;
    lclip_owned_buffer *b = lclip_malloc(sizeof *b + bytes);
    if (!b)
        return NULL;
    *b = (lclip_owned_buffer){.next = *list, .bytes = bytes};
    *list = b;
    return b->data;
}

float *lclip_owned_floats(lclip_model *model, uint64_t count)
{
    return owned_alloc(&model->owned, count);
}

/* A released buffer's whole pages go back to the OS before the block goes
 * back to the heap: a weight copy released once packed otherwise left a
 * hole the heap kept resident, however its layout came out (RN50's
 * image-only peak RSS was 200 to 224 MiB for the same run, from where
 * stderr pointed; 195-199 with this). The heap reuses the block all the
 * same, its pages coming back zeroed as they are touched. */
static void owned_free(lclip_owned_buffer *b)
{
    lclip_pages_discard(b->data, b->bytes);
    lclip_free(b);
}

void lclip_tensor_done(lclip_model *model, const float *data, size_t bytes)
{
    uintptr_t begin = (uintptr_t)data;
    for (lclip_owned_buffer **at = &model->owned; *at; at = &(*at)->next) {
        lclip_owned_buffer *b = *at;
        uintptr_t start = (uintptr_t)b->data;
        if (begin < start || begin - start >= b->bytes)
            continue;
        b->returned += bytes;
        if (b->returned < b->bytes) {
            lclip_pages_discard(data, bytes);
            return;
        }
        *at = b->next;
        owned_free(b);
        return;
    }
    lclip_safetensors_release(model->weights, data, bytes);
}

uint64_t lclip_owned_bytes(const lclip_model *model)
{
    uint64_t bytes = 0;
    for (const lclip_owned_buffer *b = model->owned; b; b = b->next)
        bytes += b->bytes;
    return bytes;
}

void lclip_owned_free_all(lclip_owned_buffer **list)
{
    while (*list) {
        lclip_owned_buffer *next = (*list)->next;
        owned_free(*list);
        *list = next;
    }
}

float lclip_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31;
    uint32_t exponent = (h >> 10) & 0x1f;
    uint32_t mantissa = h & 0x3ff;
    uint32_t bits;
    if (exponent == 0) {
        /* zero or subnormal: mantissa * 2^-24, exact in float */
        float magnitude = (float)mantissa * 5.9604644775390625e-8f;
        return sign ? -magnitude : magnitude;
    }
    if (exponent == 31)
        bits = sign | 0x7f800000u | (mantissa << 13);
    else
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

float lclip_bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static uint16_t load_u16_le(const unsigned char *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

/* Float data of t, in place when possible, else converted into an owned buffer. */
static lclip_status tensor_floats(lclip_model *model, const lclip_tensor_info *t, const float **out)
{
    const char *label = model->weights->label;
    if (t->dtype == LCLIP_DTYPE_F32 && (uintptr_t)t->data % _Alignof(float) == 0) {
        *out = (const float *)(const void *)t->data;
        return LCLIP_OK;
    }
    if (t->dtype != LCLIP_DTYPE_F32 && t->dtype != LCLIP_DTYPE_F16 && t->dtype != LCLIP_DTYPE_BF16)
        return lclip_fail(LCLIP_E_UNSUPPORTED, "%s: tensor '%s' has dtype %s; weights must be F32, F16 or BF16",
                          label, t->name, lclip_dtype_name(t->dtype));
    float *dst = owned_alloc(&model->owned, t->n_elements);
    if (!dst)
        return lclip_fail(LCLIP_E_NOMEM, "%s: out of memory converting tensor '%s'", label, t->name);
    const unsigned char *src = t->data;
    if (t->dtype != LCLIP_DTYPE_F32)
        model->converted_bytes += t->n_elements * sizeof *dst;
    if (t->dtype == LCLIP_DTYPE_F32)
        memcpy(dst, src, (size_t)t->n_bytes);
    else if (t->dtype == LCLIP_DTYPE_F16)
        for (uint64_t i = 0; i < t->n_elements; i++)
            dst[i] = lclip_f16_to_f32(load_u16_le(src + 2 * i));
    else
        for (uint64_t i = 0; i < t->n_elements; i++)
            dst[i] = lclip_bf16_to_f32(load_u16_le(src + 2 * i));
    /* The copy is what the model reads: the mapped pages need not stay. */
    lclip_safetensors_release(model->weights, src, (size_t)t->n_bytes);
    *out = dst;
    return LCLIP_OK;
}

static void format_shape(char *buf, size_t size, int ndim, const int64_t *shape)
{
    size_t at = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < ndim && at < size; i++)
        at += (size_t)snprintf(buf + at, size - at, i ? ", %lld" : "%lld", (long long)shape[i]);
    if (at < size)
        snprintf(buf + at, size - at, "]");
}

static lclip_status find_shaped(const lclip_model *model, const char *name, int ndim, const int64_t *shape,
                                const lclip_tensor_info **out)
{
    const char *label = model->weights->label;
    const lclip_tensor_info *t = lclip_safetensors_find(model->weights, name);
    if (!t)
        return lclip_fail(LCLIP_E_FORMAT, "%s: tensor '%s' is missing", label, name);
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = t->shape[i] == shape[i];
    if (!same) {
        char got[160], want[160];
        format_shape(got, sizeof got, t->ndim, t->shape);
        format_shape(want, sizeof want, ndim, shape);
        return lclip_fail(LCLIP_E_FORMAT, "%s: tensor '%s' has shape %s, but the config implies %s", label,
                          name, got, want);
    }
    *out = t;
    return LCLIP_OK;
}

lclip_status lclip_bind_f32(lclip_model *model, const char *name, int ndim, const int64_t *shape,
                            const float **out)
{
    const lclip_tensor_info *t;
    lclip_status s = find_shaped(model, name, ndim, shape, &t);
    return s == LCLIP_OK ? tensor_floats(model, t, out) : s;
}

lclip_status lclip_bind_f32_transposed(lclip_model *model, const char *name, int64_t rows,
                                       int64_t cols, const float **out)
{
    const float *src;
    int64_t shape[2] = {rows, cols};
    lclip_status s = lclip_bind_f32(model, name, 2, shape, &src);
    if (s != LCLIP_OK)
        return s;
    float *dst = owned_alloc(&model->owned, (uint64_t)rows * (uint64_t)cols);
    if (!dst)
        return lclip_fail(LCLIP_E_NOMEM, "%s: out of memory transposing tensor '%s'", model->weights->label,
                          name);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++)
            dst[c * rows + r] = src[r * cols + c];
    lclip_tensor_done(model, src, (size_t)rows * (size_t)cols * sizeof *src);
    *out = dst;
    return LCLIP_OK;
}

lclip_status lclip_bind_scalar(lclip_model *model, const char *name, float *out)
{
    const lclip_tensor_info *t = lclip_safetensors_find(model->weights, name);
    static const int64_t one = 1;
    const float *value;
    lclip_status s = t && t->ndim == 0 ? lclip_bind_f32(model, name, 0, NULL, &value)
                                       : lclip_bind_f32(model, name, 1, &one, &value);
    if (s == LCLIP_OK)
        *out = value[0];
    return s;
}

int lclip_has_tensor(const lclip_model *model, const char *name)
{
    return lclip_safetensors_find(model->weights, name) != NULL;
}
