/* The classifier file (docs/api.md, "Classifier files"), version 1, all
 * integers and floats little-endian:
 *
 *   offset  size  field
 *        0     8  magic "LCLIPCLS"
 *        8     4  u32 format version (1)
 *       12     4  u32 kind (lclip_classifier_kind)
 *       16     4  u32 n_classes (1..1000000)
 *       20     4  u32 dim (1..65536)
 *       24     4  f32 logit scale (finite)
 *       28     4  u32 reserved, 0
 *       32        n_classes names: u32 byte length (1..1024), UTF-8 bytes
 *                 (valid, no NUL, all different)
 *        .        f32 vectors [n_classes][dim] (finite)
 *        .        f32 biases [n_classes] (finite)
 *                 (and for each class, |logit scale| x |vector| + |bias| at
 *                 most FLT_MAX / 2: every logit is finite in float)
 *        .     4  u32 CRC-32 (zlib's) of every byte before it
 *
 * Every version keeps the magic, the version field and the trailing CRC
 * where they are, so that a later version is told apart (UNSUPPORTED) from
 * a corrupted file (FORMAT). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <zlib.h>

#include "classify/classifier.h"
#include "common/alloc.h"
#include "common/error.h"
#include "common/file.h"

#define MAGIC "LCLIPCLS"
#define MAGIC_BYTES 8
#define FORMAT_VERSION 1u
#define HEADER_BYTES 32u
#define CRC_BYTES 4u

static uint32_t crc_of(const unsigned char *data, size_t size)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    while (size > 0) { /* zlib takes uInt lengths */
        uInt chunk = size > 0x40000000u ? 0x40000000u : (uInt)size;
        crc = crc32(crc, data, chunk);
        data += chunk;
        size -= chunk;
    }
    return (uint32_t)crc;
}

static void put_u32(unsigned char *at, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        at[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *at)
{
    return (uint32_t)at[0] | (uint32_t)at[1] << 8 | (uint32_t)at[2] << 16 | (uint32_t)at[3] << 24;
}

static void put_f32(unsigned char *at, float f)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    put_u32(at, bits);
}

static float get_f32(const unsigned char *at)
{
    uint32_t bits = get_u32(at);
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* ---- saving ------------------------------------------------------------ */

/* The file's bytes in a new buffer. */
static lclip_status serialize(const lclip_classifier *cls, unsigned char **out, size_t *out_size)
{
    size_t size = HEADER_BYTES + CRC_BYTES + (cls->n_classes * cls->dim + cls->n_classes) * 4;
    for (size_t c = 0; c < cls->n_classes; c++)
        size += 4 + strlen(cls->names[c]);
    unsigned char *buf = lclip_malloc(size);
    if (!buf)
        return lclip_fail(LCLIP_E_NOMEM, "lclip_classifier_save: out of memory for %zu bytes", size);
    memcpy(buf, MAGIC, MAGIC_BYTES);
    put_u32(buf + 8, FORMAT_VERSION);
    put_u32(buf + 12, (uint32_t)cls->kind);
    put_u32(buf + 16, (uint32_t)cls->n_classes);
    put_u32(buf + 20, (uint32_t)cls->dim);
    put_f32(buf + 24, cls->logit_scale);
    put_u32(buf + 28, 0);
    unsigned char *at = buf + HEADER_BYTES;
    for (size_t c = 0; c < cls->n_classes; c++) {
        size_t len = strlen(cls->names[c]);
        put_u32(at, (uint32_t)len);
        memcpy(at + 4, cls->names[c], len);
        at += 4 + len;
    }
    for (size_t i = 0; i < cls->n_classes * cls->dim; i++, at += 4)
        put_f32(at, cls->vectors[i]);
    for (size_t c = 0; c < cls->n_classes; c++, at += 4)
        put_f32(at, cls->bias[c]);
    put_u32(at, crc_of(buf, (size_t)(at - buf)));
    *out = buf;
    *out_size = size;
    return LCLIP_OK;
}

LCLIP_AVAILABLE_IN_0_4 lclip_status lclip_classifier_save(const lclip_classifier *cls, const char *path)
{
    if (!cls || !path)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "lclip_classifier_save: %s is NULL",
                          cls ? "path" : "the classifier");
    /* Made through the API, a classifier is within the limits but for a
     * model's dimension, which the format bounds. */
    if (cls->dim > LCLIP_CLASSIFIER_MAX_DIM)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "lclip_classifier_save: dimension %zu exceeds the file format's %u",
                          cls->dim, LCLIP_CLASSIFIER_MAX_DIM);
    unsigned char *buf = NULL;
    size_t size = 0;
    lclip_status s = serialize(cls, &buf, &size);
    if (s != LCLIP_OK)
        return s;
    s = lclip_write_file_replacing(path, buf, size);
    lclip_free(buf);
    return s;
}

