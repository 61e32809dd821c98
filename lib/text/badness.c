/* ftfy 6.3.1's "badness" heuristic (ftfy/badness.py): the few hundred
 * characters that occur in UTF-8 mojibake are sorted into categories, and
 * text is bad when some pair or triple of them appears in an order that real
 * text almost never has (say, an accented lower-case letter followed by a
 * currency sign). Each rule below is one alternative of ftfy's BADNESS_RE;
 * is_bad asks whether any of them matches anywhere. */
#include <stdint.h>
#include <utf8proc.h>

#include "text/mojibake.h"

enum {
    COMMON = 1 << 0,
    C1 = 1 << 1,
    BAD = 1 << 2,
    LAW = 1 << 3,
    CURRENCY = 1 << 4,
    START = 1 << 5, /* start punctuation */
    END = 1 << 6,   /* end punctuation */
    NUMERIC = 1 << 7,
    KAOMOJI = 1 << 8,
    UPPER = 1 << 9,  /* upper-case accented */
    LOWER = 1 << 10, /* lower-case accented */
    UPPER_COMMON = 1 << 11,
    LOWER_COMMON = 1 << 12,
    BOX = 1 << 13
};

#define R(a, b) {a, b}
#define ONE(a) {a, a}

static const lclip_cp_range common_chars[] = {
    ONE(0xA0), ONE(0xAD), ONE(0xB4), ONE(0xB7), R(0x2013, 0x2015), ONE(0x2019), ONE(0x2026)};
static const lclip_cp_range c1_chars[] = {R(0x80, 0x9F)};
static const lclip_cp_range bad_chars[] = {
    ONE(0xA4), ONE(0xA6), ONE(0xA8), ONE(0xAA), ONE(0xAC), ONE(0xAF), ONE(0xB8), ONE(0xBA),
    ONE(0x192), ONE(0x2C6), ONE(0x2C7), ONE(0x2D8), ONE(0x2DB), ONE(0x2DC), R(0x2020, 0x2021),
    ONE(0x2030), ONE(0x2310), ONE(0x25CA), ONE(0xFFFD)};
static const lclip_cp_range law_chars[] = {ONE(0xA7), ONE(0xB6)};
static const lclip_cp_range currency_chars[] = {R(0xA2, 0xA3), ONE(0xA5), ONE(0x20A7), ONE(0x20AC)};
static const lclip_cp_range start_chars[] = {
    ONE(0xA1), ONE(0xA9), ONE(0xAB), ONE(0xBF), R(0x384, 0x385), ONE(0x2018), ONE(0x201A),
    ONE(0x201C), ONE(0x201E), ONE(0x2022), ONE(0x2039), ONE(0xF8FF)};
static const lclip_cp_range end_chars[] = {
    ONE(0xAE), ONE(0xBB), ONE(0x2DD), ONE(0x201D), ONE(0x203A), ONE(0x2122)};
static const lclip_cp_range numeric_chars[] = {
    R(0xB1, 0xB3), ONE(0xB5), ONE(0xB9), R(0xBC, 0xBE), ONE(0xD7), ONE(0xF7), ONE(0x2044),
    ONE(0x2116), ONE(0x2202), ONE(0x2206), ONE(0x220F), ONE(0x2211), ONE(0x221A), ONE(0x221E),
    ONE(0x2229), ONE(0x222B), ONE(0x2248), R(0x2260, 0x2261), R(0x2264, 0x2265)};
static const lclip_cp_range kaomoji_chars[] = {
    ONE(0xB0), R(0xD2, 0xD6), R(0xD9, 0xDC), R(0xF2, 0xF6), R(0xF8, 0xFC), ONE(0x14C),
    ONE(0x150), ONE(0x16A), ONE(0x172)};
