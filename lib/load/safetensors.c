#include "load/safetensors.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "load/foreign_format.h"
#include "load/json.h"

static const struct {
    const char *name;
    lclip_dtype dtype;
    size_t size;
} dtype_table[] = {
    {"F32", LCLIP_DTYPE_F32, 4},         {"F16", LCLIP_DTYPE_F16, 2},
    {"BF16", LCLIP_DTYPE_BF16, 2},       {"F64", LCLIP_DTYPE_F64, 8},
    {"I64", LCLIP_DTYPE_I64, 8},         {"I32", LCLIP_DTYPE_I32, 4},
    {"I16", LCLIP_DTYPE_I16, 2},         {"I8", LCLIP_DTYPE_I8, 1},
    {"U64", LCLIP_DTYPE_U64, 8},         {"U32", LCLIP_DTYPE_U32, 4},
    {"U16", LCLIP_DTYPE_U16, 2},         {"U8", LCLIP_DTYPE_U8, 1},
    {"BOOL", LCLIP_DTYPE_BOOL, 1},       {"F8_E4M3", LCLIP_DTYPE_F8_E4M3, 1},
    {"F8_E5M2", LCLIP_DTYPE_F8_E5M2, 1},
};
#define DTYPE_COUNT (sizeof dtype_table / sizeof dtype_table[0])

const char *lclip_dtype_name(lclip_dtype dtype)
{
    return dtype_table[dtype].name;
}

size_t lclip_dtype_size(lclip_dtype dtype)
{
    return dtype_table[dtype].size;
}

static int dtype_from_name(const char *name, lclip_dtype *out)
{
    for (size_t i = 0; i < DTYPE_COUNT; i++)
        if (strcmp(dtype_table[i].name, name) == 0) {
            *out = dtype_table[i].dtype;
            return 1;
        }
    return 0;
}

/* JSON numbers arrive as doubles; an offset or dimension must be a
 * non-negative integer that a double represents exactly. */
static int json_to_u64(const cJSON *item, uint64_t *out)
{
    if (!cJSON_IsNumber(item))
        return 0;
    double d = item->valuedouble;
    if (!(d >= 0.0) || d > 9007199254740992.0 || floor(d) != d)
        return 0;
    *out = (uint64_t)d;
    return 1;
}

typedef struct parse_ctx {
    const char *label;
    const unsigned char *data_section;
    uint64_t data_size;
} parse_ctx;

static lclip_status parse_shape(const parse_ctx *ctx, const char *name, const cJSON *shape,
                                lclip_tensor_info *t)
{
    if (!cJSON_IsArray(shape))
        return lclip_fail(LCLIP_E_FORMAT, "%s: tensor '%s': \"shape\" is not an array", ctx->label, name);
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > LCLIP_MAX_DIMS)
        return lclip_fail(LCLIP_E_UNSUPPORTED, "%s: tensor '%s' has %d dimensions (at most %d supported)",
                          ctx->label, name, ndim, LCLIP_MAX_DIMS);
    t->ndim = ndim;
    t->n_elements = 1;
    int i = 0;
    const cJSON *dim;
    cJSON_ArrayForEach(dim, shape)
    {
        uint64_t v;
        if (!json_to_u64(dim, &v) || v > INT64_MAX)
            return lclip_fail(LCLIP_E_FORMAT, "%s: tensor '%s': dimension %d is not a non-negative integer",
                              ctx->label, name, i);
        t->shape[i++] = (int64_t)v;
        if (!lclip_mul_u64(t->n_elements, v, &t->n_elements))
            return lclip_fail(LCLIP_E_FORMAT, "%s: tensor '%s': element count overflows", ctx->label, name);
    }
    return LCLIP_OK;
}