/* ---- loading ----------------------------------------------------------- */

typedef struct file_header {
    uint32_t kind, n_classes, dim;
    float logit_scale;
} file_header;

static lclip_status bad(const char *source, const char *what)
{
    return lclip_fail(LCLIP_E_FORMAT, "%s: %s", source, what);
}

/* Magic, checksum, version and header fields, before anything is allocated. */
static lclip_status check_header(const char *source, const unsigned char *data, size_t size, file_header *h)
{
    if (size < HEADER_BYTES + CRC_BYTES)
        return lclip_fail(LCLIP_E_FORMAT, "%s: %zu bytes, shorter than any classifier file", source, size);
    if (memcmp(data, MAGIC, MAGIC_BYTES) != 0)
        return bad(source, "not a libclip classifier file (no \"LCLIPCLS\" magic)");
    if (crc_of(data, size - CRC_BYTES) != get_u32(data + size - CRC_BYTES))
        return bad(source, "checksum mismatch: the file is corrupted or truncated");
    uint32_t version = get_u32(data + 8);
    if (version == 0)
        return bad(source, "format version 0 does not exist");
    if (version > FORMAT_VERSION)
        return lclip_fail(LCLIP_E_UNSUPPORTED, "%s: format version %u; this libclip (%s) reads version %u",
                          source, version, lclip_version(), FORMAT_VERSION);
    h->kind = get_u32(data + 12);
    h->n_classes = get_u32(data + 16);
    h->dim = get_u32(data + 20);
    h->logit_scale = get_f32(data + 24);
    if (h->kind > LCLIP_CLASSIFIER_PROBE)
        return lclip_fail(LCLIP_E_FORMAT, "%s: kind %u is not an lclip_classifier_kind", source, h->kind);
    if (h->n_classes == 0 || h->n_classes > LCLIP_CLASSIFIER_MAX_CLASSES)
        return lclip_fail(LCLIP_E_FORMAT, "%s: %u classes, outside 1..%u", source, h->n_classes,
                          LCLIP_CLASSIFIER_MAX_CLASSES);
    if (h->dim == 0 || h->dim > LCLIP_CLASSIFIER_MAX_DIM)
        return lclip_fail(LCLIP_E_FORMAT, "%s: dimension %u, outside 1..%u", source, h->dim,
                          LCLIP_CLASSIFIER_MAX_DIM);
    if (!isfinite(h->logit_scale))
        return bad(source, "the logit scale is not finite");
    if (get_u32(data + 28) != 0)
        return bad(source, "the reserved header field is not 0");
    return LCLIP_OK;
}

/* Walks the names, checking each against the bytes left; *end gets the
 * offset after them. */
static lclip_status check_names_section(const char *source, const unsigned char *data, size_t size,
                                        const file_header *h, size_t *end)
{
    size_t at = HEADER_BYTES, limit = size - CRC_BYTES;
    for (uint32_t c = 0; c < h->n_classes; c++) {
        if (limit - at < 4)
            return lclip_fail(LCLIP_E_FORMAT, "%s: the file ends in the name of class %u", source, c);
        uint32_t len = get_u32(data + at);
        at += 4;
        if (len == 0 || len > LCLIP_CLASSIFIER_MAX_NAME_BYTES)
            return lclip_fail(LCLIP_E_FORMAT, "%s: the name of class %u is %u bytes, outside 1..%u", source, c,
                              len, LCLIP_CLASSIFIER_MAX_NAME_BYTES);
        if (limit - at < len)
            return lclip_fail(LCLIP_E_FORMAT, "%s: the file ends in the name of class %u", source, c);
        if (!lclip_classifier_valid_utf8((const char *)data + at, len))
            return lclip_fail(LCLIP_E_FORMAT, "%s: the name of class %u is not valid UTF-8 (or holds NUL)",
                              source, c);
        at += len;
    }
    uint64_t numbers = ((uint64_t)h->n_classes * h->dim + h->n_classes) * 4;
    if (limit - at != numbers)
        return lclip_fail(LCLIP_E_FORMAT, "%s: %zu bytes after the names where %u classes of dimension %u need %llu",
                          source, limit - at, h->n_classes, h->dim, (unsigned long long)numbers);
    *end = at;
    return LCLIP_OK;
}

