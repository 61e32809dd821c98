/* The tokenizer handle: opening the vocabulary, and encode = clean the text,
 * split it into pieces, BPE each piece (through a small shared cache) and
 * frame the ids as clip.tokenize does. */
#include "text/tokenizer.h"

#include <pthread.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/file.h"
#include "text/bpe.h"
#include "text/codepoints.h"
#include "text/pretokenize.h"
#include "text/text_clean.h"
#include "text/vocab.h"

#define GZ_NAME "bpe_simple_vocab_16e6.txt.gz"
/* Word cache: direct-mapped, fixed size, so memory stays bounded however
 * many distinct words pass through; longer words are not cached. */
#define CACHE_SLOTS 4096
#define CACHE_MAX_WORD 48

typedef struct cache_slot {
    uint64_t hash;
    uint8_t word_len; /* 0: empty */
    uint8_t n_ids;
    unsigned char word[CACHE_MAX_WORD];
    int32_t ids[CACHE_MAX_WORD]; /* BPE never yields more ids than bytes */
} cache_slot;

struct lclip_tokenizer {
    lclip_bpe_vocab vocab;
    char *source; /* "hf:<vocab.json path>" or "gz:<.gz path>" */
    pthread_mutex_t cache_lock;
    cache_slot *cache;
};

/* ---- opening ------------------------------------------------------------ */

/* "kind:path" for lclip_tokenizer_source (NULL on allocation failure). */
static char *source_of(const char *kind, const char *path)
{
    size_t k = strlen(kind), n = strlen(path);
    char *s = lclip_malloc(k + n + 2);
    if (s) {
        memcpy(s, kind, k);
        s[k] = ':';
        memcpy(s + k + 1, path, n + 1);
    }
    return s;
}

static lclip_status load_gz(const char *path, lclip_tokenizer *tok)
{
    lclip_status s = lclip_bpe_vocab_load_gz(path, &tok->vocab);
    if (s == LCLIP_OK && !(tok->source = source_of("gz", path)))
        s = lclip_fail(LCLIP_E_NOMEM, "out of memory");
    return s;
}

static lclip_status load_from_directory(const char *dir, lclip_tokenizer *tok, int *found)
{
    char *json = lclip_path_join(dir, "vocab.json"), *merges = lclip_path_join(dir, "merges.txt");
    char *gz = lclip_path_join(dir, GZ_NAME);
    lclip_status s = LCLIP_OK;
    *found = 1;
    if (!json || !merges || !gz) {
        s = lclip_fail(LCLIP_E_NOMEM, "out of memory");
    } else if (lclip_is_regular_file(json) && lclip_is_regular_file(merges)) {
        s = lclip_bpe_vocab_load_hf(json, merges, &tok->vocab);
        if (s == LCLIP_OK && !(tok->source = source_of("hf", json)))
            s = lclip_fail(LCLIP_E_NOMEM, "out of memory");
    } else if (lclip_is_regular_file(gz)) {
        s = load_gz(gz, tok);
    } else {
        *found = 0;
    }
    lclip_free(json);
    lclip_free(merges);
    lclip_free(gz);
    return s;
}

static lclip_status load_vocab(const char *directory, const char *vocab_path, lclip_tokenizer *tok)
{
    int found = 0;
    lclip_status s;
    if (vocab_path && lclip_is_directory(vocab_path)) {
        s = load_from_directory(vocab_path, tok, &found);
        if (s == LCLIP_OK && !found)
            s = lclip_fail(LCLIP_E_IO, "%s: no vocab.json + merges.txt or %s in this directory", vocab_path,
                           GZ_NAME);
        return s;
    }
    if (vocab_path)
        return load_gz(vocab_path, tok); /* a missing file is LCLIP_E_IO */
    s = load_from_directory(directory, tok, &found);
    if (s == LCLIP_OK && !found)
        s = lclip_fail(LCLIP_E_IO, "%s: no vocab.json + merges.txt or %s beside the model", directory, GZ_NAME);
    return s;
}