static const lclip_cp_range upper_chars[] = {
    R(0xC0, 0xD1), ONE(0xD8), R(0xDC, 0xDD), ONE(0x100), ONE(0x102), ONE(0x104), ONE(0x106),
    ONE(0x10C), ONE(0x10E), ONE(0x110), ONE(0x112), ONE(0x116), ONE(0x118), ONE(0x11A),
    ONE(0x11E), ONE(0x122), ONE(0x12A), ONE(0x130), ONE(0x136), ONE(0x139), ONE(0x13B),
    ONE(0x13D), ONE(0x141), ONE(0x143), ONE(0x145), ONE(0x147), ONE(0x152), ONE(0x158),
    ONE(0x15A), ONE(0x15E), ONE(0x160), ONE(0x162), ONE(0x164), ONE(0x16E), ONE(0x170),
    R(0x178, 0x179), ONE(0x17B), ONE(0x17D), ONE(0x490)};
static const lclip_cp_range lower_chars[] = {
    R(0xDF, 0xF1), ONE(0xFC), ONE(0x101), ONE(0x103), ONE(0x105), ONE(0x107), ONE(0x10D),
    ONE(0x10F), ONE(0x111), ONE(0x113), ONE(0x117), ONE(0x119), ONE(0x11B), ONE(0x11F),
    ONE(0x123), ONE(0x12B), ONE(0x12F), ONE(0x137), ONE(0x13A), ONE(0x13C), ONE(0x13E),
    ONE(0x142), ONE(0x153), ONE(0x155), ONE(0x15B), ONE(0x15F), ONE(0x161), ONE(0x165),
    ONE(0x17A), ONE(0x17C), ONE(0x17E), ONE(0x491), R(0xFB01, 0xFB02)};
static const lclip_cp_range upper_common_chars[] = {
    ONE(0xDE), ONE(0x386), R(0x388, 0x38A), ONE(0x38C), R(0x38E, 0x3A9), R(0x3AA, 0x3AB),
    R(0x401, 0x42F)};
static const lclip_cp_range lower_common_chars[] = {R(0x3AC, 0x3C9), R(0x430, 0x45F)};
static const lclip_cp_range box_chars[] = {
    ONE(0x2502), ONE(0x250C), ONE(0x2510), ONE(0x2518), ONE(0x251C), ONE(0x2524), ONE(0x252C),
    ONE(0x253C), R(0x2550, 0x256C), ONE(0x2580), ONE(0x2584), ONE(0x2588), ONE(0x258C),
    R(0x2590, 0x2593)};

#define CATEGORY(mask, table) {mask, table, sizeof table / sizeof table[0]}
static const struct {
    unsigned mask;
    const lclip_cp_range *ranges;
    size_t count;
} categories[] = {
    CATEGORY(COMMON, common_chars),      CATEGORY(C1, c1_chars),
    CATEGORY(BAD, bad_chars),            CATEGORY(LAW, law_chars),
    CATEGORY(CURRENCY, currency_chars),  CATEGORY(START, start_chars),
    CATEGORY(END, end_chars),            CATEGORY(NUMERIC, numeric_chars),
    CATEGORY(KAOMOJI, kaomoji_chars),    CATEGORY(UPPER, upper_chars),
    CATEGORY(LOWER, lower_chars),        CATEGORY(UPPER_COMMON, upper_common_chars),
    CATEGORY(LOWER_COMMON, lower_common_chars), CATEGORY(BOX, box_chars),
};

static unsigned category_mask(uint32_t c)
{
    if (c < 0x80)
        return 0;
    unsigned mask = 0;
    for (size_t i = 0; i < sizeof categories / sizeof categories[0]; i++)
        if (lclip_cp_in_ranges(c, categories[i].ranges, categories[i].count))
            mask |= categories[i].mask;
    return mask;
}

/* Python's str.isspace, which re's \s follows. */
static int py_space(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

static int ascii_lower(uint32_t c)
{
    return c >= 'a' && c <= 'z';
}

static int ascii_letter(uint32_t c)
{
    return ascii_lower(c) || (c >= 'A' && c <= 'Z');
}

/* re's \w: letters, digits, other numerics and '_'. */
static int py_word(uint32_t c)
{
    if (c < 0x80)
        return c == '_' || ascii_letter(c) || (c >= '0' && c <= '9');
    if (c > 0x10FFFF)
        return 0;
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM: case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
        return 1;
    default:
        return 0;
    }
}

static int one_of(uint32_t c, const uint32_t *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (set[i] == c)
            return 1;
    return 0;
}
#define ONE_OF(c, ...) \
    one_of(c, (const uint32_t[]){__VA_ARGS__}, sizeof((const uint32_t[]){__VA_ARGS__}) / sizeof(uint32_t))

