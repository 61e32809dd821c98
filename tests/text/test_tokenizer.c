/* The tokenizer against the reference goldens (clip.tokenize with ftfy
 * 6.3.1), with both vocabulary sources, and against hostile input: invalid
 * UTF-8, oversized text, a 1 MiB word, concurrent use and broken files. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "support/test_util.h"
#include "text/tokenizer.h"

#define CONTEXT 77
#define MAX_BYTES (1u << 20)

typedef struct golden_case {
    char *text;
    int32_t ids[CONTEXT];
} golden_case;

typedef struct golden_set {
    golden_case *cases;
    size_t count;
} golden_set;

static void free_golden(golden_set *g)
{
    for (size_t i = 0; i < g->count; i++)
        free(g->cases[i].text);
    free(g->cases);
}

/* tokenizer/cases.jsonl: {"text": ..., "tokens": [77 ids]} per line. */
static golden_set load_cases(const char *fixtures)
{
    char *path = join_path(fixtures, "tokenizer/cases.jsonl");
    size_t len;
    char *data = read_whole_file(path, &len);
    assert_non_null(data);
    golden_set g = {calloc(1000, sizeof(golden_case)), 0};
    for (char *line = data; line < data + len;) {
        char *eol = memchr(line, '\n', (size_t)(data + len - line));
        size_t n = eol ? (size_t)(eol - line) : (size_t)(data + len - line);
        if (n > 0) {
            cJSON *obj = cJSON_ParseWithLength(line, n);
            assert_non_null(obj);
            cJSON *tokens = cJSON_GetObjectItem(obj, "tokens");
            assert_int_equal(cJSON_GetArraySize(tokens), CONTEXT);
            golden_case *c = &g.cases[g.count++];
            c->text = strdup(cJSON_GetObjectItem(obj, "text")->valuestring);
            for (int i = 0; i < CONTEXT; i++)
                c->ids[i] = (int32_t)cJSON_GetArrayItem(tokens, i)->valuedouble;
            cJSON_Delete(obj);
        }
        line += n + 1;
    }
    free(data);
    free(path);
    assert_int_equal(g.count, 300);
    return g;
}

/* golden/text_tokens.i32 with the texts of manifest.json "texts"."list". */
static golden_set load_text_tokens(const char *fixtures)
{
    char *mpath = join_path(fixtures, "manifest.json"), *tpath = join_path(fixtures, "golden/text_tokens.i32");
    size_t mlen, tlen;
    char *manifest = read_whole_file(mpath, &mlen);
    int32_t *tokens = read_whole_file(tpath, &tlen);
    assert_non_null(manifest);
    assert_non_null(tokens);
    cJSON *root = cJSON_ParseWithLength(manifest, mlen);
    cJSON *list = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "texts"), "list");
    size_t n = (size_t)cJSON_GetArraySize(list);
    assert_int_equal(n, 40);
    assert_int_equal(tlen, n * CONTEXT * sizeof(int32_t));
    golden_set g = {calloc(n, sizeof(golden_case)), n};
    for (size_t i = 0; i < n; i++) {
        g.cases[i].text = strdup(cJSON_GetArrayItem(list, (int)i)->valuestring);
        memcpy(g.cases[i].ids, tokens + i * CONTEXT, sizeof g.cases[i].ids);
    }
    cJSON_Delete(root);
    free(manifest);
    free(tokens);
    free(mpath);
    free(tpath);
    return g;
}

static lclip_tokenizer *open_or_fail(const char *directory, const char *vocab_path)
{
    lclip_tokenizer *tok = NULL;
    lclip_status s = lclip_tokenizer_open(directory, vocab_path, &tok);
    if (s != LCLIP_OK)
        fail_msg("open %s: %s: %s", vocab_path ? vocab_path : directory, lclip_strerror(s), lclip_last_error());
    return tok;
}