lclip_status lclip_tokenizer_open(const char *directory, const char *vocab_path, lclip_tokenizer **out)
{
    if (!out || (!directory && !vocab_path))
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "lclip_tokenizer_open: no directory or vocabulary path");
    *out = NULL;
    lclip_tokenizer *tok = lclip_calloc(1, sizeof *tok);
    if (!tok)
        return lclip_fail(LCLIP_E_NOMEM, "out of memory");
    tok->cache = lclip_calloc(CACHE_SLOTS, sizeof *tok->cache);
    if (!tok->cache || pthread_mutex_init(&tok->cache_lock, NULL) != 0) {
        lclip_free(tok->cache);
        lclip_free(tok);
        return lclip_fail(LCLIP_E_NOMEM, "out of memory");
    }
    lclip_status s = load_vocab(directory, vocab_path, tok);
    if (s != LCLIP_OK) {
        lclip_tokenizer_close(tok);
        return s;
    }
    *out = tok;
    return LCLIP_OK;
}

void lclip_tokenizer_close(lclip_tokenizer *tok)
{
    if (!tok)
        return;
    lclip_bpe_vocab_free(&tok->vocab);
    lclip_free(tok->source);
    pthread_mutex_destroy(&tok->cache_lock);
    lclip_free(tok->cache);
    lclip_free(tok);
}

const char *lclip_tokenizer_source(const lclip_tokenizer *tok)
{
    return tok->source;
}

/* ---- the word cache ----------------------------------------------------- */

static uint64_t hash_word(const unsigned char *w, size_t n)
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ w[i]) * 1099511628211u;
    return h;
}

static int cache_get(lclip_tokenizer *tok, uint64_t h, const unsigned char *w, size_t n, int32_t *ids,
                     size_t *count)
{
    cache_slot *slot = &tok->cache[h & (CACHE_SLOTS - 1)];
    int hit = 0;
    pthread_mutex_lock(&tok->cache_lock);
    if (slot->word_len == n && slot->hash == h && memcmp(slot->word, w, n) == 0) {
        memcpy(ids, slot->ids, slot->n_ids * sizeof *ids);
        *count = slot->n_ids;
        hit = 1;
    }
    pthread_mutex_unlock(&tok->cache_lock);
    return hit;
}

static void cache_put(lclip_tokenizer *tok, uint64_t h, const unsigned char *w, size_t n, const int32_t *ids,
                      size_t count)
{
    cache_slot *slot = &tok->cache[h & (CACHE_SLOTS - 1)];
    pthread_mutex_lock(&tok->cache_lock);
    slot->hash = h;
    slot->word_len = (uint8_t)n;
    slot->n_ids = (uint8_t)count;
    memcpy(slot->word, w, n);
    memcpy(slot->ids, ids, count * sizeof *ids);
    pthread_mutex_unlock(&tok->cache_lock);
}

/* ---- encoding ----------------------------------------------------------- */

/* Collects text ids; keeps the first `limit` and counts the rest. */
typedef struct id_sink {
    int32_t *ids;
    size_t limit, count;
} id_sink;

static void sink_put(id_sink *sink, const int32_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++, sink->count++)
        if (sink->count < sink->limit)
            sink->ids[sink->count] = ids[i];
}

/* Scratch reused across the pieces of one text. */
typedef struct piece_scratch {
    unsigned char *bytes;
    int32_t *ids;
    size_t cap;
} piece_scratch;

