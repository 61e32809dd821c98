/* Text as an array of Unicode code points, the form every cleaning step
 * works on (Python's str semantics: one element per code point), and the
 * UTF-8 conversions at the edges. */
#ifndef LCLIP_TEXT_CODEPOINTS_H
#define LCLIP_TEXT_CODEPOINTS_H

#include <stddef.h>
#include <stdint.h>

#include "libclip.h"
#include "text/unicode_tables.h"

/* A growable code point buffer. A failed allocation sets `failed` and turns
 * further appends into no-ops, so a pipeline checks once at its end. */
typedef struct lclip_cpbuf {
    uint32_t *cp;
    size_t len, cap;
    int failed;
} lclip_cpbuf;

void lclip_cpbuf_init(lclip_cpbuf *b);
void lclip_cpbuf_free(lclip_cpbuf *b);
/* Room for `extra` more code points; 0 (and `failed` set) on failure. */
int lclip_cpbuf_reserve(lclip_cpbuf *b, size_t extra);
void lclip_cpbuf_push(lclip_cpbuf *b, uint32_t c);
void lclip_cpbuf_append(lclip_cpbuf *b, const uint32_t *cp, size_t n);
/* Appends a UTF-8 string known to be valid (a table entry). */
void lclip_cpbuf_append_utf8(lclip_cpbuf *b, const char *utf8);
/* Empties b without freeing, keeping its `failed` state. */
void lclip_cpbuf_clear(lclip_cpbuf *b);
void lclip_cpbuf_swap(lclip_cpbuf *a, lclip_cpbuf *b);
int lclip_cp_equal(const uint32_t *a, size_t na, const uint32_t *b, size_t nb);

/* One well-formed UTF-8 sequence at s (n bytes available), as Python's
 * strict decoder accepts them: no overlongs, surrogates, or values past
 * U+10FFFF. Returns its length, or 0 if the bytes there are not one. */
size_t lclip_utf8_decode_one(const unsigned char *s, size_t n, uint32_t *out);
/* Encodes c (at most U+10FFFF) into out; returns the byte count (1-4). */
size_t lclip_utf8_encode_one(uint32_t c, unsigned char out[4]);
/* Decodes n bytes into out; invalid UTF-8 is LCLIP_E_INVALID_ARGUMENT
 * naming the byte offset. */
lclip_status lclip_utf8_to_cpbuf(const char *s, size_t n, lclip_cpbuf *out);

/* Membership in generated tables. */
int lclip_cp_in_ranges(uint32_t c, const lclip_cp_range *ranges, size_t count);
int lclip_cp_in_sorted16(uint32_t c, const uint16_t *values, size_t count);

#endif
