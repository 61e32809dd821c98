/* Code point buffers and strict UTF-8 conversion. */
#include "text/codepoints.h"

#include <string.h>

#include "common/alloc.h"
#include "common/error.h"

void lclip_cpbuf_init(lclip_cpbuf *b)
{
    memset(b, 0, sizeof *b);
}

void lclip_cpbuf_free(lclip_cpbuf *b)
{
    lclip_free(b->cp);
    memset(b, 0, sizeof *b);
}

int lclip_cpbuf_reserve(lclip_cpbuf *b, size_t extra)
{
    if (b->failed)
        return 0;
    if (b->cap - b->len >= extra)
        return 1;
    size_t need = b->len + extra, cap = b->cap ? b->cap : 64;
    if (need < b->len) {
        b->failed = 1;
        return 0;
    }
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint32_t *grown = lclip_malloc_array(cap, sizeof *grown);
    if (!grown) {
        b->failed = 1;
        return 0;
    }
    if (b->len)
        memcpy(grown, b->cp, b->len * sizeof *grown);
    lclip_free(b->cp);
    b->cp = grown;
    b->cap = cap;
    return 1;
}

void lclip_cpbuf_push(lclip_cpbuf *b, uint32_t c)
{
    if (b->len < b->cap || lclip_cpbuf_reserve(b, 1))
        b->cp[b->len++] = c;
}

void lclip_cpbuf_append(lclip_cpbuf *b, const uint32_t *cp, size_t n)
{
    if (n == 0 || !lclip_cpbuf_reserve(b, n))
        return;
    memcpy(b->cp + b->len, cp, n * sizeof *cp);
    b->len += n;
}

void lclip_cpbuf_append_utf8(lclip_cpbuf *b, const char *utf8)
{
    const unsigned char *s = (const unsigned char *)utf8;
    size_t n = strlen(utf8);
    while (n > 0) {
        uint32_t c;
        size_t k = lclip_utf8_decode_one(s, n, &c);
        if (k == 0)
            return; /* tables are generated valid; never reached */
        lclip_cpbuf_push(b, c);
        s += k;
        n -= k;
    }
}

void lclip_cpbuf_clear(lclip_cpbuf *b)
{
    b->len = 0;
}

void lclip_cpbuf_swap(lclip_cpbuf *a, lclip_cpbuf *b)
{
    lclip_cpbuf t = *a;
    *a = *b;
    *b = t;
}

int lclip_cp_equal(const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

static int is_continuation(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

size_t lclip_utf8_decode_one(const unsigned char *s, size_t n, uint32_t *out)
{
    unsigned char c = s[0];
    if (c < 0x80) {
        *out = c;
        return 1;
    }
    size_t len;
    uint32_t cp, min;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, cp = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, cp = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0; /* continuation byte, 0xC0/0xC1 or 0xF5-0xFF */
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if (!is_continuation(s[i]))
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    *out = cp;
    return len;
}

size_t lclip_utf8_encode_one(uint32_t c, unsigned char out[4])
{
    if (c < 0x80) {
        out[0] = (unsigned char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (unsigned char)(0xC0 | (c >> 6));
        out[1] = (unsigned char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (unsigned char)(0xE0 | (c >> 12));
        out[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | (c >> 18));
    out[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (c & 0x3F));
    return 4;
}

lclip_status lclip_utf8_to_cpbuf(const char *s, size_t n, lclip_cpbuf *out)
{
    const unsigned char *u = (const unsigned char *)s;
    if (!lclip_cpbuf_reserve(out, n))
        return lclip_fail(LCLIP_E_NOMEM, "out of memory decoding a %zu-byte text", n);
    size_t i = 0;
    while (i < n) {
        uint32_t c;
        size_t k = lclip_utf8_decode_one(u + i, n - i, &c);
        if (k == 0)
            return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "text is not valid UTF-8 (byte 0x%02X at offset %zu)",
                              u[i], i);
        out->cp[out->len++] = c;
        i += k;
    }
    return LCLIP_OK;
}

int lclip_cp_in_ranges(uint32_t c, const lclip_cp_range *ranges, size_t count)
{
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c < ranges[mid].first)
            hi = mid;
        else if (c > ranges[mid].last)
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

int lclip_cp_in_sorted16(uint32_t c, const uint16_t *values, size_t count)
{
    if (c > 0xFFFF)
        return 0;
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (values[mid] == c)
            return 1;
        if (values[mid] < c)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}
