#include "text/vocab_json.h"

#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "text/codepoints.h"

typedef struct cursor {
    const char *path;
    char *start, *p, *end;
} cursor;

static lclip_status syntax_error(const cursor *c, const char *what)
{
    return lclip_fail(LCLIP_E_FORMAT, "%s: not a JSON object of token ids: %s at byte %zu", c->path, what,
                      (size_t)(c->p - c->start));
}

static void skip_space(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int hex4(const char *s, const char *end, uint32_t *value)
{
    if (end - s < 4)
        return 0;
    *value = 0;
    for (int i = 0; i < 4; i++) {
        char h = s[i];
        uint32_t digit = h >= '0' && h <= '9'   ? (uint32_t)(h - '0')
                         : h >= 'a' && h <= 'f' ? (uint32_t)(h - 'a' + 10)
                         : h >= 'A' && h <= 'F' ? (uint32_t)(h - 'A' + 10)
                                                : 16u;
        if (digit == 16)
            return 0;
        *value = *value << 4 | digit;
    }
    return 1;
}

/* \uXXXX at c->p (past the backslash and 'u'), a surrogate pair taking two. */
static lclip_status unicode_escape(cursor *c, uint32_t *cp)
{
    if (!hex4(c->p, c->end, cp))
        return syntax_error(c, "bad \\u escape");
    c->p += 4;
    if (*cp >= 0xDC00 && *cp <= 0xDFFF)
        return syntax_error(c, "unpaired low surrogate");
    if (*cp >= 0xD800 && *cp <= 0xDBFF) {
        uint32_t low;
        if (c->end - c->p < 2 || c->p[0] != '\\' || c->p[1] != 'u' || !hex4(c->p + 2, c->end, &low) ||
            low < 0xDC00 || low > 0xDFFF)
            return syntax_error(c, "unpaired high surrogate");
        c->p += 6;
        *cp = 0x10000 + ((*cp - 0xD800) << 10) + (low - 0xDC00);
    }
    if (*cp == 0)
        return syntax_error(c, "U+0000 in a token");
    return LCLIP_OK;
}

/* A string at c->p (its opening quote), unescaped over itself; the result
 * is never longer than its escaped form, so writing trails reading. */
static lclip_status parse_string(cursor *c, lclip_vocab_json_entry *entry)
{
    char *out = c->p++;
    entry->token = out;
    while (c->p < c->end && *c->p != '"') {
        unsigned char ch = (unsigned char)*c->p;
        if (ch < 0x20)
            return syntax_error(c, "control character in a string");
        if (ch != '\\') {
            *out++ = *c->p++;
            continue;
        }
        if (++c->p == c->end)
            break;
        char e = *c->p++;
        uint32_t cp = 0;
        switch (e) {
        case '"': case '\\': case '/': *out++ = e; break;
        case 'b': *out++ = '\b'; break;
        case 'f': *out++ = '\f'; break;
        case 'n': *out++ = '\n'; break;
        case 'r': *out++ = '\r'; break;
        case 't': *out++ = '\t'; break;
        case 'u': {
            lclip_status s = unicode_escape(c, &cp);
            if (s != LCLIP_OK)
                return s;
            out += lclip_utf8_encode_one(cp, (unsigned char *)out);
            break;
        }
        default:
            c->p--;
            return syntax_error(c, "bad escape");
        }
    }
    if (c->p == c->end)
        return syntax_error(c, "unterminated string");
    c->p++;
    *out = '\0';
    entry->len = (uint32_t)(out - entry->token);
    return LCLIP_OK;
}

static lclip_status parse_id(cursor *c, lclip_vocab_json_entry *entry)
{
    const char *digits = c->p;
    int64_t value = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9' && value <= INT32_MAX)
        value = value * 10 + (*c->p++ - '0');
    size_t n = (size_t)(c->p - digits);
    int more = c->p < c->end && (*c->p == '.' || *c->p == 'e' || *c->p == 'E' || (*c->p >= '0' && *c->p <= '9'));
    if (n == 0 || (n > 1 && digits[0] == '0') || value > INT32_MAX || more)
        return lclip_fail(LCLIP_E_FORMAT, "%s: token '%s' has no id between 0 and %d (byte %zu)", c->path,
                          entry->token, INT32_MAX, (size_t)(digits - c->start));
    entry->id = (int32_t)value;
    return LCLIP_OK;
}

static lclip_status add_entry(lclip_vocab_json_entry **entries, size_t *count, size_t *capacity,
                              const lclip_vocab_json_entry *entry)
{
    if (*count == *capacity) {
        size_t grown = *capacity ? 2 * *capacity : 1024;
        lclip_vocab_json_entry *bigger = lclip_malloc_array(grown, sizeof *bigger);
        if (!bigger)
            return lclip_fail(LCLIP_E_NOMEM, "out of memory reading a vocabulary of %zu tokens", *count);
        if (*count)
            memcpy(bigger, *entries, *count * sizeof *bigger);
        lclip_free(*entries);
        *entries = bigger;
        *capacity = grown;
    }
    (*entries)[(*count)++] = *entry;
    return LCLIP_OK;
}

static lclip_status parse_members(cursor *c, lclip_vocab_json_entry **entries, size_t *count)
{
    size_t capacity = 0;
    skip_space(c);
    if (c->p < c->end && *c->p == '}')
        return LCLIP_OK;
    for (;;) {
        lclip_vocab_json_entry entry = {0};
        lclip_status s = LCLIP_OK;
        if (c->p == c->end || *c->p != '"')
            return syntax_error(c, "expected a token string");
        if ((s = parse_string(c, &entry)) != LCLIP_OK)
            return s;
        skip_space(c);
        if (c->p == c->end || *c->p != ':')
            return syntax_error(c, "expected ':'");
        c->p++;
        skip_space(c);
        if ((s = parse_id(c, &entry)) != LCLIP_OK || (s = add_entry(entries, count, &capacity, &entry)) != LCLIP_OK)
            return s;
        skip_space(c);
        if (c->p < c->end && *c->p == '}')
            return LCLIP_OK;
        if (c->p == c->end || *c->p != ',')
            return syntax_error(c, "expected ',' or '}'");
        c->p++;
        skip_space(c);
    }
}

lclip_status lclip_vocab_json_parse(const char *path, char *text, size_t len, lclip_vocab_json_entry **entries,
                                    size_t *count)
{
    cursor c = {path, text, text, text + len};
    *entries = NULL;
    *count = 0;
    skip_space(&c);
    lclip_status s = LCLIP_OK;
    if (c.p == c.end || *c.p != '{')
        s = syntax_error(&c, "expected '{'");
    else
        c.p++;
    if (s == LCLIP_OK)
        s = parse_members(&c, entries, count);
    if (s == LCLIP_OK) {
        c.p++; /* the closing brace */
        skip_space(&c);
        if (c.p != c.end)
            s = syntax_error(&c, "text after the object");
    }
    if (s != LCLIP_OK) {
        lclip_free(*entries);
        *entries = NULL;
        *count = 0;
    }
    return s;
}
