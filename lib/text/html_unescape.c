/* Python's html.unescape and ftfy's unescape_html over code points. */
#include "text/html_unescape.h"

#include <stdlib.h>
#include <string.h>

#include "text/html_entities.h"

/* Longest name html.unescape considers: 32 characters and a ';'. */
#define MAX_NAME 33
#define FTFY_MAX_NAME 24
#define PAST_UNICODE 0x110000u

static int entity_compare(const void *key, const void *entry)
{
    return strcmp((const char *)key, ((const lclip_html_entity *)entry)->name);
}

static const char *find_entity(const lclip_html_entity *table, size_t count, const char *name)
{
    const lclip_html_entity *e = bsearch(name, table, count, sizeof *table, entity_compare);
    return e ? e->utf8 : NULL;
}

static int is_ascii_digit(uint32_t c)
{
    return c >= '0' && c <= '9';
}

static int hex_value(uint32_t c)
{
    if (is_ascii_digit(c))
        return (int)(c - '0');
    if (c >= 'a' && c <= 'f')
        return (int)(c - 'a' + 10);
    if (c >= 'A' && c <= 'F')
        return (int)(c - 'A' + 10);
    return -1;
}

/* html's _replace_charref for a number (saturated past U+10FFFF). */
static void put_charref(uint32_t number, lclip_cpbuf *out)
{
    for (size_t i = 0; i < lclip_invalid_charrefs_count; i++) {
        if (lclip_invalid_charrefs[i].number == number) {
            lclip_cpbuf_push(out, lclip_invalid_charrefs[i].replacement);
            return;
        }
    }
    if ((number >= 0xD800 && number <= 0xDFFF) || number >= PAST_UNICODE) {
        lclip_cpbuf_push(out, 0xFFFD);
        return;
    }
    for (size_t i = 0; i < lclip_invalid_codepoints_count; i++)
        if (number >= lclip_invalid_codepoints[i].first && number <= lclip_invalid_codepoints[i].last)
            return; /* dropped */
    lclip_cpbuf_push(out, number);
}

/* '#[0-9]+;?' or '#[xX][0-9a-fA-F]+;?' at t (after the '&'): decodes it and
 * returns its length, or 0. */
static size_t numeric_charref(const uint32_t *t, size_t n, lclip_cpbuf *out)
{
    if (n < 2 || t[0] != '#')
        return 0;
    int hex = !is_ascii_digit(t[1]);
    size_t i = 1 + (size_t)hex;
    if (hex && (t[1] != 'x' && t[1] != 'X'))
        return 0;
    uint32_t number = 0;
    size_t digits = 0;
    for (; i < n; i++, digits++) {
        int d = hex ? hex_value(t[i]) : (is_ascii_digit(t[i]) ? (int)(t[i] - '0') : -1);
        if (d < 0)
            break;
        uint64_t next = (uint64_t)number * (hex ? 16u : 10u) + (uint64_t)d;
        number = next >= PAST_UNICODE ? PAST_UNICODE : (uint32_t)next;
    }
    if (digits == 0)
        return 0;
    if (i < n && t[i] == ';')
        i++;
    put_charref(number, out);
    return i;
}

/* The part of '[^\t\n\f <&#;]{1,32};?' at t; copies its ASCII prefix
 * into name (NUL-terminated) and returns the length, or 0. */
static size_t charref_name(const uint32_t *t, size_t n, char name[MAX_NAME + 1], size_t *ascii_len)
{
    size_t len = 0;
    *ascii_len = 0;
    while (len < n && len < 32) {
        uint32_t c = t[len];
        if (c == '\t' || c == '\n' || c == '\f' || c == ' ' || c == '<' || c == '&' || c == '#' || c == ';')
            break;
        len++;
    }
    if (len == 0)
        return 0;
    if (len < n && t[len] == ';')
        len++;
    while (*ascii_len < len && t[*ascii_len] < 0x80 && t[*ascii_len] != 0) {
        name[*ascii_len] = (char)t[*ascii_len];
        (*ascii_len)++;
    }
    name[*ascii_len] = '\0';
    return len;
}

/* A named reference at t: the whole name, else its longest prefix of two
 * or more characters, else left as it is. Returns the length consumed. */
