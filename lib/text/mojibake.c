/* ftfy 6.3.1's fix_encoding (ftfy/__init__.py, fixes.py, chardata.py and
 * bad_codecs): while the text looks like mojibake (is_bad), re-encode it in
 * each single-byte encoding it fits, in ftfy's order, and keep the first
 * whose bytes decode as UTF-8 (after putting back spaces that stood for
 * 0xA0 and marking bytes lost to U+FFFD); failing that, fix the parts that
 * look like UTF-8 on their own, then C1 controls as Windows-1252. */
#include "text/mojibake.h"

#include <string.h>

#include "common/alloc.h"
#include "text/unicode_tables.h"

enum { STEP_UNCHANGED = 0, STEP_CHANGED = 1, STEP_NOMEM = -1 };
#define MACROMAN_INDEX 8
#define WINDOWS_1252_INDEX 1
/* fix_encoding recursion (through decode_inconsistent_utf8) works on
 * strictly shorter text each level; this only guards the stack. */
#define MAX_DEPTH 32
#define MAX_STEPS 256

static int fix_encoding_at_depth(lclip_cpbuf *text, int depth);

/* The byte c has in map m, if any (str.encode(..., 'strict')). */
static int charmap_encode_char(const lclip_charmap *m, uint32_t c, unsigned char *byte)
{
    if (c < 0x80) {
        if (m->sloppy && c == 0x1A)
            return 0; /* byte 0x1A stands for U+FFFD in sloppy codecs */
        *byte = (unsigned char)c;
        return 1;
    }
    int lo = 0, hi = m->reverse_count;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (m->reverse[mid].codepoint == c) {
            *byte = m->reverse[mid].byte;
            return 1;
        }
        if (m->reverse[mid].codepoint < c)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

static int charmap_encode(const lclip_charmap *m, const uint32_t *t, size_t n, unsigned char *out)
{
    for (size_t i = 0; i < n; i++)
        if (!charmap_encode_char(m, t[i], &out[i]))
            return 0;
    return 1;
}

static int in_range(unsigned char b, unsigned lo, unsigned hi)
{
    return b >= lo && b <= hi;
}

/* [\x80-\x84\x86-\x9f\xa1-\xbf]: continuation bytes other than 0x85, 0xA0. */
static int altered_continuation(unsigned char b)
{
    return in_range(b, 0x80, 0xBF) && b != 0x85 && b != 0xA0;
}

/* ALTERED_UTF8_RE: UTF-8 that would be valid if one space were 0xA0.
 * Returns the match length at b[0], or 0. */
static size_t altered_utf8_match(const unsigned char *b, size_t n)
{
    unsigned char x = b[0];
    if (n >= 2 && (x == 0xC2 || x == 0xC3 || x == 0xC5 || x == 0xCE || x == 0xD0 || x == 0xD9) && b[1] == ' ')
        return 2;
    if (n >= 3 && (x == 0xE2 || x == 0xE3) && b[1] == ' ' && altered_continuation(b[2]))
        return 3;
    if (n >= 3 && in_range(x, 0xE0, 0xE3) && altered_continuation(b[1]) && b[2] == ' ')
        return 3;
    if (n >= 4 && x == 0xF0) {
        int spaces = 0, others = 0;
        for (int k = 1; k < 4; k++) {
            spaces += b[k] == ' ';
            others += in_range(b[k], 0x80, 0xBF);
        }
        if (spaces == 1 && others == 2)
            return 4;
    }
    return 0;
}

static int has_altered_utf8(const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (altered_utf8_match(b + i, n - i))
            return 1;
    return 0;
}

/* A_GRAVE_WORD_RE: "\xc3 " not followed by " ", "quele", "quela", "quilo"
 * or "s " is the word "à" whose 0xA0 became a space. */
static int a_grave_word(const unsigned char *b, size_t n)
{
    static const char *const exceptions[] = {" ", "quele", "quela", "quilo", "s "};
    if (n < 2 || b[0] != 0xC3 || b[1] != ' ')
        return 0;
    for (size_t k = 0; k < sizeof exceptions / sizeof exceptions[0]; k++) {
        size_t len = strlen(exceptions[k]);
        if (n - 2 >= len && memcmp(b + 2, exceptions[k], len) == 0)
            return 0;
    }
    return 1;
}

/* A byte string under construction; `failed` as in lclip_cpbuf. */
typedef struct bytebuf {
    unsigned char *p;
    size_t len, cap;
    int failed;
} bytebuf;

static int bytebuf_alloc(bytebuf *b, size_t cap)
{
    memset(b, 0, sizeof *b);
    b->p = lclip_malloc(cap);
    b->cap = cap;
    b->failed = b->p == NULL;
    return !b->failed;
}

/* Callers size buffers for the worst case, so a push never overflows. */
static void bytebuf_put(bytebuf *b, const unsigned char *bytes, size_t n)
{
    if (b->failed || b->cap - b->len < n) {
        b->failed = 1;
        return;
    }
    memcpy(b->p + b->len, bytes, n);
    b->len += n;
}

/* restore_byte_a0: "\xc3 " as the word "à", then spaces inside otherwise
 * valid UTF-8 back to 0xA0. Output needs room for 1.5x the input. */
static void restore_byte_a0(const bytebuf *in, bytebuf *out)
{
    bytebuf words;
    if (!bytebuf_alloc(&words, in->len + in->len / 2 + 1)) {
        out->failed = 1;
        return;
    }
    for (size_t i = 0; i < in->len;) {
        if (a_grave_word(in->p + i, in->len - i)) {
            bytebuf_put(&words, (const unsigned char *)"\xc3\xa0 ", 3);
            i += 2;
        } else {
            bytebuf_put(&words, in->p + i, 1);
            i += 1;
        }
    }
    for (size_t i = 0; i < words.len && !words.failed;) {
        size_t k = altered_utf8_match(words.p + i, words.len - i);
        if (k == 0) {
            bytebuf_put(out, words.p + i, 1);
            i += 1;
            continue;
        }
        for (size_t j = 0; j < k; j++) {
            unsigned char b = words.p[i + j] == ' ' ? 0xA0 : words.p[i + j];
            bytebuf_put(out, &b, 1);
        }
        i += k;
    }
    out->failed |= words.failed;
    lclip_free(words.p);
}

static int lost(unsigned char b) /* [\x1a?] */
{
    return b == 0x1A || b == '?';
}

static int lost_or_cont(unsigned char b) /* [\x1a?\x80-\xbf] */
{
    return lost(b) || in_range(b, 0x80, 0xBF);
}

static int sub_or_cont(unsigned char b) /* [\x1a\x80-\xbf] */
{
    return b == 0x1A || in_range(b, 0x80, 0xBF);
}

/* LOSSY_UTF8_RE, alternatives in order: UTF-8 sequences with bytes lost to
 * 0x1A (U+FFFD in a sloppy codec) or '?'. Returns the match length, or 0. */
static size_t lossy_utf8_match(const unsigned char *b, size_t n)
{
    unsigned char x = b[0];
    if (n >= 2 && in_range(x, 0xC2, 0xDF) && b[1] == 0x1A)
        return 2;
    if (n >= 2 && in_range(x, 0xC2, 0xC3) && b[1] == '?')
        return 2;
    if (n >= 6 && x == 0xED && in_range(b[1], 0xA0, 0xAF) && b[3] == 0xED && in_range(b[4], 0xB0, 0xBF)) {
        if (lost(b[2]) && lost_or_cont(b[5]))
            return 6;
        if (lost_or_cont(b[2]) && lost(b[5]))
            return 6;
    }
    if (n >= 3 && in_range(x, 0xE0, 0xEF)) {
        if ((lost(b[1]) && sub_or_cont(b[2])) || (sub_or_cont(b[1]) && lost(b[2])))
            return 3;
    }
    if (n >= 4 && in_range(x, 0xF0, 0xF4)) {
        for (int k = 1; k < 4; k++) {
            int ok = 1;
            for (int j = 1; j < 4; j++)
                ok &= j == k ? lost(b[j]) : sub_or_cont(b[j]);
            if (ok)
                return 4;
        }
    }
    return x == 0x1A ? 1 : 0;
}

/* replace_lossy_sequences. Output needs room for 3x the input. */
static void replace_lossy_sequences(const bytebuf *in, bytebuf *out)
{
    for (size_t i = 0; i < in->len;) {
        size_t k = lossy_utf8_match(in->p + i, in->len - i);
        if (k) {
            bytebuf_put(out, (const unsigned char *)"\xef\xbf\xbd", 3);
            i += k;
        } else {
            bytebuf_put(out, in->p + i, 1);
            i += 1;
        }
    }
}

/* Python's strict UTF-8, or ftfy's "utf-8-variants" (also CESU-8 surrogate
 * pairs and Java's C0 80 for U+0000). 0 if the bytes do not decode. */
static int decode_utf8(const bytebuf *in, int variants, lclip_cpbuf *out)
{
    const unsigned char *b = in->p;
    size_t n = in->len;
    if (!lclip_cpbuf_reserve(out, n))
        return 0;
    for (size_t i = 0; i < n;) {
        uint32_t c;
        size_t k = lclip_utf8_decode_one(b + i, n - i, &c);
        if (k == 0 && variants && b[i] == 0xC0 && i + 1 < n && b[i + 1] == 0x80) {
            c = 0, k = 2;
        } else if (k == 0 && variants && n - i >= 6 && b[i] == 0xED && in_range(b[i + 1], 0xA0, 0xAF) &&
                   in_range(b[i + 2], 0x80, 0xBF) && b[i + 3] == 0xED && in_range(b[i + 4], 0xB0, 0xBF) &&
                   in_range(b[i + 5], 0x80, 0xBF)) {
            c = 0x10000 + ((uint32_t)(b[i + 1] & 0x0F) << 16) + ((uint32_t)(b[i + 2] & 0x3F) << 10) +
                ((uint32_t)(b[i + 4] & 0x0F) << 6) + (b[i + 5] & 0x3F);
            k = 6;
        }
        if (k == 0)
            return 0;
        out->cp[out->len++] = c;
        i += k;
    }
    return 1;
}

/* Re-encodes t in charmap m and decodes the bytes as UTF-8, with ftfy's
 * transcoding fixes in between. 1: out holds the result; 0: it does not
 * decode; STEP_NOMEM. */
static int reinterpret_as_utf8(const lclip_charmap *m, int index, const uint32_t *t, size_t n, lclip_cpbuf *out)
{
    bytebuf bytes, restored, unlossy;
    int result = 0;
    memset(&restored, 0, sizeof restored);
    memset(&unlossy, 0, sizeof unlossy);
    if (!bytebuf_alloc(&bytes, n + 1))
        return STEP_NOMEM;
    charmap_encode(m, t, n, bytes.p);
    bytes.len = n;
    bytebuf *cur = &bytes;
    if (index != MACROMAN_INDEX && has_altered_utf8(cur->p, cur->len)) {
        if (!bytebuf_alloc(&restored, cur->len + cur->len / 2 + 1))
            goto nomem;
        restore_byte_a0(cur, &restored);
        if (restored.failed)
            goto nomem;
        cur = &restored;
    }
    if (m->sloppy) {
        size_t cap;
        if (!lclip_mul_size(cur->len, 3, &cap) || !bytebuf_alloc(&unlossy, cap + 1))
            goto nomem;
        replace_lossy_sequences(cur, &unlossy);
        if (unlossy.failed)
            goto nomem;
        cur = &unlossy;
    }
    int variants = memchr(cur->p, 0xED, cur->len) || memchr(cur->p, 0xC0, cur->len);
    lclip_cpbuf_clear(out);
    result = decode_utf8(cur, variants, out);
    if (out->failed)
        result = STEP_NOMEM;
    goto done;
nomem:
    result = STEP_NOMEM;
done:
    lclip_free(bytes.p);
    lclip_free(restored.p);
    lclip_free(unlossy.p);
    return result;
}

static int is_first_of_2(uint32_t c)
{
    return lclip_cp_in_sorted16(c, lclip_utf8_clue_first_of_2, lclip_utf8_clue_first_of_2_count);
}

static int is_first_of_3(uint32_t c)
{
    return lclip_cp_in_sorted16(c, lclip_utf8_clue_first_of_3, lclip_utf8_clue_first_of_3_count);
}

static int is_first_of_4(uint32_t c)
{
    return lclip_cp_in_sorted16(c, lclip_utf8_clue_first_of_4, lclip_utf8_clue_first_of_4_count);
}

static int is_continuation(uint32_t c)
{
    return (c >= 0x80 && c <= 0xBF) || c == ' ' ||
           lclip_cp_in_sorted16(c, lclip_utf8_clue_continuation, lclip_utf8_clue_continuation_count);
}

static int is_strict_continuation(uint32_t c)
{
    return (c >= 0x80 && c <= 0xBF) ||
           lclip_cp_in_sorted16(c, lclip_utf8_clue_continuation_strict, lclip_utf8_clue_continuation_strict_count);
}

static int continuations(const uint32_t *t, size_t n, size_t count)
{
    if (n < count)
        return 0;
    for (size_t k = 0; k < count; k++)
        if (!is_continuation(t[k]))
            return 0;
    return 1;
}

/* One repetition of UTF8_DETECTOR_RE's group at t: its length, or 0. */
static size_t utf8_clue_at(const uint32_t *t, size_t n)
{
    if (is_first_of_2(t[0]) && continuations(t + 1, n - 1, 1))
        return 2;
    if (is_first_of_3(t[0]) && continuations(t + 1, n - 1, 2))
        return 3;
    if (is_first_of_4(t[0]) && continuations(t + 1, n - 1, 3))
        return 4;
    return 0;
}

/* UTF8_DETECTOR_RE searched from `from`: a run of UTF-8-like sequences not
 * preceded by a strict continuation character. Returns 1 and [*start, *end). */
static int find_utf8_clue(const uint32_t *t, size_t n, size_t from, size_t *start, size_t *end)
{
    for (size_t i = from; i < n; i++) {
        if (i > 0 && is_strict_continuation(t[i - 1]))
            continue;
        size_t j = i, k;
        while (j < n && (k = utf8_clue_at(t + j, n - j)) != 0)
            j += k;
        if (j > i) {
            *start = i;
            *end = j;
            return 1;
        }
    }
    return 0;
}

/* decode_inconsistent_utf8: fixes each UTF-8-looking run on its own when it
 * is bad and shorter than the whole text. */
static int decode_inconsistent_utf8(const uint32_t *t, size_t n, lclip_cpbuf *out, int depth)
{
    size_t pos = 0, start, end;
    int changed = 0;
    lclip_cpbuf piece;
    lclip_cpbuf_init(&piece);
    lclip_cpbuf_clear(out);
    while (find_utf8_clue(t, n, pos, &start, &end)) {
        lclip_cpbuf_append(out, t + pos, start - pos);
        size_t len = end - start;
        if (len < n && depth < MAX_DEPTH && lclip_ftfy_is_bad(t + start, len)) {
            lclip_cpbuf_clear(&piece);
            lclip_cpbuf_append(&piece, t + start, len);
            if (piece.failed || fix_encoding_at_depth(&piece, depth + 1) != 0) {
                lclip_cpbuf_free(&piece);
                return STEP_NOMEM;
            }
            changed |= !lclip_cp_equal(piece.cp, piece.len, t + start, len);
            lclip_cpbuf_append(out, piece.cp, piece.len);
        } else {
            lclip_cpbuf_append(out, t + start, len);
        }
        pos = end;
    }
    lclip_cpbuf_append(out, t + pos, n - pos);
    lclip_cpbuf_free(&piece);
    if (out->failed)
        return STEP_NOMEM;
    return changed ? STEP_CHANGED : STEP_UNCHANGED;
}

static int all_ascii(const uint32_t *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (t[i] >= 0x80)
            return 0;
    return 1;
}

static int fits_charmap(const lclip_charmap *m, const uint32_t *t, size_t n)
{
    unsigned char byte;
    for (size_t i = 0; i < n; i++)
        if (!charmap_encode_char(m, t[i], &byte))
            return 0;
    return 1;
}

/* Latin-1 text decoded as real (strict) Windows-1252; 0 if a byte is one of
 * the five it leaves undefined, or nothing changes. */
static int latin1_as_windows_1252(const uint32_t *t, size_t n, lclip_cpbuf *out)
{
    const lclip_charmap *w = &lclip_charmaps[WINDOWS_1252_INDEX];
    int changed = 0;
    lclip_cpbuf_clear(out);
    for (size_t i = 0; i < n; i++) {
        uint32_t c = t[i];
        if (c >= 0x80 && c <= 0x9F) {
            if (c == 0x81 || c == 0x8D || c == 0x8F || c == 0x90 || c == 0x9D)
                return 0;
            c = w->high[c - 0x80];
            changed = 1;
        }
        lclip_cpbuf_push(out, c);
    }
    return changed;
}

void lclip_ftfy_fix_c1_controls(uint32_t *t, size_t n)
{
    const lclip_charmap *w = &lclip_charmaps[WINDOWS_1252_INDEX];
    for (size_t i = 0; i < n; i++)
        if (t[i] >= 0x80 && t[i] <= 0x9F)
            t[i] = w->high[t[i] - 0x80];
}

static int has_c1(const uint32_t *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (t[i] >= 0x80 && t[i] <= 0x9F)
            return 1;
    return 0;
}

/* _fix_encoding_one_step_and_explain. */
static int fix_encoding_step(const uint32_t *t, size_t n, lclip_cpbuf *out, int depth)
{
    if (n == 0 || all_ascii(t, n) || !lclip_ftfy_is_bad(t, n))
        return STEP_UNCHANGED;
    int latin1_fits = 0;
    for (int e = 0; e < LCLIP_CHARMAP_COUNT; e++) {
        const lclip_charmap *m = &lclip_charmaps[e];
        if (!fits_charmap(m, t, n))
            continue;
        latin1_fits |= e == 0;
        int r = reinterpret_as_utf8(m, e, t, n, out);
        if (r != 0)
            return r == STEP_NOMEM ? STEP_NOMEM : STEP_CHANGED;
    }
    lclip_cpbuf_clear(out);
    size_t start, end;
    if (find_utf8_clue(t, n, 0, &start, &end)) {
        int r = decode_inconsistent_utf8(t, n, out, depth);
        if (r != STEP_UNCHANGED)
            return r;
    }
    /* ftfy checks for "windows-1252" among the encodings that fit, but it
     * only ever records "sloppy-windows-1252", so Latin-1 text always gets
     * this strict Windows-1252 reading. */
    if (latin1_fits && latin1_as_windows_1252(t, n, out))
        return out->failed ? STEP_NOMEM : STEP_CHANGED;
    if (has_c1(t, n)) {
        lclip_cpbuf_clear(out);
        lclip_cpbuf_append(out, t, n);
        lclip_ftfy_fix_c1_controls(out->cp, out->len);
        if (out->failed)
            return STEP_NOMEM;
        return lclip_cp_equal(out->cp, out->len, t, n) ? STEP_UNCHANGED : STEP_CHANGED;
    }
    return STEP_UNCHANGED;
}

static int fix_encoding_at_depth(lclip_cpbuf *text, int depth)
{
    lclip_cpbuf next;
    lclip_cpbuf_init(&next);
    int result = 0;
    for (int step = 0; step < MAX_STEPS; step++) {
        int r = fix_encoding_step(text->cp, text->len, &next, depth);
        if (r == STEP_NOMEM) {
            result = -1;
            break;
        }
        if (r == STEP_UNCHANGED || lclip_cp_equal(next.cp, next.len, text->cp, text->len))
            break;
        lclip_cpbuf_swap(text, &next);
    }
    lclip_cpbuf_free(&next);
    return result;
}

int lclip_ftfy_fix_encoding(lclip_cpbuf *text)
{
    return fix_encoding_at_depth(text, 0);
}
