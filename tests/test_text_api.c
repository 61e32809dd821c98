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
#include <sys/stat.h>

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
    /* The encoder's shortcoming, not the text's: the call fails as a whole
     * also with per-input results. */
    lclip_status status = LCLIP_OK;
    lclip_batch_options b;
    lclip_batch_options_init(&b);
    b.item_status = &status;
    const char *one[1] = {"a photo"};
    out[0] = 42.0f;
    assert_int_equal(lclip_text_encode_batch_ex(enc, one, 1, out, &b), LCLIP_E_UNSUPPORTED);
    assert_int_equal(status, LCLIP_OK);
    assert_float_equal(out[0], 42.0f, 0.0);
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

/* Per-input results for texts: a bad string (invalid UTF-8, NULL) or a bad
 * id row fails alone, with its own message; every other text is encoded as
 * in a batch without it. */
typedef struct item_errors {
    size_t count, index[8];
    char message[8][256];
} item_errors;

static void record_error(void *user, size_t index, lclip_status status, const char *message)
{
    item_errors *e = user;
    assert_int_not_equal(status, LCLIP_OK);
    assert_true(e->count < 8);
    e->index[e->count] = index;
    snprintf(e->message[e->count++], sizeof e->message[0], "%s", message);
}

static void test_per_input_results_for_texts(void **state)
{
    (void)state;
    const char *fixtures = fixtures_dir();
    if (!fixtures)
        skip();
    for (int threads = 0; threads <= 3; threads += 3) {
        lclip_text_encoder *enc = open_text_threads(fixtures, "tiny-gelu", "hf", 1, threads);
        const char *good[3] = {"a photo of a cat", "a diagram", "two dogs"};
        float want[3 * EMBED], got[5 * EMBED];
        assert_int_equal(lclip_text_encode_batch(enc, good, 3, want), LCLIP_OK);
        const char *batch[5] = {"a photo of a cat", "bad \xff utf-8", "a diagram", NULL, "two dogs"};
        lclip_status status[5];
        item_errors e = {0};
        lclip_batch_options b;
        lclip_batch_options_init(&b);
        b.item_status = status;
        b.on_item_error = record_error;
        b.user = &e;
        assert_int_equal(lclip_text_encode_batch_ex(enc, batch, 5, got, &b), LCLIP_OK);
        const lclip_status expected[5] = {LCLIP_OK, LCLIP_E_INVALID_ARGUMENT, LCLIP_OK, LCLIP_E_INVALID_ARGUMENT,
                                          LCLIP_OK};
        const size_t good_row[5] = {0, 0, 1, 0, 2};
        for (size_t i = 0; i < 5; i++) {
            assert_int_equal(status[i], expected[i]);
            for (size_t d = 0; d < EMBED; d++)
                if (expected[i] == LCLIP_OK)
                    assert_float_equal(got[i * EMBED + d], want[good_row[i] * EMBED + d], 1e-5);
                else
                    assert_true(isnan(got[i * EMBED + d]));
        }
        assert_int_equal(e.count, 2);
        assert_int_equal(e.index[0], 1);
        assert_non_null(strstr(e.message[0], "UTF-8"));
        assert_int_equal(e.index[1], 3);
        assert_non_null(strstr(e.message[1], "text 3 is NULL"));

        /* Ids: the row with an id outside the vocabulary fails alone. */
        int32_t ids[3 * CONTEXT];
        for (int i = 0; i < 3; i++)
            assert_int_equal(lclip_tokenize(enc, good[i], ids + i * CONTEXT, CONTEXT, NULL), LCLIP_OK);
        ids[CONTEXT + 2] = 1 << 20;
        memset(&e, 0, sizeof e);
        assert_int_equal(lclip_text_encode_tokens_ex(enc, ids, 3, got, &b), LCLIP_OK);
        assert_int_equal(status[0], LCLIP_OK);
        assert_int_equal(status[1], LCLIP_E_INVALID_ARGUMENT);
        assert_int_equal(status[2], LCLIP_OK);
        assert_non_null(strstr(e.message[0], "text 1: token id 1048576 at position 2 is outside the vocabulary"));
        assert_float_equal(got[2 * EMBED], want[2 * EMBED], 1e-5);
        assert_true(isnan(got[EMBED]));
        /* Plain call: the first bad row fails the batch. */
        assert_int_equal(lclip_text_encode_tokens_ex(enc, ids, 3, got, NULL), LCLIP_E_INVALID_ARGUMENT);
        lclip_text_encoder_close(enc);
    }
}

/* Lines of the log callback at open. */
typedef struct open_log {
    int count;
    char lines[8][512];
    lclip_log_level levels[8];
} open_log;

static void keep_line(void *user, lclip_log_level level, const char *message)
{
    open_log *l = user;
    if (l->count < 8) {
        l->levels[l->count] = level;
        snprintf(l->lines[l->count++], sizeof l->lines[0], "%s", message);
    }
}

static const char *find_line(const open_log *l, lclip_log_level level, const char *needle)
{
    for (int i = 0; i < l->count; i++)
        if (l->levels[i] == level && strstr(l->lines[i], needle))
            return l->lines[i];
    return NULL;
}

/* Choices the library makes at open reach the log: a text encoder without a
 * vocabulary, hyperparameters inferred from the tensors, 16-bit weights
 * widened. */