/* The names as NUL-terminated strings: pointers and text in one block. */
static char **copy_names(const unsigned char *data, const file_header *h)
{
    size_t names_bytes = 0, at = HEADER_BYTES;
    for (uint32_t c = 0; c < h->n_classes; c++) {
        uint32_t len = get_u32(data + at);
        names_bytes += len + 1;
        at += 4 + len;
    }
    char **names = lclip_malloc(h->n_classes * sizeof(char *) + names_bytes);
    if (!names)
        return NULL;
    char *text = (char *)(names + h->n_classes);
    at = HEADER_BYTES;
    for (uint32_t c = 0; c < h->n_classes; c++) {
        uint32_t len = get_u32(data + at);
        memcpy(text, data + at + 4, len);
        text[len] = '\0';
        names[c] = text;
        text += len + 1;
        at += 4 + len;
    }
    return names;
}

static lclip_status load(const char *source, const unsigned char *data, size_t size, lclip_classifier **out)
{
    file_header h = {0, 0, 0, 0.0f};
    size_t numbers_at = 0;
    lclip_status s = check_header(source, data, size, &h);
    if (s == LCLIP_OK)
        s = check_names_section(source, data, size, &h, &numbers_at);
    if (s != LCLIP_OK)
        return s;
    char **names = copy_names(data, &h);
    if (!names)
        return lclip_fail(LCLIP_E_NOMEM, "%s: out of memory for %u class names", source, h.n_classes);
    s = lclip_classifier_check_names(source, (const char *const *)names, h.n_classes);
    if (s == LCLIP_E_INVALID_ARGUMENT) { /* a duplicate name: the file's fault */
        char message[LCLIP_ERROR_MESSAGE_MAX];
        snprintf(message, sizeof message, "%s", lclip_last_error());
        s = lclip_fail(LCLIP_E_FORMAT, "%s", message);
    }
    lclip_classifier *cls = NULL;
    if (s == LCLIP_OK && !(cls = lclip_classifier_alloc((lclip_classifier_kind)h.kind, (const char *const *)names,
                                                        h.n_classes, h.dim)))
        s = LCLIP_E_NOMEM;
    lclip_free(names);
    if (s != LCLIP_OK)
        return s;
    cls->logit_scale = h.logit_scale;
    const unsigned char *at = data + numbers_at;
    size_t cells = (size_t)h.n_classes * h.dim;
    for (size_t i = 0; i < cells && s == LCLIP_OK; i++, at += 4)
        if (!isfinite(cls->vectors[i] = get_f32(at)))
            s = lclip_fail(LCLIP_E_FORMAT, "%s: vector %zu has a non-finite value at %zu", source, i / h.dim,
                           i % h.dim);
    for (size_t c = 0; c < h.n_classes && s == LCLIP_OK; c++, at += 4)
        if (!isfinite(cls->bias[c] = get_f32(at)))
            s = lclip_fail(LCLIP_E_FORMAT, "%s: bias %zu is not finite", source, c);
    size_t bad;
    if (s == LCLIP_OK && !lclip_classifier_logits_bounded(cls, &bad))
        s = lclip_fail(LCLIP_E_FORMAT, "%s: class %zu's logits overflow float (logit scale x |vector| + |bias|)",
                       source, bad);
    if (s != LCLIP_OK) {
        lclip_classifier_free(cls);
        return s;
    }
    *out = cls;
    return LCLIP_OK;
}

LCLIP_AVAILABLE_IN_0_4 lclip_status lclip_classifier_load_memory(const void *data, size_t size,
                                                                 lclip_classifier **out)
{
    if (!out)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "lclip_classifier_load_memory: out is NULL");
    *out = NULL;
    if (!data)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "lclip_classifier_load_memory: data is NULL");
    return load("classifier", data, size, out);
}

LCLIP_AVAILABLE_IN_0_4 lclip_status lclip_classifier_load(const char *path, lclip_classifier **out)
{
    if (!out)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "lclip_classifier_load: out is NULL");
    *out = NULL;
    if (!path)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "lclip_classifier_load: path is NULL");
    lclip_mapped_file file;
    lclip_status s = lclip_map_file(path, &file);
    if (s != LCLIP_OK)
        return s;
    s = load(path, file.data, file.size, out);
    lclip_unmap_file(&file);
    return s;
}
