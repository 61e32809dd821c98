/* Loading the BPE vocabulary. Both sources reduce to the same thing: a map
 * from token strings (UTF-8 of the byte-to-unicode characters) to ids, and
 * a ranked list of merges whose parts and results are looked up in it. */
#include "text/vocab.h"

#include <string.h>
#include <zlib.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/file.h"
#include "text/codepoints.h"
#include "text/vocab_json.h"

#define MAX_VOCAB_FILE_BYTES (64u * 1024 * 1024)
#define EMPTY_PAIR UINT64_MAX
#define END_OF_WORD "</w>"
#define START_TOKEN "<|startoftext|>"
#define END_TOKEN "<|endoftext|>"

/* ---- token string -> id, while loading --------------------------------- */

/* One slot per probe: the hash's top bits and the length reject almost every
 * mismatch without touching the key's text, which lives elsewhere. */
typedef struct token_slot {
    const char *key; /* NUL-terminated, owned by the caller's buffers; NULL: empty */
    uint32_t tag;
    uint32_t len;
    int32_t id;
} token_slot;

typedef struct token_map {
    token_slot *slots;
    size_t mask; /* capacity - 1 */
    size_t count;
} token_map;

/* Both tables index by a hash's low bits, so every input bit must reach
 * them: a multiply alone only carries low bits upwards (FNV-1a's low k bits
 * depend only on the bytes' low k bits, which UTF-8 tokens share). */
static uint64_t spread_bits(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDu;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53u;
    return h ^ h >> 33;
}

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211u;
    return spread_bits(h);
}

static int token_map_init(token_map *m, size_t expected)
{
    size_t cap = 1024;
    while (cap < expected * 2)
        cap *= 2;
    memset(m, 0, sizeof *m);
    m->slots = lclip_calloc(cap, sizeof *m->slots);
    m->mask = cap - 1;
    return m->slots != NULL;
}

static void token_map_free(token_map *m)
{
    lclip_free(m->slots);
    memset(m, 0, sizeof *m);
}

static token_slot *token_map_slot(const token_map *m, uint64_t h, const char *s, size_t n)
{
    uint32_t tag = (uint32_t)(h >> 32);
    size_t i = (size_t)h & m->mask;
    for (;; i = (i + 1) & m->mask) {
        token_slot *slot = &m->slots[i];
        if (!slot->key || (slot->tag == tag && slot->len == n && memcmp(slot->key, s, n) == 0))
            return slot;
    }
}

/* Later entries win, as in a Python dict built in order. s must outlive m.
 * Returns 1 for a new key, 0 for one already there, -1 when the map is full
 * (more entries than it was sized for). */
static int token_map_put(token_map *m, const char *s, size_t n, int32_t id)
{
    uint64_t h = hash_bytes(s, n);
    token_slot *slot = token_map_slot(m, h, s, n);
    int added = !slot->key;
    if (added) {
        if ((m->count + 1) * 2 > m->mask + 1 || n > UINT32_MAX)
            return -1;
        *slot = (token_slot){s, (uint32_t)(h >> 32), (uint32_t)n, id};
        m->count++;
    }
    slot->id = id;
    return added;
}

static int32_t token_map_get(const token_map *m, const char *s, size_t n)
{
    const token_slot *slot = token_map_slot(m, hash_bytes(s, n), s, n);
    return slot->key ? slot->id : -1;
}

/* ---- bytes_to_unicode --------------------------------------------------- */

/* The reference's byte order: printable Latin-1 bytes map to themselves and
 * come first; the rest map to U+0100 onwards, in byte order. */
static void byte_order(uint32_t unicode_of[256], int order[256])
{
    int n = 0, extra = 0;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        if (printable) {
            unicode_of[b] = (uint32_t)b;
            order[n++] = b;
        }
    }
    for (int b = 0; b < 256; b++) {
        int printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        if (!printable) {
            unicode_of[b] = 256u + (uint32_t)extra++;
            order[n++] = b;
        }
    }
}

/* Strings of the 512 byte tokens, "<c>" and "<c></w>", in id order. */
typedef struct byte_tokens {
    char text[512][8];
    size_t len[512];
    int byte_of[256]; /* byte of the i-th token */
} byte_tokens;