static lclip_tokenizer *open_gz(const char *fixtures)
{
    char *gz = join_path(fixtures, "bpe_simple_vocab_16e6.txt.gz");
    lclip_tokenizer *tok = open_or_fail(NULL, gz);
    free(gz);
    return tok;
}

static lclip_tokenizer *open_hf(const char *fixtures)
{
    char *dir = join_path(fixtures, "models/tiny-gelu/hf");
    lclip_tokenizer *tok = open_or_fail(dir, NULL);
    free(dir);
    return tok;
}

static void encode_or_fail(lclip_tokenizer *tok, const char *text, int32_t ids[CONTEXT], size_t *n)
{
    lclip_status s = lclip_tokenizer_encode(tok, text, MAX_BYTES, CONTEXT, 1, ids, n);
    if (s != LCLIP_OK)
        fail_msg("encode '%s': %s: %s", text, lclip_strerror(s), lclip_last_error());
}

/* Every case exact; prints each mismatch before failing. */
static void check_golden(lclip_tokenizer *tok, const golden_set *g, const char *what)
{
    size_t bad = 0;
    for (size_t i = 0; i < g->count; i++) {
        int32_t ids[CONTEXT];
        size_t n;
        encode_or_fail(tok, g->cases[i].text, ids, &n);
        if (memcmp(ids, g->cases[i].ids, sizeof ids) != 0) {
            bad++;
            print_message("%s case %zu differs: '%s'\n  got ", what, i, g->cases[i].text);
            for (int k = 0; k < CONTEXT && (k == 0 || ids[k - 1] != LCLIP_TOKEN_END); k++)
                print_message("%d ", ids[k]);
            print_message("\n want ");
            for (int k = 0; k < CONTEXT && (k == 0 || g->cases[i].ids[k - 1] != LCLIP_TOKEN_END); k++)
                print_message("%d ", g->cases[i].ids[k]);
            print_message("\n");
        }
        /* n counts up to the end token; everything after it is padding */
        assert_int_equal(ids[n - 1], LCLIP_TOKEN_END);
        for (size_t k = n; k < CONTEXT; k++)
            assert_int_equal(ids[k], 0);
    }
    if (bad)
        fail_msg("%zu of %zu %s cases differ", bad, g->count, what);
}

static void test_cases_gz_vocab(void **state)
{
    (void)state;
    const char *fixtures = fixtures_dir();
    if (!fixtures)
        skip();
    golden_set g = load_cases(fixtures);
    lclip_tokenizer *tok = open_gz(fixtures);
    check_golden(tok, &g, "cases.jsonl (gz vocabulary)");
    lclip_tokenizer_close(tok);
    free_golden(&g);
}

static void test_cases_hf_vocab(void **state)
{
    (void)state;
    const char *fixtures = fixtures_dir();
    if (!fixtures)
        skip();
    golden_set g = load_cases(fixtures);
    lclip_tokenizer *tok = open_hf(fixtures);
    check_golden(tok, &g, "cases.jsonl (HF vocabulary)");
    lclip_tokenizer_close(tok);
    free_golden(&g);
}

static void test_text_tokens_golden(void **state)
{
    (void)state;
    const char *fixtures = fixtures_dir();
    if (!fixtures)
        skip();
    golden_set g = load_text_tokens(fixtures);
    lclip_tokenizer *gz = open_gz(fixtures), *hf = open_hf(fixtures);
    check_golden(gz, &g, "text_tokens.i32 (gz vocabulary)");
    check_golden(hf, &g, "text_tokens.i32 (HF vocabulary)");
    lclip_tokenizer_close(gz);
    lclip_tokenizer_close(hf);
    free_golden(&g);
}

