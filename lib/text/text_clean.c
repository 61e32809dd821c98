/* ftfy.fix_text with its default configuration, then the reference's
 * html.unescape x2, whitespace folding and str.lower(). ftfy works line by
 * line; each line is fixed repeatedly until a full round of fixes leaves it
 * unchanged. */
#include "text/text_clean.h"

#include <string.h>
#include <utf8proc.h>

#include "common/alloc.h"
#include "common/error.h"
#include "text/html_unescape.h"
#include "text/mojibake.h"
#include "text/unicode_tables.h"

/* ftfy's max_decode_length: longer lines are fixed in pieces this long. */
#define MAX_SEGMENT 1000000
/* A fixing round per line is repeated until nothing changes, which for
 * nested escapes ("&amp;amp;amp;...") takes one round per level. The rounds
 * of the whole text share this budget of code points processed, so that no
 * text costs more than about twice it; every line still gets MIN_ROUNDS, and
 * the result is exact for any text whose nesting fits the budget. */
#define ROUND_BUDGET (16u * 1024 * 1024)
#define MIN_ROUNDS 16

static int is_python_space(uint32_t c) /* str.isspace */
{
    return (c >= 0x1C && c <= 0x1F) || lclip_is_regex_space(c);
}

int lclip_is_regex_space(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
           c == 0x3000;
}

/* fix_latin_ligatures */
static const lclip_cp_string ligatures[] = {
    {0x132, "IJ"}, {0x133, "ij"}, {0x149, "\xca\xbcn"}, {0x1C4, "D\xc5\xbd"}, {0x1C5, "D\xc5\xbe"},
    {0x1C6, "d\xc5\xbe"}, {0x1C7, "LJ"}, {0x1C8, "Lj"}, {0x1C9, "lj"}, {0x1CA, "NJ"}, {0x1CB, "Nj"},
    {0x1CC, "nj"}, {0x1F1, "DZ"}, {0x1F2, "Dz"}, {0x1F3, "dz"}, {0xFB00, "ff"}, {0xFB01, "fi"},
    {0xFB02, "fl"}, {0xFB03, "ffi"}, {0xFB04, "ffl"}, {0xFB05, "\xc5\xbft"}, {0xFB06, "st"},
};

static const char *lookup_cp_string(const lclip_cp_string *table, size_t count, uint32_t c)
{
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (table[mid].codepoint == c)
            return table[mid].utf8;
        if (table[mid].codepoint < c)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* fix_latin_ligatures, then fix_character_width (translate tables). */
static void translate_ligatures_and_width(const lclip_cpbuf *in, lclip_cpbuf *out)
{
    lclip_cpbuf_clear(out);
    for (size_t i = 0; i < in->len; i++) {
        uint32_t c = in->cp[i];
        const char *s = NULL;
        if (c >= 0x132 && c <= 0xFB06)
            s = lookup_cp_string(ligatures, sizeof ligatures / sizeof ligatures[0], c);
        if (s) {
            /* a ligature's letters have no width forms */
            lclip_cpbuf_append_utf8(out, s);
            continue;
        }
        if (c == 0x3000 || (c >= 0xFF01 && c <= 0xFFEF))
            s = lookup_cp_string(lclip_width_map, lclip_width_map_count, c);
        if (s)
            lclip_cpbuf_append_utf8(out, s);
        else
            lclip_cpbuf_push(out, c);
    }
}

/* uncurl_quotes */
static void uncurl_quotes(lclip_cpbuf *t)
{
    for (size_t i = 0; i < t->len; i++) {
        uint32_t c = t->cp[i];
        if (c == 0x2BC || (c >= 0x2018 && c <= 0x201B))
            t->cp[i] = '\'';
        else if (c >= 0x201C && c <= 0x201F)
            t->cp[i] = '"';
    }
}

/* fix_line_breaks */
static void fix_line_breaks(lclip_cpbuf *t)
{
    size_t w = 0;
    for (size_t i = 0; i < t->len; i++) {
        uint32_t c = t->cp[i];
        if (c == '\r' && i + 1 < t->len && t->cp[i + 1] == '\n')
            i++;
        else if (c == '\r' || c == 0x2028 || c == 0x2029 || c == 0x85)
            c = '\n';
        t->cp[w++] = c;
    }
    t->len = w;
}

static int is_decimal_digit(uint32_t c) /* re's \d: Unicode Nd */
{
    return c <= 0x10FFFF && utf8proc_category((utf8proc_int32_t)c) == UTF8PROC_CATEGORY_ND;
}

/* remove_terminal_escapes: ESC '[' (digits | ';')* letter. */
static void remove_terminal_escapes(lclip_cpbuf *t)
{
    size_t w = 0;
    for (size_t i = 0; i < t->len; i++) {
        if (t->cp[i] == 0x1B && i + 1 < t->len && t->cp[i + 1] == '[') {
            size_t j = i + 2;
            while (j < t->len && (t->cp[j] == ';' || is_decimal_digit(t->cp[j])))
                j++;
            uint32_t c = j < t->len ? t->cp[j] : 0;
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
                i = j;
                continue;
            }
        }
        t->cp[w++] = t->cp[i];
    }
    t->len = w;
}

