/* The text API as an application uses it: strings in, the reference's token
 * ids and embeddings out, and the documented behaviour at the edges. */
#include <cjson/cJSON.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "libclip.h"
#include "support/golden.h"
#include "support/test_util.h"
#include "support/tiny_model.h"

#define N_TEXTS 40
#define CONTEXT 77
#define EMBED 32

typedef struct texts {
    char *list[N_TEXTS];
    cJSON *manifest;
} texts;

static void read_texts(const char *fixtures, texts *t)
{
    char *path = join_path(fixtures, "manifest.json");
    size_t len;
    char *json = read_whole_file(path, &len);
    t->manifest = cJSON_ParseWithLength(json, len);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(t->manifest, "texts"),
                                                         "list");
    assert_int_equal(cJSON_GetArraySize(list), N_TEXTS);
    for (int i = 0; i < N_TEXTS; i++)
        t->list[i] = cJSON_GetArrayItem(list, i)->valuestring;
    free(json);
    free(path);
}

static lclip_text_encoder *open_text_threads(const char *fixtures, const char *model, const char *layout,
                                             int normalize, int threads)
{
    char path[1024], vocab[1024];
    snprintf(path, sizeof path, "%s/models/%s/%s", fixtures, model, layout);
    snprintf(vocab, sizeof vocab, "%s/bpe_simple_vocab_16e6.txt.gz", fixtures);
    lclip_options opts;
    lclip_options_init(&opts);
    opts.normalize = normalize;
    opts.n_threads = threads;
    if (strstr(layout, "open_clip"))
        opts.vocab_path = vocab; /* OpenAI-named files carry no vocabulary */
    lclip_text_encoder *enc;
    if (lclip_text_encoder_open(path, &opts, &enc) != LCLIP_OK)
        fail_msg("%s: %s", path, lclip_last_error());
    return enc;
}

static lclip_text_encoder *open_text(const char *fixtures, const char *model, const char *layout, int normalize)
{
    return open_text_threads(fixtures, model, layout, normalize, 0);
}

static void test_strings_give_reference_tokens_and_embeddings(void **state)
{
    (void)state;
    const char *fixtures = fixtures_dir();
    if (!fixtures)
        skip();
    texts t;
    read_texts(fixtures, &t);
    int32_t *golden_tokens = golden_read(fixtures, "golden/text_tokens.i32", N_TEXTS * CONTEXT, sizeof(int32_t));
    const char *models[2] = {"tiny-quickgelu", "tiny-gelu"}, *layouts[2] = {"hf", "open_clip"};
    for (int mi = 0; mi < 2; mi++) {
        char relative[256];
        snprintf(relative, sizeof relative, "golden/%s/text_embeds.f32", models[mi]);
        float *ref = golden_read(fixtures, relative, N_TEXTS * EMBED, sizeof(float));
        for (int li = 0; li < 2; li++) {
            lclip_text_encoder *enc = open_text(fixtures, models[mi], layouts[li], 0);
            int32_t ids[CONTEXT];
            int mismatches = 0;
            for (int i = 0; i < N_TEXTS; i++) {
                size_t n;
                assert_int_equal(lclip_tokenize(enc, t.list[i], ids, CONTEXT, &n), LCLIP_OK);
                mismatches += memcmp(ids, golden_tokens + i * CONTEXT, sizeof ids) != 0;
            }
            assert_int_equal(mismatches, 0);
            float out[N_TEXTS * EMBED];
            assert_int_equal(lclip_text_encode_batch(enc, (const char *const *)t.list, N_TEXTS, out), LCLIP_OK);
            assert_embeddings_match(out, ref, N_TEXTS, EMBED, "texts");
            float one[EMBED];
            assert_int_equal(lclip_text_encode(enc, t.list[9], one), LCLIP_OK);
            assert_embeddings_match(one, ref + 9 * EMBED, 1, EMBED, "one text");
            lclip_text_encoder_close(enc);
            /* a team of 3 tokenizes the batch's texts at once, then runs the tower */
            enc = open_text_threads(fixtures, models[mi], layouts[li], 0, 3);
            assert_int_equal(lclip_text_encode_batch(enc, (const char *const *)t.list, N_TEXTS, out), LCLIP_OK);
            assert_embeddings_match(out, ref, N_TEXTS, EMBED, "texts, n_threads 3");
            const char *bad[4] = {t.list[0], "caf\xC3", t.list[1], "\xED\xA0\x80"};
            assert_int_equal(lclip_text_encode_batch(enc, bad, 4, out), LCLIP_E_INVALID_ARGUMENT);
            assert_non_null(strstr(lclip_last_error(), "UTF-8"));
            lclip_text_encoder_close(enc);
        }
        free(ref);
    }
    free(golden_tokens);
    cJSON_Delete(t.manifest);
}