/* Texts beyond the goldens: both vocabulary sources must agree on them. */
static const char *const extra_texts[] = {
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "ǅemal ŉ ﬃ ﬄ ﬅ ﬆ Ĳssel", "&eacute;&EACUTE;&SZLIG;&amp&ampx&notit;&#x110000;&#0;&#128;",
    "Ｕﾀｰﾝ ﾊﾟ ｶﾞ ￣", "ſtartoftext <|ſtartoftext|> 'ſ", "ΣΑΣ Σ. aΣ' aΣ'b",
    "\xe2\x80\x9cmixed\xe2\x80\x9d Ã© and Ã\xc2\xa0 and â€™", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz",
    "\xf0\x9f\x98\x80\xf0\x9f\x98\x81\xf0\x9f\x98\x82 \xe4\xb8\xad\xe6\x96\x87 \xd8\xa7\xd9\x84\xd8\xb9\xd8\xb1\xd8\xa8\xd9\x8a\xd8\xa9",
};

static void test_both_vocabularies_agree(void **state)
{
    (void)state;
    const char *fixtures = fixtures_dir();
    if (!fixtures)
        skip();
    lclip_tokenizer *gz = open_gz(fixtures), *hf = open_hf(fixtures);
    for (size_t i = 0; i < sizeof extra_texts / sizeof extra_texts[0]; i++) {
        int32_t a[CONTEXT], b[CONTEXT];
        size_t na, nb;
        encode_or_fail(gz, extra_texts[i], a, &na);
        encode_or_fail(hf, extra_texts[i], b, &nb);
        assert_int_equal(na, nb);
        assert_memory_equal(a, b, sizeof a);
        assert_true(na > 2); /* each text yields tokens */
    }
    lclip_tokenizer_close(gz);
    lclip_tokenizer_close(hf);
}

/* "w0 w1 ... w(count-1)" */
static char *numbered_words(int count)
{
    char *text = malloc((size_t)count * 8 + 1), *p = text;
    for (int i = 0; i < count; i++)
        p += sprintf(p, "%sw%d", i ? " " : "", i % 10);
    return text;
}