/* Past the end of the text: matches no character and no category. */
#define NONE UINT32_MAX

/* c[k], m[k]: the characters at the position and after it, and their
 * categories. */
static int category_rules(const uint32_t *c, const unsigned *m)
{
    const unsigned ordinary = BAD | LOWER | UPPER | BOX | START | END | CURRENCY | NUMERIC | LAW;
    return (m[0] & C1) ||
           ((m[0] & ordinary) && (m[1] & BAD)) ||
           ((m[0] & BAD) && (m[1] & (ordinary & ~BAD))) ||
           ((m[0] & (LOWER | LOWER_COMMON | BOX | END | CURRENCY | NUMERIC)) && (m[1] & UPPER)) ||
           ((m[0] & (BOX | END | CURRENCY | NUMERIC)) && (m[1] & LOWER)) ||
           ((m[0] & (LOWER | BOX | END)) && (m[1] & CURRENCY)) ||
           ((m[0] & (UPPER | BOX)) && (m[1] & (NUMERIC | LAW))) ||
           ((m[0] & (LOWER | UPPER | BOX | CURRENCY | END)) && (m[1] & START) && (m[2] & NUMERIC)) ||
           ((m[0] & (LOWER | UPPER | CURRENCY | NUMERIC | BOX | LAW)) && (m[1] & END) && (m[2] & START)) ||
           ((m[0] & (CURRENCY | NUMERIC | BOX)) && (m[1] & START)) ||
           ((m[0] & BOX) && (m[1] & (KAOMOJI | END))) ||
           ((m[0] & (LOWER | UPPER | CURRENCY | NUMERIC | START | END | LAW)) && (m[1] & BOX)) ||
           ((m[0] & (LOWER | UPPER)) && (m[1] & (START | END)) && c[2] != NONE && py_word(c[2])) ||
           ((m[0] & UPPER) && c[1] == 0xB0);
}

/* Arabic in Windows-1252: Ø/Ù then one of these, twice. */
static int arabic_second(uint32_t c, unsigned m)
{
    return (m & (COMMON | CURRENCY | BAD | NUMERIC | START)) || ONE_OF(c, 0x178, 0x160, 0xAE, 0xB0, 0xB5, 0xBB);
}

/* Specific sequences of Windows-125x and MacRoman mojibake. */
static int sequence_rules(const uint32_t *c, const unsigned *m)
{
    switch (c[0]) {
    case 0x152: case 0x153: /* Œ œ not followed by a Latin letter */
        return c[1] != NONE && !ascii_letter(c[1]);
    case 0xC2: case 0xC3: case 0xCE: case 0xD0: /* Â Ã Î Ð */
        if (ONE_OF(c[1], 0x20AC, 0x153, 0x160, 0x161, 0xA2, 0xA3, 0x178, 0x17E, 0xA0, 0xAD, 0xAE, 0xA9, 0xB0,
                   0xB7, 0xBB, 0x2013, 0x2014, 0xB4) ||
            (m[1] & (START | END)))
            return 1;
        return c[0] == 0xC3 && ONE_OF(c[1], 0xA0, 0xA1);
    case 0xD7: /* × */
        return c[1] == 0xB2 || c[1] == 0xB3;
    case 0xD8: case 0xD9: /* Ø Ù */
        return arabic_second(c[1], m[1]) && (c[2] == 0xD8 || c[2] == 0xD9) && arabic_second(c[3], m[3]);
    case 0xE0: /* à */
        return ONE_OF(c[1], 0xB2, 0xB5, 0xB9, 0xBC, 0xBD, 0xBE);
    case 0x221A: /* √ */
        return ONE_OF(c[1], 0xB1, 0x2202, 0x2020, 0x2260, 0xAE, 0x2122, 0xB4, 0x2264, 0x2265, 0xA5, 0xB5, 0xF8);
    case 0x2248: /* ≈ */
        return c[1] == 0xB0 || c[1] == 0xA2;
    case 0x201A: /* ‚ */
        return (c[1] == 0xC4 && ONE_OF(c[2], 0xEC, 0xEE, 0xEF, 0xF2, 0xF4, 0xFA, 0xF9, 0xFB, 0x2020, 0xB0, 0xA2,
                                       0x3C0)) ||
               ((c[1] == 0xE2 || c[1] == 0xF3) && ONE_OF(c[2], 0xE0, 0xE4, 0xB0, 0xEA));
    case 0x432: /* вЂ */
        return c[1] == 0x402;
    case 0x412: case 0x413: case 0x420: case 0x421: /* В Г Р С */
        return ((m[1] & (C1 | BAD | START | END | CURRENCY)) || c[1] == 0xB0 || c[1] == 0xB5) &&
               ONE_OF(c[2], 0x412, 0x413, 0x420, 0x421);
    case 0x3B2: /* β€ */
        return c[1] == 0x20AC && ONE_OF(c[2], 0x2122, 0xA0, 0x386, 0xAD, 0xAE, 0xB0);
    case 0x392: case 0x393: case 0x39E: case 0x39F: /* Β Γ Ξ Ο */
        return ((m[1] & (C1 | BAD | START | END | CURRENCY)) || c[1] == 0xB0) && ONE_OF(c[2], 0x392, 0x393, 0x39E, 0x39F);
    case 0x101: /* ā€ */
        return c[1] == 0x20AC;
    default:
        return 0;
    }
}