static void make_byte_tokens(byte_tokens *bt)
{
    uint32_t unicode_of[256];
    byte_order(unicode_of, bt->byte_of);
    for (int i = 0; i < 256; i++) {
        unsigned char u[4];
        size_t k = lclip_utf8_encode_one(unicode_of[bt->byte_of[i]], u);
        memcpy(bt->text[i], u, k);
        bt->text[i][k] = '\0';
        bt->len[i] = k;
        memcpy(bt->text[256 + i], u, k);
        memcpy(bt->text[256 + i] + k, END_OF_WORD, sizeof END_OF_WORD);
        bt->len[256 + i] = k + strlen(END_OF_WORD);
    }
}

/* ---- merges ------------------------------------------------------------- */

typedef struct merge_list {
    const char *left[LCLIP_BPE_MERGES], *right[LCLIP_BPE_MERGES];
    size_t left_len[LCLIP_BPE_MERGES], right_len[LCLIP_BPE_MERGES];
    char *joined[LCLIP_BPE_MERGES]; /* left + right, NUL-terminated, in `arena` */
    size_t count;
    char *arena;
} merge_list;

static int is_ascii_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* str.split() of one line into exactly two parts. */
static int split_merge(const char *line, size_t n, const char **a, size_t *alen, const char **b, size_t *blen)
{
    size_t i = 0, parts = 0;
    while (i < n) {
        while (i < n && is_ascii_space(line[i]))
            i++;
        if (i == n)
            break;
        size_t start = i;
        while (i < n && !is_ascii_space(line[i]))
            i++;
        if (parts == 0) {
            *a = line + start, *alen = i - start;
        } else if (parts == 1) {
            *b = line + start, *blen = i - start;
        }
        parts++;
    }
    return parts == 2;
}

/* Lines 1..LCLIP_BPE_MERGES of text (line 0 is a header). */
static lclip_status parse_merges(const char *path, const char *text, size_t n, merge_list *m)
{
    const unsigned char *u = (const unsigned char *)text;
    for (size_t i = 0, k; i < n; i += k) {
        uint32_t c;
        k = u[i] < 0x80 ? 1 : lclip_utf8_decode_one(u + i, n - i, &c);
        if (k == 0)
            return lclip_fail(LCLIP_E_FORMAT, "%s: not UTF-8 text (byte 0x%02X at offset %zu)", path, u[i], i);
    }
    const char *p = memchr(text, '\n', n), *end = text + n;
    size_t joined_bytes = 0;
    m->count = 0;
    while (p && m->count < LCLIP_BPE_MERGES) {
        const char *line = p + 1, *eol = memchr(line, '\n', (size_t)(end - line));
        size_t len = (size_t)((eol ? eol : end) - line), i = m->count;
        if (!split_merge(line, len, &m->left[i], &m->left_len[i], &m->right[i], &m->right_len[i]))
            return lclip_fail(LCLIP_E_FORMAT, "%s: line %zu is not a merge of two symbols", path, i + 2);
        joined_bytes += m->left_len[i] + m->right_len[i] + 1;
        m->count++;
        p = eol;
    }
    if (m->count < LCLIP_BPE_MERGES)
        return lclip_fail(LCLIP_E_FORMAT, "%s: %zu merges, the CLIP vocabulary needs %d", path, m->count,
                          LCLIP_BPE_MERGES);
    m->arena = lclip_malloc(joined_bytes);
    if (!m->arena)
        return lclip_fail(LCLIP_E_NOMEM, "%s: out of memory", path);
    char *w = m->arena;
    for (size_t i = 0; i < m->count; i++) {
        m->joined[i] = w;
        memcpy(w, m->left[i], m->left_len[i]);
        memcpy(w + m->left_len[i], m->right[i], m->right_len[i]);
        w += m->left_len[i] + m->right_len[i];
        *w++ = '\0';
    }
    return LCLIP_OK;
}

static void merge_table_put(lclip_bpe_vocab *v, int32_t left, int32_t right, uint32_t rank, int32_t result)
{
    uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
    size_t i = (size_t)spread_bits(key) & v->merge_mask;
    while (v->merge_pairs[i] != EMPTY_PAIR && v->merge_pairs[i] != key)
        i = (i + 1) & v->merge_mask;
    v->merge_pairs[i] = key; /* a repeated pair takes its last rank, as dict(zip(...)) does */
    v->merge_ranks[i] = rank;
    v->merge_results[i] = result;
}