static void test_truncation(void **state)
{
    (void)state;
    const char *fixtures = fixtures_dir();
    if (!fixtures)
        skip();
    lclip_tokenizer *tok = open_gz(fixtures);
    /* "w0" is two tokens, so 100 words are 200 text tokens */
    char *text = numbered_words(100);
    int32_t full[400], cut[CONTEXT];
    size_t n_full, n_cut;
    assert_int_equal(lclip_tokenizer_encode(tok, text, MAX_BYTES, 400, 0, full, &n_full), LCLIP_OK);
    assert_int_equal(n_full, 202);
    assert_int_equal(full[0], LCLIP_TOKEN_START);
    assert_int_equal(full[201], LCLIP_TOKEN_END);
    assert_int_equal(full[202], 0);

    assert_int_equal(lclip_tokenizer_encode(tok, text, MAX_BYTES, CONTEXT, 1, cut, &n_cut), LCLIP_OK);
    assert_int_equal(n_cut, CONTEXT);
    assert_memory_equal(cut, full, (CONTEXT - 1) * sizeof(int32_t)); /* start + first 75 text tokens */
    assert_int_equal(cut[CONTEXT - 1], LCLIP_TOKEN_END);

    assert_int_equal(lclip_tokenizer_encode(tok, text, MAX_BYTES, CONTEXT, 0, cut, &n_cut), LCLIP_E_TOO_LARGE);
    free(text);

    /* 75 text tokens fit exactly without truncation; 76 do not */
    text = numbered_words(37); /* 74 tokens */
    char *fits = malloc(strlen(text) + 4);
    sprintf(fits, "%s x", text);
    assert_int_equal(lclip_tokenizer_encode(tok, fits, MAX_BYTES, CONTEXT, 0, cut, &n_cut), LCLIP_OK);
    assert_int_equal(n_cut, CONTEXT);
    assert_int_equal(cut[CONTEXT - 1], LCLIP_TOKEN_END);
    free(fits);
    fits = malloc(strlen(text) + 8);
    sprintf(fits, "%s x y", text);
    assert_int_equal(lclip_tokenizer_encode(tok, fits, MAX_BYTES, CONTEXT, 0, cut, &n_cut), LCLIP_E_TOO_LARGE);
    free(fits);
    free(text);

    /* empty and all-space texts are just start, end, padding */
    const char *empties[] = {"", "   ", "\t\n\r ", "\xc2\xa0\xe3\x80\x80"};
    for (size_t i = 0; i < sizeof empties / sizeof empties[0]; i++) {
        assert_int_equal(lclip_tokenizer_encode(tok, empties[i], MAX_BYTES, CONTEXT, 0, cut, &n_cut), LCLIP_OK);
        assert_int_equal(n_cut, 2);
        assert_int_equal(cut[0], LCLIP_TOKEN_START);
        assert_int_equal(cut[1], LCLIP_TOKEN_END);
        assert_int_equal(cut[2], 0);
    }
    assert_int_equal(lclip_tokenizer_encode(tok, "a", MAX_BYTES, 1, 1, cut, &n_cut), LCLIP_E_INVALID_ARGUMENT);
    lclip_tokenizer_close(tok);
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    const char *fixtures = fixtures_dir();
    if (!fixtures)
        skip();
    lclip_tokenizer *tok = open_gz(fixtures);
    static const struct {
        const char *bytes;
        const char *offset;
    } bad[] = {
        {"ab\xc0\xaf", "offset 2"},         /* overlong '/' */
        {"\xe0\x80\xaf", "offset 0"},       /* overlong, 3 bytes */
        {"x\xf0\x80\x80\xaf", "offset 1"},  /* overlong, 4 bytes */
        {"\xed\xa0\x80", "offset 0"},       /* surrogate U+D800 */
        {"ok \xed\xbf\xbf", "offset 3"},    /* surrogate U+DFFF */
        {"\xe2\x82", "offset 0"},           /* truncated at the end */
        {"\xe2\x82z", "offset 0"},          /* truncated before ASCII */
        {"caf\xc3", "offset 3"},            /* truncated 2-byte */
        {"\x80", "offset 0"},               /* stray continuation */
        {"a\xc0", "offset 1"},              /* 0xC0 */
        {"a\xc1\x81", "offset 1"},          /* 0xC1 */
        {"\xf5\x80\x80\x80", "offset 0"},   /* beyond U+10FFFF */
        {"\xf4\x90\x80\x80", "offset 0"},   /* U+110000 */
        {"\xfe", "offset 0"},
        {"\xff\xfe", "offset 0"},
    };
    int32_t ids[CONTEXT];
    size_t n;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lclip_status s = lclip_tokenizer_encode(tok, bad[i].bytes, MAX_BYTES, CONTEXT, 1, ids, &n);
        if (s != LCLIP_E_INVALID_ARGUMENT)
            fail_msg("invalid UTF-8 #%zu gave %s", i, lclip_strerror(s));
        if (!strstr(lclip_last_error(), bad[i].offset))
            fail_msg("invalid UTF-8 #%zu: message '%s' lacks '%s'", i, lclip_last_error(), bad[i].offset);
    }
    /* the largest code point and the edges around the surrogates are fine */
    assert_int_equal(lclip_tokenizer_encode(tok, "\xf4\x8f\xbf\xbf \xed\x9f\xbf \xee\x80\x80", MAX_BYTES, CONTEXT,
                                            1, ids, &n),
                     LCLIP_OK);
    lclip_tokenizer_close(tok);
}