/* remove_control_chars */
static int is_removed_control(uint32_t c)
{
    return c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F || (c >= 0x206A && c <= 0x206F) ||
           c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
}

static void remove_control_chars(lclip_cpbuf *t)
{
    size_t w = 0;
    for (size_t i = 0; i < t->len; i++)
        if (!is_removed_control(t->cp[i]))
            t->cp[w++] = t->cp[i];
    t->len = w;
}

/* Unicode NFC through utf8proc; -1 when out of memory. */
static int normalize_nfc(const lclip_cpbuf *in, lclip_cpbuf *out)
{
    size_t i = 0;
    while (i < in->len && in->cp[i] < 0x300)
        i++;
    lclip_cpbuf_clear(out);
    if (i == in->len) { /* nothing below U+0300 composes or reorders */
        lclip_cpbuf_append(out, in->cp, in->len);
        return out->failed ? -1 : 0;
    }
    size_t bytes_len;
    if (!lclip_mul_size(in->len, 4, &bytes_len))
        return -1;
    unsigned char *bytes = lclip_malloc(bytes_len);
    if (!bytes)
        return -1;
    size_t used = 0;
    for (size_t k = 0; k < in->len; k++)
        used += lclip_utf8_encode_one(in->cp[k], bytes + used);
    int rc = -1;
    const utf8proc_option_t options = UTF8PROC_STABLE | UTF8PROC_COMPOSE;
    utf8proc_ssize_t need = utf8proc_decompose(bytes, (utf8proc_ssize_t)used, NULL, 0, options);
    if (need >= 0 && lclip_cpbuf_reserve(out, (size_t)need + 1)) {
        utf8proc_int32_t *buf = (utf8proc_int32_t *)out->cp;
        utf8proc_ssize_t got = utf8proc_decompose(bytes, (utf8proc_ssize_t)used, buf, need, options);
        if (got == need) {
            got = utf8proc_normalize_utf32(buf, got, options);
            if (got >= 0) {
                out->len = (size_t)got;
                rc = 0;
            }
        }
    }
    lclip_free(bytes);
    return rc;
}

/* One round of fix_and_explain's fixes on *t (tmp is scratch). */
static int fix_round(lclip_cpbuf *t, lclip_cpbuf *tmp, int unescape)
{
    if (unescape) {
        if (lclip_ftfy_unescape_html(t->cp, t->len, tmp) != 0)
            return -1;
        lclip_cpbuf_swap(t, tmp);
    }
    if (lclip_ftfy_fix_encoding(t) != 0)
        return -1;
    lclip_ftfy_fix_c1_controls(t->cp, t->len);
    translate_ligatures_and_width(t, tmp);
    if (tmp->failed)
        return -1;
    lclip_cpbuf_swap(t, tmp);
    uncurl_quotes(t);
    fix_line_breaks(t);
    /* fix_surrogates: text decoded from valid UTF-8 never holds any */
    remove_terminal_escapes(t);
    remove_control_chars(t);
    if (normalize_nfc(t, tmp) != 0)
        return -1;
    lclip_cpbuf_swap(t, tmp);
    return 0;
}

/* fix_and_explain on one segment, appended to out; *budget is what is left
 * of the text's ROUND_BUDGET. */
static int fix_segment(const uint32_t *seg, size_t n, int unescape, size_t *budget, lclip_cpbuf *out)
{
    lclip_cpbuf text, before, tmp;
    lclip_cpbuf_init(&text);
    lclip_cpbuf_init(&before);
    lclip_cpbuf_init(&tmp);
    lclip_cpbuf_append(&text, seg, n);
    int rc = text.failed ? -1 : 0;
    for (size_t r = 0; rc == 0 && (r < MIN_ROUNDS || *budget > n); r++) {
        *budget = *budget > n ? *budget - n - 1 : 0;
        lclip_cpbuf_clear(&before);
        lclip_cpbuf_append(&before, text.cp, text.len);
        if (before.failed || fix_round(&text, &tmp, unescape) != 0)
            rc = -1;
        else if (lclip_cp_equal(text.cp, text.len, before.cp, before.len))
            break;
    }
    if (rc == 0)
        lclip_cpbuf_append(out, text.cp, text.len);
    lclip_cpbuf_free(&text);
    lclip_cpbuf_free(&before);
    lclip_cpbuf_free(&tmp);
    return rc;
}

static int contains(const uint32_t *t, size_t n, uint32_t c)
{
    for (size_t i = 0; i < n; i++)
        if (t[i] == c)
            return 1;
    return 0;
}

