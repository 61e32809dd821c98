/* CLIP's pre-tokenisation regex as a hand-written matcher: alternatives are
 * tried in the pattern's order at each position, the first that matches
 * wins, and the search resumes after it. */
#include "text/pretokenize.h"

#include <string.h>
#include <utf8proc.h>

#include "text/text_clean.h"

#define LONG_S 0x17F /* ſ, which IGNORECASE matches for 's' (simple case folding) */

static int is_letter(uint32_t c)
{
    if (c < 0x80)
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO:
        return 1;
    default:
        return 0;
    }
}

static int is_number(uint32_t c)
{
    if (c < 0x80)
        return c >= '0' && c <= '9';
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
        return 1;
    default:
        return 0;
    }
}

/* Case-insensitive match of an ASCII literal; the text is lower-cased
 * already, so only ſ ~ s remains to fold. Returns the length or 0. */
static size_t literal_at(const uint32_t *t, size_t n, const char *lit)
{
    size_t len = strlen(lit);
    if (n < len)
        return 0;
    for (size_t i = 0; i < len; i++) {
        uint32_t c = t[i], want = (unsigned char)lit[i];
        if (c != want && !(want == 's' && c == LONG_S) && !(c < 0x80 && c >= 'A' && c <= 'Z' && c + 32 == want))
            return 0;
    }
    return len;
}

static size_t contraction_at(const uint32_t *t, size_t n)
{
    static const char *const forms[] = {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};
    for (size_t k = 0; k < sizeof forms / sizeof forms[0]; k++) {
        size_t len = literal_at(t, n, forms[k]);
        if (len)
            return len;
    }
    return 0;
}

static int is_other(uint32_t c)
{
    return !lclip_is_regex_space(c) && !is_letter(c) && !is_number(c);
}

int lclip_next_piece(const uint32_t *t, size_t n, size_t *pos, size_t *start, lclip_piece_kind *kind)
{
    for (size_t i = *pos; i < n; i++) {
        size_t len;
        *start = i;
        *kind = LCLIP_PIECE_TEXT;
        if ((len = literal_at(t + i, n - i, "<|startoftext|>")) != 0) {
            *kind = LCLIP_PIECE_START;
        } else if ((len = literal_at(t + i, n - i, "<|endoftext|>")) != 0) {
            *kind = LCLIP_PIECE_END;
        } else if ((len = contraction_at(t + i, n - i)) == 0) {
            if (is_letter(t[i])) {
                for (len = 1; i + len < n && is_letter(t[i + len]); len++) {
                }
            } else if (is_number(t[i])) {
                len = 1;
            } else if (is_other(t[i])) {
                for (len = 1; i + len < n && is_other(t[i + len]); len++) {
                }
            } else {
                continue; /* whitespace */
            }
        }
        *pos = i + len;
        return 1;
    }
    *pos = n;
    return 0;
}