static void test_max_bytes(void **state)
{
    (void)state;
    const char *fixtures = fixtures_dir();
    if (!fixtures)
        skip();
    lclip_tokenizer *tok = open_gz(fixtures);
    int32_t ids[CONTEXT];
    size_t n;
    assert_int_equal(lclip_tokenizer_encode(tok, "0123456789", 9, CONTEXT, 1, ids, &n), LCLIP_E_TOO_LARGE);
    assert_int_equal(lclip_tokenizer_encode(tok, "0123456789", 10, CONTEXT, 1, ids, &n), LCLIP_OK);
    assert_int_equal(n, 12); /* each digit is its own token */
    /* the limit counts bytes, not characters: 4 x 3-byte characters */
    assert_int_equal(lclip_tokenizer_encode(tok, "\xe7\x8c\xab\xe7\x8c\xab\xe7\x8c\xab\xe7\x8c\xab", 11, CONTEXT, 1,
                                            ids, &n),
                     LCLIP_E_TOO_LARGE);
    /* checked before the text is looked at: invalid UTF-8 past the limit is not reported */
    assert_int_equal(lclip_tokenizer_encode(tok, "abcd\xff", 4, CONTEXT, 1, ids, &n), LCLIP_E_TOO_LARGE);
    lclip_tokenizer_close(tok);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) * 1e-9;
}

static void check_huge_word(lclip_tokenizer *tok, const char *text, const char *what)
{
    int32_t ids[CONTEXT];
    size_t n;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    lclip_status s = lclip_tokenizer_encode(tok, text, MAX_BYTES, CONTEXT, 1, ids, &n);
    double took = seconds_since(&t0);
    /* Reported, not asserted: a quadratic BPE would take hours here and trip
     * the test's ctest TIMEOUT (tests/text/tests.cmake) instead. */
    print_message("1 MiB %s: %.3f s\n", what, took);
    assert_int_equal(s, LCLIP_OK);
    assert_int_equal(n, CONTEXT);
    assert_int_equal(ids[0], LCLIP_TOKEN_START);
    assert_int_equal(ids[CONTEXT - 1], LCLIP_TOKEN_END);
    for (int i = 1; i < CONTEXT - 1; i++)
        assert_true(ids[i] >= 0 && ids[i] < LCLIP_TOKEN_START);
    assert_int_equal(lclip_tokenizer_encode(tok, text, MAX_BYTES, CONTEXT, 0, ids, &n), LCLIP_E_TOO_LARGE);
}

static void test_one_mebibyte_word(void **state)
{
    (void)state;
    const char *fixtures = fixtures_dir();
    if (!fixtures)
        skip();
    lclip_tokenizer *tok = open_gz(fixtures);
    char *text = malloc(MAX_BYTES + 1);
    memset(text, 'a', MAX_BYTES);
    text[MAX_BYTES] = '\0';
    check_huge_word(tok, text, "of 'a'");
    uint32_t x = 12345;
    for (size_t i = 0; i < MAX_BYTES; i++) {
        x = x * 1103515245u + 12345u;
        text[i] = (char)('a' + (x >> 16) % 26);
    }
    check_huge_word(tok, text, "of random letters");
    free(text);
    lclip_tokenizer_close(tok);
}

typedef struct thread_job {
    lclip_tokenizer *tok;
    const golden_set *cases;
    size_t start;
    int mismatches;
} thread_job;

static void *encode_all(void *arg)
{
    thread_job *job = arg;
    for (int round = 0; round < 3; round++) {
        for (size_t k = 0; k < job->cases->count; k++) {
            const golden_case *c = &job->cases->cases[(job->start + k) % job->cases->count];
            int32_t ids[CONTEXT];
            size_t n;
            if (lclip_tokenizer_encode(job->tok, c->text, MAX_BYTES, CONTEXT, 1, ids, &n) != LCLIP_OK ||
                memcmp(ids, c->ids, sizeof ids) != 0)
                job->mismatches++;
        }
    }
    return NULL;
}