/* ГўВЂВ, any character but a newline, then a Latin letter or space. */
static int cyrillic_rule(const uint32_t *t, size_t n, size_t i)
{
    static const uint32_t prefix[5] = {0x413, 0x45E, 0x412, 0x402, 0x412};
    if (n - i < 7)
        return 0;
    for (int k = 0; k < 5; k++)
        if (t[i + k] != prefix[k])
            return 0;
    return t[i + 5] != '\n' && (ascii_letter(t[i + 6]) || t[i + 6] == ' ');
}

/* Rules whose first character is ASCII. */
static int ascii_rules(const uint32_t *c, const unsigned *m)
{
    int a_hat = c[1] == 0xC3 || c[1] == 0xC2; /* Ã or Â */
    if (ascii_letter(c[0]) && (m[1] & (LOWER_COMMON | UPPER_COMMON)) && (m[2] & BAD))
        return 1;
    if (py_space(c[0]) && (m[1] & UPPER) && (m[2] & CURRENCY))
        return 1;
    if (ascii_lower(c[0]) && (m[1] & UPPER) && (m[2] & (START | CURRENCY)))
        return 1;
    if (ascii_lower(c[0]) && ((a_hat && c[2] == ' ') ||
                              (c[1] != NONE && py_space(c[1]) && (c[2] == 0xC3 || c[2] == 0xC2) && c[3] == ' ')))
        return 1;
    if ((ascii_lower(c[0]) || ONE_OF(c[0], '.', ',', '?', '!')) && c[1] == 0xC2 &&
        (c[2] == ' ' || (m[2] & (START | END))))
        return 1;
    return 0;
}

int lclip_ftfy_is_bad(const uint32_t *t, size_t n)
{
    uint32_t c[4];
    unsigned m[4];
    for (int k = 0; k < 4; k++) {
        c[k] = (size_t)k < n ? t[k] : NONE;
        m[k] = c[k] == NONE ? 0 : category_mask(c[k]);
    }
    for (size_t i = 0; i < n; i++) {
        if (c[0] < 0x80) {
            if (ascii_rules(c, m))
                return 1;
        } else {
            if ((m[0] & END) && c[1] == 0xC2 && (c[2] == ' ' || (m[2] & (START | END))))
                return 1;
            if (category_rules(c, m) || sequence_rules(c, m) || cyrillic_rule(t, n, i))
                return 1;
        }
        if (i == 0 && (c[0] == 0xC3 || c[0] == 0xC2) && c[1] == ' ')
            return 1;
        for (int k = 0; k < 3; k++) {
            c[k] = c[k + 1];
            m[k] = m[k + 1];
        }
        c[3] = i + 4 < n ? t[i + 4] : NONE;
        m[3] = c[3] == NONE ? 0 : category_mask(c[3]);
    }
    return 0;
}