int lclip_bpe_vocab_merge(const lclip_bpe_vocab *v, int32_t left, int32_t right, uint32_t *rank, int32_t *result)
{
    uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
    size_t i = (size_t)spread_bits(key) & v->merge_mask;
    while (v->merge_pairs[i] != EMPTY_PAIR) {
        if (v->merge_pairs[i] == key) {
            *rank = v->merge_ranks[i];
            *result = v->merge_results[i];
            return 1;
        }
        i = (i + 1) & v->merge_mask;
    }
    return 0;
}

/* Fills v's byte and special ids and merge table from map and merges.
 * A merge whose parts are not tokens can never apply and is left out; one
 * whose result is not a token makes the vocabulary unusable. */
static lclip_status build_tables(const char *path, const token_map *map, const merge_list *m, lclip_bpe_vocab *v)
{
    byte_tokens *bt = lclip_malloc(sizeof *bt);
    if (!bt)
        return lclip_fail(LCLIP_E_NOMEM, "%s: out of memory", path);
    make_byte_tokens(bt);
    lclip_status s = LCLIP_OK;
    for (int i = 0; i < 256 && s == LCLIP_OK; i++) {
        int b = bt->byte_of[i];
        v->byte_id[b] = token_map_get(map, bt->text[i], bt->len[i]);
        v->byte_end_id[b] = token_map_get(map, bt->text[256 + i], bt->len[256 + i]);
        if (v->byte_id[b] < 0 || v->byte_end_id[b] < 0)
            s = lclip_fail(LCLIP_E_FORMAT, "%s: no token for byte 0x%02X", path, b);
    }
    lclip_free(bt);
    v->start_id = token_map_get(map, START_TOKEN, strlen(START_TOKEN));
    v->end_id = token_map_get(map, END_TOKEN, strlen(END_TOKEN));
    if (s == LCLIP_OK && (v->start_id < 0 || v->end_id < 0))
        s = lclip_fail(LCLIP_E_FORMAT, "%s: no %s or %s token", path, START_TOKEN, END_TOKEN);
    size_t cap = 1;
    while (cap < 2 * m->count)
        cap *= 2;
    v->merge_mask = cap - 1;
    v->merge_pairs = lclip_malloc_array(cap, sizeof *v->merge_pairs);
    v->merge_ranks = lclip_malloc_array(cap, sizeof *v->merge_ranks);
    v->merge_results = lclip_malloc_array(cap, sizeof *v->merge_results);
    if (s == LCLIP_OK && (!v->merge_pairs || !v->merge_ranks || !v->merge_results))
        s = lclip_fail(LCLIP_E_NOMEM, "%s: out of memory", path);
    if (s != LCLIP_OK)
        return s;
    memset(v->merge_pairs, 0xFF, cap * sizeof *v->merge_pairs);
    for (size_t r = 0; r < m->count; r++) {
        int32_t left = token_map_get(map, m->left[r], m->left_len[r]);
        int32_t right = token_map_get(map, m->right[r], m->right_len[r]);
        int32_t result = token_map_get(map, m->joined[r], m->left_len[r] + m->right_len[r]);
        if (result < 0)
            return lclip_fail(LCLIP_E_FORMAT, "%s: merge %zu ('%s') makes a token the vocabulary lacks", path,
                              r + 1, m->joined[r]);
        if (left >= 0 && right >= 0)
            merge_table_put(v, left, right, (uint32_t)r, result);
    }
    return LCLIP_OK;
}

void lclip_bpe_vocab_free(lclip_bpe_vocab *v)
{
    lclip_free(v->merge_pairs);
    lclip_free(v->merge_ranks);
    lclip_free(v->merge_results);
    memset(v, 0, sizeof *v);
}

/* ---- OpenAI's gzip file ------------------------------------------------- */

/* zlib's state and window come from libclip's allocator like everything else. */
static voidpf zlib_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    return lclip_malloc_array(items, size);
}

static void zlib_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    lclip_free(p);
}