lclip_status lclip_ftfy_fix_text(const uint32_t *text, size_t n, lclip_cpbuf *out)
{
    /* unescape_html="auto" turns off for good at the first line with a '<' */
    int unescape = 1;
    size_t budget = ROUND_BUDGET;
    lclip_cpbuf_clear(out);
    for (size_t pos = 0; pos < n;) {
        size_t end = pos;
        while (end < n && text[end] != '\n')
            end++;
        end = end < n ? end + 1 : n;
        if (end - pos > MAX_SEGMENT)
            end = pos + MAX_SEGMENT;
        if (unescape && contains(text + pos, end - pos, '<'))
            unescape = 0;
        if (fix_segment(text + pos, end - pos, unescape, &budget, out) != 0)
            return lclip_fail(LCLIP_E_NOMEM, "out of memory cleaning a text");
        pos = end;
    }
    return out->failed ? lclip_fail(LCLIP_E_NOMEM, "out of memory cleaning a text") : LCLIP_OK;
}

static int in_table(uint32_t c, const lclip_cp_range *ranges, size_t count)
{
    return lclip_cp_in_ranges(c, ranges, count);
}

/* Python's final-sigma rule: a capital sigma after a cased letter (skipping
 * case-ignorable characters) and not before one becomes 'ς'. */
static int final_sigma(const uint32_t *t, size_t n, size_t i)
{
    size_t j = i;
    int found = 0;
    while (j > 0 && !found)
        found = !in_table(t[--j], lclip_case_ignorable_ranges, lclip_case_ignorable_ranges_count);
    if (!found || !in_table(t[j], lclip_cased_ranges, lclip_cased_ranges_count))
        return 0;
    for (j = i + 1; j < n; j++)
        if (!in_table(t[j], lclip_case_ignorable_ranges, lclip_case_ignorable_ranges_count))
            return !in_table(t[j], lclip_cased_ranges, lclip_cased_ranges_count);
    return 1;
}

/* str.lower(): simple mappings plus Python's two special cases. */
static void lower_case(const lclip_cpbuf *in, lclip_cpbuf *out)
{
    lclip_cpbuf_clear(out);
    for (size_t i = 0; i < in->len; i++) {
        uint32_t c = in->cp[i];
        if (c < 0x80) {
            lclip_cpbuf_push(out, c >= 'A' && c <= 'Z' ? c + 32 : c);
        } else if (c == 0x130) { /* İ: 'i' + COMBINING DOT ABOVE */
            lclip_cpbuf_push(out, 'i');
            lclip_cpbuf_push(out, 0x307);
        } else if (c == 0x3A3) {
            lclip_cpbuf_push(out, final_sigma(in->cp, in->len, i) ? 0x3C2 : 0x3C3);
        } else {
            lclip_cpbuf_push(out, (uint32_t)utf8proc_tolower((utf8proc_int32_t)c));
        }
    }
}

/* strip() with the given notion of space, then (fold) runs of it to ' '. */
static void fold_spaces(const lclip_cpbuf *in, lclip_cpbuf *out, int (*is_space)(uint32_t), int fold)
{
    size_t a = 0, b = in->len;
    while (a < b && is_space(in->cp[a]))
        a++;
    while (b > a && is_space(in->cp[b - 1]))
        b--;
    lclip_cpbuf_clear(out);
    for (size_t i = a; i < b; i++) {
        if (fold && is_space(in->cp[i])) {
            while (i + 1 < b && is_space(in->cp[i + 1]))
                i++;
            lclip_cpbuf_push(out, ' ');
        } else {
            lclip_cpbuf_push(out, in->cp[i]);
        }
    }
}

lclip_status lclip_text_clean(const uint32_t *text, size_t n, lclip_cpbuf *out)
{
    lclip_cpbuf a, b;
    lclip_cpbuf_init(&a);
    lclip_cpbuf_init(&b);
    lclip_status s = lclip_ftfy_fix_text(text, n, &a);
    if (s == LCLIP_OK) {
        if (lclip_html_unescape(a.cp, a.len, &b) != 0 || lclip_html_unescape(b.cp, b.len, &a) != 0)
            s = lclip_fail(LCLIP_E_NOMEM, "out of memory cleaning a text");
    }
    if (s == LCLIP_OK) {
        fold_spaces(&a, &b, is_python_space, 0);     /* basic_clean's strip() */
        fold_spaces(&b, &a, lclip_is_regex_space, 1); /* whitespace_clean */
        lower_case(&a, out);
        if (a.failed || b.failed || out->failed)
            s = lclip_fail(LCLIP_E_NOMEM, "out of memory cleaning a text");
    }
    lclip_cpbuf_free(&a);
    lclip_cpbuf_free(&b);
    return s;
}