static void test_open_tells_the_log_what_it_chose(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    tiny_spec spec = tiny_spec_default();
    tiny_write_hf(dir, &spec, "BF16");
    open_log l = {0};
    lclip_options opts;
    lclip_options_init(&opts);
    opts.log = keep_line;
    opts.log_user = &l;
    lclip_text_encoder *enc;
    assert_int_equal(lclip_text_encoder_open(dir, &opts, &enc), LCLIP_OK);
    assert_non_null(find_line(&l, LCLIP_LOG_WARNING, "no BPE vocabulary"));
    assert_non_null(find_line(&l, LCLIP_LOG_INFO, "16-bit weights converted to F32"));
    lclip_text_encoder_close(enc);

    st_file openai;
    tiny_build(&spec, TINY_OPENAI, "F32", &openai);
    char *file = join_path(dir, "openai.safetensors");
    st_write(file, &openai, 0, SIZE_MAX);
    memset(&l, 0, sizeof l);
    lclip_image_encoder *image;
    assert_int_equal(lclip_image_encoder_open(file, &opts, &image), LCLIP_OK);
    const char *line = find_line(&l, LCLIP_LOG_INFO, "hyperparameters inferred");
    assert_non_null(line);
    assert_non_null(strstr(line, file));
    assert_null(find_line(&l, LCLIP_LOG_INFO, "16-bit"));
    lclip_image_encoder_close(image);
    st_file_free(&openai);
    free(file);
    rm_tree(dir);
    free(dir);
}


static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

/* An open_clip directory without a tokenizer file, as the hub has them:
 * libclip's own copy of OpenAI's vocabulary (the build tree's here) gives the
 * reference's ids, and describe and the log say it was used. */
static void test_default_vocabulary(void **state)
{
    (void)state;
    const char *fixtures = fixtures_dir();
    if (!fixtures)
        skip();
    char *dir = make_temp_dir(), *model = join_path(fixtures, "models/tiny-gelu/open_clip");
    copy_file(model, dir, "open_clip_model.safetensors");
    copy_file(model, dir, "open_clip_config.json");
    open_log l = {0};
    lclip_options opts;
    lclip_options_init(&opts);
    opts.log = keep_line;
    opts.log_user = &l;
    lclip_text_encoder *enc;
    assert_int_equal(lclip_text_encoder_open(dir, &opts, &enc), LCLIP_OK);
    const char *vocab = strstr(lclip_text_encoder_describe(enc), " vocab=builtin:/");
    if (!vocab || !ends_with(vocab, "/share/libclip/bpe_simple_vocab_16e6.txt.gz"))
        fail_msg("describe: %s", lclip_text_encoder_describe(enc));
    assert_non_null(find_line(&l, LCLIP_LOG_INFO, "BPE vocabulary builtin:/"));

    texts t;
    read_texts(fixtures, &t);
    int32_t *golden = golden_text_tokens(fixtures), ids[CONTEXT];
    for (int i = 0; i < N_TEXTS; i++) {
        size_t n;
        assert_int_equal(lclip_tokenize(enc, t.list[i], ids, CONTEXT, &n), LCLIP_OK);
        if (memcmp(ids, golden + i * CONTEXT, sizeof ids) != 0)
            fail_msg("text %d (%s): ids differ from golden/text_tokens.i32", i, t.list[i]);
    }
    lclip_text_encoder_close(enc);
    free(golden);
    cJSON_Delete(t.manifest);
    rm_tree(dir);
    free(dir);
    free(model);
}

/* describe's vocab= names what was used: the checkpoint's HF files, the
 * caller's .gz (a space in its path written %20), or none. */
static void test_describe_names_the_vocabulary(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    tiny_spec spec = tiny_spec_default();
    tiny_write_hf(dir, &spec, "F32");
    lclip_text_encoder *enc;
    assert_int_equal(lclip_text_encoder_open(dir, NULL, &enc), LCLIP_OK);
    assert_true(ends_with(lclip_text_encoder_describe(enc), " vocab=none"));
    lclip_text_encoder_close(enc);
    const char *fixtures = fixtures_dir();
    if (fixtures) {
        char *hf = join_path(fixtures, "models/tiny-gelu/hf"), want[1200];
        assert_int_equal(lclip_text_encoder_open(hf, NULL, &enc), LCLIP_OK);
        snprintf(want, sizeof want, " vocab=hf:%s/vocab.json", hf);
        assert_true(ends_with(lclip_text_encoder_describe(enc), want));
        lclip_text_encoder_close(enc);

        char *spaced = join_path(dir, "a b");
        mkdir(spaced, 0700);
        copy_file(fixtures, spaced, "bpe_simple_vocab_16e6.txt.gz");
        char *gz = join_path(spaced, "bpe_simple_vocab_16e6.txt.gz");
        lclip_options opts;
        lclip_options_init(&opts);
        opts.vocab_path = gz;
        assert_int_equal(lclip_text_encoder_open(hf, &opts, &enc), LCLIP_OK);
        snprintf(want, sizeof want, " vocab=gz:%s/a%%20b/bpe_simple_vocab_16e6.txt.gz", dir);
        if (!ends_with(lclip_text_encoder_describe(enc), want))
            fail_msg("describe: %s, expected it to end with%s", lclip_text_encoder_describe(enc), want);
        lclip_text_encoder_close(enc);
        free(gz);
        free(spaced);
        free(hf);
    }
    rm_tree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strings_give_reference_tokens_and_embeddings),
        cmocka_unit_test(test_edges_behave_as_documented),
        cmocka_unit_test(test_no_vocabulary_means_token_ids_only),
        cmocka_unit_test(test_per_input_results_for_texts),
        cmocka_unit_test(test_open_tells_the_log_what_it_chose),
        cmocka_unit_test(test_default_vocabulary),
        cmocka_unit_test(test_describe_names_the_vocabulary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