/* Inflates a gzip file (all members) into a NUL-terminated heap buffer. */
static lclip_status gunzip(const char *path, const unsigned char *in, size_t in_len, char **out, size_t *out_len)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    zs.zalloc = zlib_alloc;
    zs.zfree = zlib_free;
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        return lclip_fail(LCLIP_E_NOMEM, "%s: cannot start zlib", path);
    size_t cap = 1u << 20, len = 0;
    char *buf = lclip_malloc(cap + 1);
    lclip_status s = buf ? LCLIP_OK : lclip_fail(LCLIP_E_NOMEM, "%s: out of memory", path);
    zs.next_in = (unsigned char *)in;
    zs.avail_in = (uInt)in_len;
    while (s == LCLIP_OK) {
        if (len == cap) {
            if (cap >= MAX_VOCAB_FILE_BYTES) {
                s = lclip_fail(LCLIP_E_TOO_LARGE, "%s: decompresses to more than %u bytes", path,
                               MAX_VOCAB_FILE_BYTES);
                break;
            }
            char *grown = lclip_malloc(cap * 2 + 1);
            if (!grown) {
                s = lclip_fail(LCLIP_E_NOMEM, "%s: out of memory", path);
                break;
            }
            memcpy(grown, buf, len);
            lclip_free(buf);
            buf = grown;
            cap *= 2;
        }
        zs.next_out = (unsigned char *)buf + len;
        zs.avail_out = (uInt)(cap - len);
        int rc = inflate(&zs, Z_NO_FLUSH);
        len = cap - zs.avail_out;
        if (rc == Z_STREAM_END) {
            if (zs.avail_in == 0)
                break;
            inflateReset(&zs); /* another gzip member follows */
        } else if (rc == Z_BUF_ERROR && zs.avail_out == 0) {
            continue; /* the output buffer grows at the top of the loop */
        } else if (rc == Z_MEM_ERROR) { /* the window is allocated on the first call */
            s = lclip_fail(LCLIP_E_NOMEM, "%s: out of memory inflating", path);
        } else if (rc != Z_OK) {
            s = lclip_fail(LCLIP_E_FORMAT, "%s: not a valid gzip file (%s)", path, zs.msg ? zs.msg : "truncated");
        } else if (zs.avail_in == 0 && zs.avail_out != 0) {
            s = lclip_fail(LCLIP_E_FORMAT, "%s: truncated gzip data", path);
        }
    }
    inflateEnd(&zs);
    if (s != LCLIP_OK) {
        lclip_free(buf);
        return s;
    }
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return LCLIP_OK;
}

/* Ids: the 512 byte tokens, one per merge, then the two special tokens. */
static lclip_status gz_token_map(const char *path, const merge_list *m, byte_tokens *bt, token_map *map)
{
    if (!token_map_init(map, 512 + m->count + 2))
        return lclip_fail(LCLIP_E_NOMEM, "%s: out of memory", path);
    make_byte_tokens(bt);
    int32_t id = 0;
    for (int i = 0; i < 512; i++)
        token_map_put(map, bt->text[i], bt->len[i], id++);
    for (size_t r = 0; r < m->count; r++)
        token_map_put(map, m->joined[r], m->left_len[r] + m->right_len[r], id++);
    token_map_put(map, START_TOKEN, strlen(START_TOKEN), id++);
    token_map_put(map, END_TOKEN, strlen(END_TOKEN), id++);
    return LCLIP_OK;
}

lclip_status lclip_bpe_vocab_load_gz(const char *path, lclip_bpe_vocab *out)
{
    memset(out, 0, sizeof *out);
    char *packed = NULL, *text = NULL;
    size_t packed_len = 0, text_len = 0;
    merge_list *m = lclip_calloc(1, sizeof *m);
    byte_tokens *bt = lclip_malloc(sizeof *bt);
    token_map map;
    memset(&map, 0, sizeof map);
    lclip_status s = m && bt ? LCLIP_OK : lclip_fail(LCLIP_E_NOMEM, "%s: out of memory", path);
    if (s == LCLIP_OK)
        s = lclip_read_file(path, MAX_VOCAB_FILE_BYTES, &packed, &packed_len);
    if (s == LCLIP_OK)
        s = gunzip(path, (const unsigned char *)packed, packed_len, &text, &text_len);
    if (s == LCLIP_OK)
        s = parse_merges(path, text, text_len, m);
    if (s == LCLIP_OK)
        s = gz_token_map(path, m, bt, &map);
    if (s == LCLIP_OK) {
        out->n_tokens = 512 + m->count + 2;
        s = build_tables(path, &map, m, out);
    }
    token_map_free(&map);
    if (m)
        lclip_free(m->arena);
    lclip_free(m);
    lclip_free(bt);
    lclip_free(text);
    lclip_free(packed);
    if (s != LCLIP_OK)
        lclip_bpe_vocab_free(out);
    return s;
}