static lclip_status parse_tensor(const parse_ctx *ctx, const cJSON *entry, lclip_tensor_info *t)
{
    const char *name = entry->string;
    if (!cJSON_IsObject(entry))
        return lclip_fail(LCLIP_E_FORMAT, "%s: tensor '%s': entry is not a JSON object", ctx->label, name);

    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(entry, "dtype");
    if (!cJSON_IsString(dtype))
        return lclip_fail(LCLIP_E_FORMAT, "%s: tensor '%s': missing string \"dtype\"", ctx->label, name);
    if (!dtype_from_name(dtype->valuestring, &t->dtype))
        return lclip_fail(LCLIP_E_FORMAT, "%s: tensor '%s': unknown dtype \"%.32s\"", ctx->label, name,
                          dtype->valuestring);

    lclip_status s = parse_shape(ctx, name, cJSON_GetObjectItemCaseSensitive(entry, "shape"), t);
    if (s != LCLIP_OK)
        return s;

    const cJSON *offsets = cJSON_GetObjectItemCaseSensitive(entry, "data_offsets");
    uint64_t begin, end;
    if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 ||
        !json_to_u64(cJSON_GetArrayItem(offsets, 0), &begin) ||
        !json_to_u64(cJSON_GetArrayItem(offsets, 1), &end))
        return lclip_fail(LCLIP_E_FORMAT, "%s: tensor '%s': \"data_offsets\" is not [begin, end]",
                          ctx->label, name);
    if (begin > end)
        return lclip_fail(LCLIP_E_FORMAT, "%s: tensor '%s': data_offsets [%llu, %llu] are reversed",
                          ctx->label, name, (unsigned long long)begin, (unsigned long long)end);
    if (end > ctx->data_size)
        return lclip_fail(LCLIP_E_FORMAT,
                          "%s: tensor '%s': data_offsets end %llu is past the data section (%llu bytes; "
                          "file truncated?)",
                          ctx->label, name, (unsigned long long)end, (unsigned long long)ctx->data_size);
    uint64_t expected;
    if (!lclip_mul_u64(t->n_elements, lclip_dtype_size(t->dtype), &expected))
        return lclip_fail(LCLIP_E_FORMAT, "%s: tensor '%s': byte size of the shape overflows", ctx->label,
                          name);
    if (expected != end - begin)
        return lclip_fail(LCLIP_E_FORMAT,
                          "%s: tensor '%s': data_offsets span %llu bytes, but shape and dtype %s need %llu",
                          ctx->label, name, (unsigned long long)(end - begin), lclip_dtype_name(t->dtype),
                          (unsigned long long)expected);
    t->data = ctx->data_section + begin;
    t->n_bytes = end - begin;
    return LCLIP_OK;
}

static int compare_by_name(const void *a, const void *b)
{
    return strcmp(((const lclip_tensor_info *)a)->name, ((const lclip_tensor_info *)b)->name);
}

static int compare_by_offset(const void *a, const void *b)
{
    const unsigned char *x = ((const lclip_tensor_info *)a)->data, *y = ((const lclip_tensor_info *)b)->data;
    return (x > y) - (x < y);
}

/* Tensors sharing bytes would let a small file claim unbounded memory once
 * converted (every F16 tensor gets its own float copy), so spans must be
 * disjoint, as the safetensors format requires. */
static lclip_status check_disjoint(const parse_ctx *ctx, lclip_safetensors *st)
{
    qsort(st->tensors, st->count, sizeof *st->tensors, compare_by_offset);
    for (size_t i = 1; i < st->count; i++) {
        const lclip_tensor_info *prev = &st->tensors[i - 1], *t = &st->tensors[i];
        if (prev->data + prev->n_bytes > t->data)
            return lclip_fail(LCLIP_E_FORMAT, "%s: tensors '%s' and '%s' overlap in the data section", ctx->label,
                              prev->name, t->name);
    }
    return LCLIP_OK;
}

/* Copies every name into one block so the JSON tree can be freed. */
static lclip_status build_table(const parse_ctx *ctx, const cJSON *root, size_t count,
                                lclip_safetensors *st)
{
    size_t names_bytes = 0;
    const cJSON *entry;
    cJSON_ArrayForEach(entry, root)
    {
        if (strcmp(entry->string, "__metadata__") != 0)
            names_bytes += strlen(entry->string) + 1;
    }
    st->tensors = lclip_calloc(count ? count : 1, sizeof *st->tensors);
    st->names = lclip_malloc(names_bytes ? names_bytes : 1);
    if (!st->tensors || !st->names)
        return lclip_fail(LCLIP_E_NOMEM, "%s: out of memory for the tensor table", ctx->label);

    char *name_at = st->names;
    cJSON_ArrayForEach(entry, root)
    {
        if (strcmp(entry->string, "__metadata__") == 0)
            continue;
        lclip_tensor_info *t = &st->tensors[st->count];
        lclip_status s = parse_tensor(ctx, entry, t);
        if (s != LCLIP_OK)
            return s;
        size_t n = strlen(entry->string) + 1;
        memcpy(name_at, entry->string, n);
        t->name = name_at;
        name_at += n;
        st->count++;
    }
    lclip_status s = check_disjoint(ctx, st);
    if (s != LCLIP_OK)
        return s;
    qsort(st->tensors, st->count, sizeof *st->tensors, compare_by_name);
    for (size_t i = 1; i < st->count; i++)
        if (strcmp(st->tensors[i - 1].name, st->tensors[i].name) == 0)
            return lclip_fail(LCLIP_E_FORMAT, "%s: tensor '%s' is listed twice in the header", ctx->label,
                              st->tensors[i].name);
    return LCLIP_OK;
}