static void test_edges_behave_as_documented(void **state)
{
    (void)state;
    const char *fixtures = fixtures_dir();
    if (!fixtures)
        skip();
    lclip_text_encoder *enc = open_text(fixtures, "tiny-gelu", "hf", 1);
    int32_t ids[CONTEXT];
    size_t n = 0;
    float out[EMBED];

    /* empty and whitespace-only: start and end token alone */
    assert_int_equal(lclip_tokenize(enc, "", ids, CONTEXT, &n), LCLIP_OK);
    assert_int_equal(n, 2);
    assert_int_equal(ids[0], 49406);
    assert_int_equal(ids[1], 49407);
    assert_int_equal(ids[2], 0);
    assert_int_equal(lclip_tokenize(enc, " \t\n ", ids, CONTEXT, &n), LCLIP_OK);
    assert_int_equal(n, 2);
    assert_int_equal(lclip_text_encode(enc, "", out), LCLIP_OK);

    /* emoji only: byte-level pieces, still framed */
    assert_int_equal(lclip_tokenize(enc, "\xF0\x9F\x98\x80\xF0\x9F\x8E\x89", ids, CONTEXT, &n), LCLIP_OK);
    assert_true(n > 2);
    assert_int_equal(ids[0], 49406);
    assert_int_equal(ids[n - 1], 49407);

    /* invalid UTF-8 and NULLs */
    assert_int_equal(lclip_tokenize(enc, "caf\xC3", ids, CONTEXT, &n), LCLIP_E_INVALID_ARGUMENT);
    assert_non_null(strstr(lclip_last_error(), "UTF-8"));
    assert_int_equal(lclip_text_encode(enc, "\xED\xA0\x80", out), LCLIP_E_INVALID_ARGUMENT);
    assert_int_equal(lclip_text_encode(enc, NULL, out), LCLIP_E_INVALID_ARGUMENT);
    assert_int_equal(lclip_text_encode(NULL, "a", out), LCLIP_E_INVALID_ARGUMENT);
    assert_int_equal(lclip_tokenize(enc, "a", NULL, CONTEXT, &n), LCLIP_E_INVALID_ARGUMENT);
    assert_int_equal(lclip_tokenize(enc, "a", ids, CONTEXT - 1, &n), LCLIP_E_INVALID_ARGUMENT);
    const char *with_null[2] = {"a photo", NULL};
    float two[2 * EMBED];
    assert_int_equal(lclip_text_encode_batch(enc, with_null, 2, two), LCLIP_E_INVALID_ARGUMENT);

    /* 1 MB of text: truncated to the context like the reference */
    size_t big = 1000 * 1000;
    char *text = malloc(big + 1);
    for (size_t i = 0; i < big; i++)
        text[i] = i % 5 == 4 ? ' ' : "dogs"[i % 5];
    text[big] = '\0';
    assert_int_equal(lclip_tokenize(enc, text, ids, CONTEXT, &n), LCLIP_OK);
    assert_int_equal(n, CONTEXT);
    assert_int_equal(ids[CONTEXT - 1], 49407);
    assert_int_equal(lclip_text_encode(enc, text, out), LCLIP_OK);
    lclip_text_encoder_close(enc);

    /* limits as options */
    char path[1024];
    snprintf(path, sizeof path, "%s/models/tiny-gelu/hf", fixtures);
    lclip_options opts;
    lclip_options_init(&opts);
    opts.truncate_text = 0;
    opts.max_text_bytes = 4096;
    assert_int_equal(lclip_text_encoder_open(path, &opts, &enc), LCLIP_OK);
    assert_int_equal(lclip_tokenize(enc, text, ids, CONTEXT, &n), LCLIP_E_TOO_LARGE);
    text[3000] = '\0';
    for (int i = 0; i < CONTEXT; i++)
        ids[i] = -7;
    assert_int_equal(lclip_tokenize(enc, text, ids, CONTEXT, &n), LCLIP_E_TOO_LARGE);
    assert_non_null(strstr(lclip_last_error(), "context"));
    for (int i = 0; i < CONTEXT; i++)
        assert_int_equal(ids[i], -7); /* untouched on failure */
    text[20] = '\0';
    assert_int_equal(lclip_tokenize(enc, text, ids, CONTEXT, &n), LCLIP_OK);
    lclip_text_encoder_close(enc);
    free(text);
}

/* Self-made checkpoints carry no vocabulary: the encoder opens, token ids
 * encode, and text says what is missing. */
static void test_no_vocabulary_means_token_ids_only(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    tiny_spec spec = tiny_spec_default();
    tiny_write_hf(dir, &spec, "F32");
    lclip_text_encoder *enc;
    assert_int_equal(lclip_text_encoder_open(dir, NULL, &enc), LCLIP_OK);
    float out[16];
    assert_int_equal(lclip_text_encode(enc, "a photo", out), LCLIP_E_UNSUPPORTED);
    assert_non_null(strstr(lclip_last_error(), "vocab_path"));
    int32_t ids[8] = {5, 17, 99, 3};
    assert_int_equal(lclip_text_encode_tokens(enc, ids, 1, out), LCLIP_OK);
    lclip_text_encoder_close(enc);

    /* a vocabulary that is present but incomplete or broken fails the open */
    char *vocab = join_path(dir, "vocab.json"), *merges = join_path(dir, "merges.txt");
    write_text_file(vocab, "{\"a\": 0");
    assert_int_equal(lclip_text_encoder_open(dir, NULL, &enc), LCLIP_E_IO); /* merges.txt missing */
    assert_null(enc);
    write_text_file(merges, "#version: 0.2\n");
    assert_int_equal(lclip_text_encoder_open(dir, NULL, &enc), LCLIP_E_FORMAT);
    assert_null(enc);
    free(merges);
    free(vocab);
    rm_tree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings_give_reference_tokens_and_embeddings),
        cmocka_unit_test(test_edges_behave_as_documented),
        cmocka_unit_test(test_no_vocabulary_means_token_ids_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