static lclip_status encode_piece(lclip_tokenizer *tok, const uint32_t *cp, size_t n, piece_scratch *sc,
                                 id_sink *sink)
{
    size_t need;
    if (!lclip_mul_size(n, 4, &need))
        return lclip_fail(LCLIP_E_NOMEM, "out of memory");
    if (need > sc->cap) {
        lclip_free(sc->bytes);
        lclip_free(sc->ids);
        sc->bytes = lclip_malloc(need);
        sc->ids = lclip_malloc_array(need, sizeof *sc->ids);
        sc->cap = sc->bytes && sc->ids ? need : 0;
        if (!sc->cap)
            return lclip_fail(LCLIP_E_NOMEM, "out of memory encoding a %zu-character word", n);
    }
    size_t len = 0, count;
    for (size_t i = 0; i < n; i++)
        len += lclip_utf8_encode_one(cp[i], sc->bytes + len);
    uint64_t h = hash_word(sc->bytes, len);
    if (len <= CACHE_MAX_WORD && cache_get(tok, h, sc->bytes, len, sc->ids, &count)) {
        sink_put(sink, sc->ids, count);
        return LCLIP_OK;
    }
    lclip_status s = lclip_bpe_encode(&tok->vocab, sc->bytes, len, sc->ids, &count);
    if (s != LCLIP_OK)
        return s;
    if (len <= CACHE_MAX_WORD)
        cache_put(tok, h, sc->bytes, len, sc->ids, count);
    sink_put(sink, sc->ids, count);
    return LCLIP_OK;
}

/* Splits cleaned text into pieces and BPE-encodes them into sink; stops
 * early once the sink holds more than it can frame. */
static lclip_status encode_clean_text(lclip_tokenizer *tok, const lclip_cpbuf *text, id_sink *sink)
{
    piece_scratch sc = {0};
    lclip_status s = LCLIP_OK;
    size_t pos = 0, start;
    lclip_piece_kind kind;
    while (s == LCLIP_OK && sink->count <= sink->limit && lclip_next_piece(text->cp, text->len, &pos, &start, &kind)) {
        if (kind == LCLIP_PIECE_START)
            sink_put(sink, &tok->vocab.start_id, 1);
        else if (kind == LCLIP_PIECE_END)
            sink_put(sink, &tok->vocab.end_id, 1);
        else
            s = encode_piece(tok, text->cp + start, pos - start, &sc, sink);
    }
    lclip_free(sc.bytes);
    lclip_free(sc.ids);
    return s;
}

/* strlen, looking at no more than `most` bytes. */
static size_t bounded_length(const char *s, size_t most)
{
    size_t n = 0;
    while (n < most && s[n] != '\0')
        n++;
    return n;
}

lclip_status lclip_tokenizer_encode(lclip_tokenizer *tok, const char *utf8, uint64_t max_bytes,
                                    int context_length, int truncate, int32_t *ids, size_t *n_tokens)
{
    if (!tok || !utf8 || !ids || !n_tokens)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "lclip_tokenizer_encode: NULL argument");
    if (context_length < 2)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "context length %d cannot hold the start and end tokens",
                          context_length);
    size_t limit = max_bytes >= SIZE_MAX ? SIZE_MAX - 1 : (size_t)max_bytes;
    size_t len = bounded_length(utf8, limit + 1);
    if (len > limit)
        return lclip_fail(LCLIP_E_TOO_LARGE, "text longer than the %llu-byte limit",
                          (unsigned long long)max_bytes);
    lclip_cpbuf decoded, clean;
    lclip_cpbuf_init(&decoded);
    lclip_cpbuf_init(&clean);
    lclip_status s = lclip_utf8_to_cpbuf(utf8, len, &decoded);
    if (s == LCLIP_OK)
        s = lclip_text_clean(decoded.cp, decoded.len, &clean);
    lclip_cpbuf_free(&decoded);
    size_t room = (size_t)context_length - 2;
    id_sink sink = {ids + 1, room, 0};
    if (s == LCLIP_OK)
        s = encode_clean_text(tok, &clean, &sink);
    lclip_cpbuf_free(&clean);
    if (s != LCLIP_OK)
        return s;
    if (sink.count > room && !truncate)
        return lclip_fail(LCLIP_E_TOO_LARGE, "text has more than the %zu tokens a context of %d holds", room,
                          context_length);
    size_t used = sink.count > room ? room : sink.count;
    ids[0] = tok->vocab.start_id;
    ids[used + 1] = tok->vocab.end_id;
    for (size_t i = used + 2; i < (size_t)context_length; i++)
        ids[i] = 0;
    *n_tokens = used + 2;
    return LCLIP_OK;
}