static lclip_status parse_header(const unsigned char *data, size_t size, const char *label,
                                 const lclip_safetensors_limits *limits, lclip_safetensors *st)
{
    if (size < 8)
        return lclip_fail(LCLIP_E_FORMAT, "%s: %zu bytes is too short for a safetensors file", label, size);
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; i--)
        header_len = (header_len << 8) | data[i];
    /* Another format's first bytes read as a header length are nonsense, so
     * what the file is gets said before any limit is weighed against them. */
    if (header_len > size - 8 || header_len == 0 || data[8] != '{') {
        lclip_status s = lclip_name_foreign_format(data, size, label);
        if (s != LCLIP_OK)
            return s;
    }
    if (header_len > size - 8)
        return lclip_fail(LCLIP_E_FORMAT,
                          "%s: not a safetensors file: header length %llu is larger than the file (%zu bytes)",
                          label, (unsigned long long)header_len, size);
    if (header_len > limits->max_header_bytes)
        return lclip_fail(LCLIP_E_TOO_LARGE, "%s: header length %llu exceeds the limit of %llu bytes", label,
                          (unsigned long long)header_len, (unsigned long long)limits->max_header_bytes);
    if (header_len < 2)
        return lclip_fail(LCLIP_E_FORMAT, "%s: header length %llu is too short for a JSON object", label,
                          (unsigned long long)header_len);

    const char *json = (const char *)data + 8;
    const char *json_end = NULL;
    cJSON *root = lclip_json_parse(json, (size_t)header_len, &json_end);
    if (!root)
        return lclip_fail(LCLIP_E_FORMAT, "%s: header is not valid JSON", label);
    lclip_status s = LCLIP_OK;
    /* safetensors pads the header with spaces; anything else after it is not ours. */
    for (const char *p = json_end; p < json + header_len; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r' && *p != '\0')
            s = lclip_fail(LCLIP_E_FORMAT, "%s: unexpected bytes after the JSON header", label);
    if (s == LCLIP_OK && !cJSON_IsObject(root))
        s = lclip_fail(LCLIP_E_FORMAT, "%s: header is JSON but not an object", label);

    size_t count = 0;
    if (s == LCLIP_OK) {
        const cJSON *entry;
        cJSON_ArrayForEach(entry, root)
        {
            if (strcmp(entry->string, "__metadata__") != 0)
                count++;
        }
        if (count > limits->max_tensor_count)
            s = lclip_fail(LCLIP_E_TOO_LARGE, "%s: %zu tensors exceed the limit of %llu", label, count,
                           (unsigned long long)limits->max_tensor_count);
    }
    if (s == LCLIP_OK) {
        parse_ctx ctx = {label, data + 8 + header_len, (uint64_t)(size - 8 - header_len)};
        s = build_table(&ctx, root, count, st);
    }
    cJSON_Delete(root);
    return s;
}

lclip_status lclip_safetensors_parse(const unsigned char *data, size_t size, const char *label,
                                     const lclip_safetensors_limits *limits, lclip_safetensors **out)
{
    *out = NULL;
    lclip_safetensors *st = lclip_calloc(1, sizeof *st);
    if (!st)
        return lclip_fail(LCLIP_E_NOMEM, "%s: out of memory", label);
    st->label = lclip_strdup(label);
    if (!st->label) {
        lclip_safetensors_close(st);
        return lclip_fail(LCLIP_E_NOMEM, "%s: out of memory", label);
    }
    lclip_status s = parse_header(data, size, label, limits, st);
    if (s != LCLIP_OK) {
        lclip_safetensors_close(st);
        return s;
    }
    *out = st;
    return LCLIP_OK;
}

lclip_status lclip_safetensors_open(const char *path, const lclip_safetensors_limits *limits,
                                    lclip_safetensors **out)
{
    *out = NULL;
    lclip_mapped_file file;
    lclip_status s = lclip_map_file(path, &file);
    if (s != LCLIP_OK)
        return s;
    s = lclip_safetensors_parse(file.data, file.size, path, limits, out);
    if (s != LCLIP_OK) {
        lclip_unmap_file(&file);
        return s;
    }
    (*out)->file = file;
    return LCLIP_OK;
}

void lclip_safetensors_close(lclip_safetensors *st)
{
    if (!st)
        return;
    lclip_unmap_file(&st->file);
    for (size_t i = 0; i < st->n_shards; i++)
        lclip_safetensors_close(st->shards[i]);
    lclip_free(st->shards);
    lclip_free(st->tensors);
    lclip_free(st->names);
    lclip_free(st->label);
    lclip_free(st);
}

void lclip_safetensors_release(const lclip_safetensors *st, const void *addr, size_t len)
{
    lclip_mapped_release(&st->file, addr, len);
    for (size_t i = 0; i < st->n_shards; i++)
        lclip_safetensors_release(st->shards[i], addr, len);
}

const lclip_tensor_info *lclip_safetensors_find(const lclip_safetensors *st, const char *name)
{
    lclip_tensor_info key;
    key.name = name;
    return bsearch(&key, st->tensors, st->count, sizeof *st->tensors, compare_by_name);
}