/* ---- Hugging Face vocab.json + merges.txt ------------------------------ */

/* vocab.json: an object of token -> id with ids 0..count-1, each once. */
static lclip_status hf_token_map(const char *path, char *text, size_t len, token_map *map, size_t *n_tokens)
{
    lclip_vocab_json_entry *entries = NULL;
    size_t count = 0;
    lclip_status s = lclip_vocab_json_parse(path, text, len, &entries, &count);
    if (s != LCLIP_OK)
        return s;
    unsigned char *seen = NULL;
    if (count < 512 + 2 || count > INT32_MAX / 2)
        s = lclip_fail(LCLIP_E_FORMAT, "%s: %zu tokens, not a CLIP vocabulary", path, count);
    else if (!(seen = lclip_calloc(count, 1)) || !token_map_init(map, count))
        s = lclip_fail(LCLIP_E_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < count && s == LCLIP_OK; i++) {
        const lclip_vocab_json_entry *e = &entries[i];
        if ((size_t)e->id >= count)
            s = lclip_fail(LCLIP_E_FORMAT, "%s: token '%s' has no id between 0 and %zu", path, e->token, count - 1);
        else if (seen[e->id]++)
            s = lclip_fail(LCLIP_E_FORMAT, "%s: id %d is given twice", path, (int)e->id);
        else if (token_map_put(map, e->token, e->len, e->id) == 0)
            s = lclip_fail(LCLIP_E_FORMAT, "%s: token '%s' is listed twice", path, e->token);
    }
    lclip_free(seen);
    lclip_free(entries);
    *n_tokens = count;
    return s;
}

/* The reference reads merges.txt as read().strip().split("\n"). */
static void strip_text(char **text, size_t *len)
{
    while (*len > 0 && (is_ascii_space(**text) || **text == '\n'))
        (*text)++, (*len)--;
    while (*len > 0 && (is_ascii_space((*text)[*len - 1]) || (*text)[*len - 1] == '\n'))
        (*len)--;
}

lclip_status lclip_bpe_vocab_load_hf(const char *vocab_path, const char *merges_path, lclip_bpe_vocab *out)
{
    memset(out, 0, sizeof *out);
    char *vocab_text = NULL, *merges_text = NULL;
    size_t vocab_len = 0, merges_len = 0;
    merge_list *m = lclip_calloc(1, sizeof *m);
    token_map map;
    memset(&map, 0, sizeof map);
    lclip_status s = m ? LCLIP_OK : lclip_fail(LCLIP_E_NOMEM, "%s: out of memory", vocab_path);
    if (s == LCLIP_OK)
        s = lclip_read_file(vocab_path, MAX_VOCAB_FILE_BYTES, &vocab_text, &vocab_len);
    if (s == LCLIP_OK)
        s = lclip_read_file(merges_path, MAX_VOCAB_FILE_BYTES, &merges_text, &merges_len);
    if (s == LCLIP_OK)
        s = hf_token_map(vocab_path, vocab_text, vocab_len, &map, &out->n_tokens);
    if (s == LCLIP_OK) {
        char *text = merges_text;
        size_t len = merges_len;
        strip_text(&text, &len);
        s = parse_merges(merges_path, text, len, m);
    }
    if (s == LCLIP_OK && out->n_tokens != 512 + m->count + 2)
        s = lclip_fail(LCLIP_E_FORMAT, "%s: %zu tokens for %zu merges; expected %zu", vocab_path, out->n_tokens,
                       m->count, 512 + m->count + 2);
    if (s == LCLIP_OK)
        s = build_tables(merges_path, &map, m, out);
    token_map_free(&map);
    if (m)
        lclip_free(m->arena);
    lclip_free(m);
    lclip_free(vocab_text);
    lclip_free(merges_text);
    if (s != LCLIP_OK)
        lclip_bpe_vocab_free(out);
    return s;
}