static void test_concurrent_encode(void **state)
{
    (void)state;
    const char *fixtures = fixtures_dir();
    if (!fixtures)
        skip();
    golden_set g = load_cases(fixtures);
    lclip_tokenizer *tok = open_gz(fixtures);
    /* serial results are the reference for the threads */
    for (size_t i = 0; i < g.count; i++) {
        size_t n;
        encode_or_fail(tok, g.cases[i].text, g.cases[i].ids, &n);
    }
    lclip_tokenizer_close(tok);
    tok = open_gz(fixtures); /* a cold cache, filled by all threads at once */
    pthread_t threads[4];
    thread_job jobs[4];
    for (int t = 0; t < 4; t++) {
        jobs[t] = (thread_job){tok, &g, (size_t)t * 75, 0};
        assert_int_equal(pthread_create(&threads[t], NULL, encode_all, &jobs[t]), 0);
    }
    for (int t = 0; t < 4; t++) {
        assert_int_equal(pthread_join(threads[t], NULL), 0);
        assert_int_equal(jobs[t].mismatches, 0);
    }
    lclip_tokenizer_close(tok);
    free_golden(&g);
}

/* ---- broken vocabulary files ------------------------------------------- */

static void expect_open_error(const char *dir, const char *vocab_path, lclip_status want, const char *needle)
{
    lclip_tokenizer *tok = NULL;
    lclip_status s = lclip_tokenizer_open(dir, vocab_path, &tok);
    if (s != want)
        fail_msg("open %s: got %s (%s), want %s", vocab_path ? vocab_path : dir, lclip_strerror(s),
                 s ? lclip_last_error() : "", lclip_strerror(want));
    assert_null(tok);
    if (needle && !strstr(lclip_last_error(), needle))
        fail_msg("message '%s' does not name '%s'", lclip_last_error(), needle);
}