static size_t named_charref(const uint32_t *t, size_t n, lclip_cpbuf *out)
{
    char name[MAX_NAME + 1];
    size_t ascii_len, len = charref_name(t, n, name, &ascii_len);
    if (len == 0)
        return 0;
    const char *value = ascii_len == len ? find_entity(lclip_html5_entities, lclip_html5_entities_count, name) : NULL;
    for (size_t x = (ascii_len < len ? ascii_len : len - 1); !value && x >= 2; x--) {
        name[x] = '\0';
        value = find_entity(lclip_html5_entities, lclip_html5_entities_count, name);
        if (value) {
            lclip_cpbuf_append_utf8(out, value);
            lclip_cpbuf_append(out, t + x, len - x);
            return len;
        }
    }
    if (value) {
        lclip_cpbuf_append_utf8(out, value);
    } else {
        lclip_cpbuf_push(out, '&');
        lclip_cpbuf_append(out, t, len);
    }
    return len;
}

int lclip_html_unescape(const uint32_t *t, size_t n, lclip_cpbuf *out)
{
    lclip_cpbuf_clear(out);
    for (size_t i = 0; i < n;) {
        if (t[i] != '&' || i + 1 >= n) {
            lclip_cpbuf_push(out, t[i++]);
            continue;
        }
        size_t k = numeric_charref(t + i + 1, n - i - 1, out);
        if (k == 0)
            k = named_charref(t + i + 1, n - i - 1, out);
        if (k == 0)
            lclip_cpbuf_push(out, t[i++]);
        else
            i += 1 + k;
    }
    return out->failed ? -1 : 0;
}

static int is_ascii_alnum(uint32_t c)
{
    return is_ascii_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* '&#?[0-9A-Za-z]{1,24};' at t (t[0] == '&'): its length, or 0. */
static size_t ftfy_entity_length(const uint32_t *t, size_t n)
{
    size_t i = 1;
    if (i < n && t[i] == '#')
        i++;
    size_t run = 0;
    while (i + run < n && is_ascii_alnum(t[i + run]))
        run++;
    if (run == 0 || run > FTFY_MAX_NAME || i + run >= n || t[i + run] != ';')
        return 0;
    return i + run + 1;
}

/* ftfy's _unescape_fixup for one matched reference t[0..len). */
static int ftfy_fixup(const uint32_t *t, size_t len, lclip_cpbuf *out)
{
    char name[FTFY_MAX_NAME + 3];
    for (size_t k = 1; k < len; k++)
        name[k - 1] = (char)t[k];
    name[len - 1] = '\0';
    const char *value = find_entity(lclip_html5_entities, lclip_html5_entities_count, name);
    if (!value)
        value = find_entity(lclip_ftfy_upper_entities, lclip_ftfy_upper_entities_count, name);
    if (value) {
        lclip_cpbuf_append_utf8(out, value);
        return 0;
    }
    if (t[1] != '#') {
        lclip_cpbuf_append(out, t, len);
        return 0;
    }
    /* html.unescape decides; a ';' left in its result means it decoded
     * only part of the reference, which ftfy rejects. */
    lclip_cpbuf decoded;
    lclip_cpbuf_init(&decoded);
    int rc = lclip_html_unescape(t, len, &decoded);
    int partial = 0;
    for (size_t k = 0; k < decoded.len; k++)
        partial |= decoded.cp[k] == ';';
    if (partial)
        lclip_cpbuf_append(out, t, len);
    else
        lclip_cpbuf_append(out, decoded.cp, decoded.len);
    lclip_cpbuf_free(&decoded);
    return rc;
}

int lclip_ftfy_unescape_html(const uint32_t *t, size_t n, lclip_cpbuf *out)
{
    lclip_cpbuf_clear(out);
    for (size_t i = 0; i < n;) {
        size_t len = t[i] == '&' ? ftfy_entity_length(t + i, n - i) : 0;
        if (len == 0) {
            lclip_cpbuf_push(out, t[i++]);
            continue;
        }
        if (ftfy_fixup(t + i, len, out) != 0)
            return -1;
        i += len;
    }
    return out->failed ? -1 : 0;
}