/* A minimal gzip member (stored block) holding data. */
static void write_gzip(const char *path, const char *data, size_t len, int truncate_by)
{
    size_t total = 10 + 5 + len + 8;
    unsigned char *buf = calloc(1, total);
    static const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    memcpy(buf, header, 10);
    buf[10] = 1; /* final stored block */
    buf[11] = (unsigned char)(len & 0xFF);
    buf[12] = (unsigned char)(len >> 8);
    buf[13] = (unsigned char)~buf[11];
    buf[14] = (unsigned char)~buf[12];
    memcpy(buf + 15, data, len);
    /* crc32 of data, then the length */
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < len; i++) {
        crc ^= (unsigned char)data[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    crc = ~crc;
    for (int k = 0; k < 4; k++) {
        buf[15 + len + (size_t)k] = (unsigned char)(crc >> (8 * k));
        buf[19 + len + (size_t)k] = (unsigned char)(len >> (8 * k));
    }
    write_bytes_file(path, buf, total - (size_t)truncate_by);
    free(buf);
}

/* A whole file as a NUL-terminated string. */
static char *read_text(const char *path, size_t *len)
{
    void *data = read_whole_file(path, len);
    assert_non_null(data);
    char *text = malloc(*len + 1);
    memcpy(text, data, *len);
    text[*len] = '\0';
    free(data);
    return text;
}

static void test_malformed_vocabulary(void **state)
{
    (void)state;
    const char *fixtures = fixtures_dir();
    if (!fixtures)
        skip();
    char *tmp = make_temp_dir();
    char *json = join_path(tmp, "vocab.json"), *merges = join_path(tmp, "merges.txt");
    char *gz = join_path(tmp, "bpe_simple_vocab_16e6.txt.gz"), *missing = join_path(tmp, "nope");
    char *real_json = join_path(fixtures, "models/tiny-gelu/hf/vocab.json");
    char *real_merges = join_path(fixtures, "models/tiny-gelu/hf/merges.txt");
    size_t json_len, merges_len;
    char *json_text = read_text(real_json, &json_len), *merges_text = read_text(real_merges, &merges_len);

    /* nothing there */
    expect_open_error(tmp, NULL, LCLIP_E_IO, tmp);
    expect_open_error(NULL, missing, LCLIP_E_IO, missing);
    expect_open_error(missing, NULL, LCLIP_E_IO, missing);

    /* vocab.json broken in various ways, with the real merges */
    write_bytes_file(merges, merges_text, merges_len);
    const char *bad_json[] = {"{\"a\": 1", "[1, 2, 3]", "{\"!\": 0, \"\\\"\": 0}", "{\"!\": -1}", "{\"!\": 0.5}"};
    for (size_t i = 0; i < sizeof bad_json / sizeof bad_json[0]; i++) {
        write_text_file(json, bad_json[i]);
        expect_open_error(tmp, NULL, LCLIP_E_FORMAT, "vocab.json");
    }
    /* the real vocab.json without one byte token */
    char *holed = replace_first(json_text, "\"!\":0,", "\"!zqxj\":0,");
    write_text_file(json, holed);
    free(holed);
    expect_open_error(tmp, NULL, LCLIP_E_FORMAT, "byte 0x21");
    /* ids duplicated */
    char *dup = replace_first(json_text, "\"\\\"\":1,", "\"\\\"\":0,");
    write_text_file(json, dup);
    free(dup);
    expect_open_error(tmp, NULL, LCLIP_E_FORMAT, "id 0 is given twice");

    /* real vocab.json, merges cut short or malformed */
    write_bytes_file(json, json_text, json_len);
    write_bytes_file(merges, merges_text, merges_len / 2);
    expect_open_error(tmp, NULL, LCLIP_E_FORMAT, "merges.txt");
    char *three = replace_first(merges_text, "\ni n\n", "\ni n x\n");
    write_text_file(merges, three);
    free(three);
    expect_open_error(tmp, NULL, LCLIP_E_FORMAT, "merges.txt");
    write_text_file(merges, "#version: 0.2\n");
    expect_open_error(tmp, NULL, LCLIP_E_FORMAT, "merges.txt");
    /* sane files open: the test above fails for the right reason */
    write_bytes_file(merges, merges_text, merges_len);
    lclip_tokenizer *tok = open_or_fail(tmp, NULL);
    lclip_tokenizer_close(tok);

    /* gzip files */
    write_text_file(gz, "not gzip at all");
    expect_open_error(NULL, gz, LCLIP_E_FORMAT, gz);
    const char *few = "#version\ni n\nt h\n";
    write_gzip(gz, few, strlen(few), 0);
    expect_open_error(NULL, gz, LCLIP_E_FORMAT, gz);
    write_gzip(gz, few, strlen(few), 6);
    expect_open_error(NULL, gz, LCLIP_E_FORMAT, gz);
    write_gzip(gz, "\xff\xfe\n", 3, 0);
    expect_open_error(NULL, gz, LCLIP_E_FORMAT, gz);
    char *real_gz = join_path(fixtures, "bpe_simple_vocab_16e6.txt.gz");
    size_t gz_len;
    void *gz_data = read_whole_file(real_gz, &gz_len);
    write_bytes_file(gz, gz_data, gz_len / 2);
    expect_open_error(NULL, gz, LCLIP_E_FORMAT, gz);
    /* a directory holding only the gz uses it */
    write_bytes_file(gz, gz_data, gz_len);
    remove(json);
    tok = open_or_fail(tmp, NULL);
    lclip_tokenizer_close(tok);
    tok = open_or_fail(NULL, tmp);
    lclip_tokenizer_close(tok);

    free(gz_data);
    free(real_gz);
    free(json_text);
    free(merges_text);
    free(real_json);
    free(real_merges);
    free(json);
    free(merges);
    free(gz);
    free(missing);
    rm_tree(tmp);
    free(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases_gz_vocab),
        cmocka_unit_test(test_cases_hf_vocab),
        cmocka_unit_test(test_text_tokens_golden),
        cmocka_unit_test(test_both_vocabularies_agree),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_max_bytes),
        cmocka_unit_test(test_one_mebibyte_word),
        cmocka_unit_test(test_concurrent_encode),
        cmocka_unit_test(test_malformed_vocabulary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
