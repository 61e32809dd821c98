#define _POSIX_C_SOURCE 200809L
/* Sharded checkpoints (model.safetensors.index.json + shards): a model split
 * into shards gives the very embeddings of the single file, bit for bit;
 * hostile or inconsistent indexes fail with their status and a message
 * naming the shard or tensor, never a crash (run under ASan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "libclip.h"
#include "support/expect_open.h"
#include "support/shards.h"
#include "support/test_util.h"
#include "support/tiny_model.h"

typedef struct fixture {
    char *single;  /* an HF directory with model.safetensors */
    char *sharded; /* the same config, the weights in 3 shards */
    char *index;   /* sharded/model.safetensors.index.json */
    tiny_spec spec;
    char *first;   /* the first tensor's name */
} fixture;


/* dir/model.safetensors split into n shards in a new directory beside
 * config.json (and whatever else of names exists in dir). */
static char *shard_directory(const char *dir, int n, shard_flaw flaw, char **first)
{
    static const char *const beside[] = {"config.json", "preprocessor_config.json", "vocab.json", "merges.txt"};
    char *out = make_temp_dir(), *weights = join_path(dir, "model.safetensors");
    for (size_t i = 0; i < sizeof beside / sizeof *beside; i++) {
        char *path = join_path(dir, beside[i]);
        if (access(path, F_OK) == 0)
            copy_file(dir, out, beside[i]);
        free(path);
    }
    char *name = shard_safetensors(weights, out, n, flaw);
    if (first)
        *first = name;
    else
        free(name);
    free(weights);
    return out;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->single = make_temp_dir();
    f->spec = tiny_spec_default();
    tiny_write_hf(f->single, &f->spec, "F16");
    f->sharded = shard_directory(f->single, 3, SHARD_EXACT, &f->first);
    f->index = join_path(f->sharded, "model.safetensors.index.json");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    rm_tree(f->single);
    rm_tree(f->sharded);
    free(f->single);
    free(f->sharded);
    free(f->index);
    free(f->first);
    free(f);
    return 0;
}


/* Both towers of the two directories, on the same inputs: equal bytes. */
static void expect_same_embeddings(const char *single, const char *sharded, const lclip_options *opts,
                                   const char *const *texts, size_t n_texts)
{
    lclip_image_encoder *img_a, *img_b;
    lclip_text_encoder *txt_a, *txt_b;
    assert_int_equal(lclip_image_encoder_open(single, opts, &img_a), LCLIP_OK);
    if (lclip_image_encoder_open(sharded, opts, &img_b) != LCLIP_OK)
        fail_msg("%s: %s", sharded, lclip_last_error());
    assert_int_equal(lclip_text_encoder_open(single, opts, &txt_a), LCLIP_OK);
    assert_int_equal(lclip_text_encoder_open(sharded, opts, &txt_b), LCLIP_OK);
    size_t dim = lclip_image_encoder_dim(img_a);
    assert_int_equal(lclip_image_encoder_dim(img_b), dim);

    uint8_t rgb[2][40 * 30 * 3];
    for (size_t i = 0; i < sizeof rgb[0]; i++) {
        rgb[0][i] = (uint8_t)(i * 37 + 11);
        rgb[1][i] = (uint8_t)(i * i + 5);
    }
    float a[2 * 64], b[2 * 64];
    for (int k = 0; k < 2; k++) {
        assert_int_equal(lclip_image_encode_rgb(img_a, rgb[k], 40, 30, 40 * 3, a + k * dim), LCLIP_OK);
        assert_int_equal(lclip_image_encode_rgb(img_b, rgb[k], 40, 30, 40 * 3, b + k * dim), LCLIP_OK);
    }
    assert_memory_equal(a, b, 2 * dim * sizeof *a);

    int context = lclip_text_encoder_context_length(txt_a);
    int32_t ids[2 * 77] = {0};
    assert_true(context <= 77);
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < 5; i++)
            ids[k * context + i] = 3 + 7 * i + k;
    assert_int_equal(lclip_text_encode_tokens(txt_a, ids, 2, a), LCLIP_OK);
    assert_int_equal(lclip_text_encode_tokens(txt_b, ids, 2, b), LCLIP_OK);
    assert_memory_equal(a, b, 2 * dim * sizeof *a);
    if (n_texts) {
        float *ta = malloc(n_texts * dim * sizeof *ta), *tb = malloc(n_texts * dim * sizeof *tb);
        assert_int_equal(lclip_text_encode_batch(txt_a, texts, n_texts, ta), LCLIP_OK);
        assert_int_equal(lclip_text_encode_batch(txt_b, texts, n_texts, tb), LCLIP_OK);
        assert_memory_equal(ta, tb, n_texts * dim * sizeof *ta);
        free(ta);
        free(tb);
    }
    assert_float_equal(lclip_image_encoder_logit_scale(img_a), lclip_image_encoder_logit_scale(img_b), 0.0);
    lclip_text_encoder_close(txt_a);
    lclip_text_encoder_close(txt_b);
    lclip_image_encoder_close(img_a);
    lclip_image_encoder_close(img_b);
}

static void test_shards_give_the_single_file_embeddings(void **state)
{
    fixture *f = *state;
    expect_same_embeddings(f->single, f->sharded, NULL, NULL, 0);
    /* the index itself as model_path, and the oneDNN engine's packing (which
     * gives the shards' pages back) */
    lclip_options opts;
    lclip_options_init(&opts);
    opts.n_threads = 2;
    expect_same_embeddings(f->single, f->index, &opts, NULL, 0);
}

/* The fixtures' HF models, split in 2 and in 3, with their tokenizer. */
static void test_fixture_models_sharded(void **state)
{
    (void)state;
    const char *fixtures = fixtures_dir();
    if (!fixtures)
        skip();
    static const char *const texts[] = {"a photo of an astronaut", "a diagram", "", "a black and white photograph"};
    const char *models[2] = {"models/tiny-gelu/hf", "models/tiny-quickgelu/hf"};
    for (int m = 0; m < 2; m++) {
        char *single = join_path(fixtures, models[m]);
        for (int n = 2; n <= 3; n++) {
            char *sharded = shard_directory(single, n, SHARD_EXACT, NULL);
            expect_same_embeddings(single, sharded, NULL, texts, 4);
            rm_tree(sharded);
            free(sharded);
        }
        free(single);
    }
}

/* A single model.safetensors beside the shards is the one loaded. */
static void test_single_file_wins_over_an_index(void **state)
{
    fixture *f = *state;
    char *index = join_path(f->single, "model.safetensors.index.json");
    write_text_file(index, "not even JSON");
    lclip_image_encoder *img;
    assert_int_equal(lclip_image_encoder_open(f->single, NULL, &img), LCLIP_OK);
    lclip_image_encoder_close(img);
    free(index);
}

static void rewrite_index(fixture *f, const char *from, const char *to)
{
    size_t len;
    char *bytes = read_whole_file(f->index, &len), *text = strndup(bytes, len);
    free(bytes);
    char *changed = replace_first(text, from, to);
    write_text_file(f->index, changed);
    free(changed);
    free(text);
}

static void test_shard_names_stay_in_the_directory(void **state)
{
    fixture *f = *state;
    static const char *const hostile[] = {"../model-00002-of-00003.safetensors",
                                          "/etc/passwd",
                                          "sub/model-00002-of-00003.safetensors",
                                          "..",
                                          "",
                                          "a\\\\b.safetensors"};
    char before[128], after[128];
    snprintf(before, sizeof before, "\"%s\"", shard_name(2, 3));
    for (size_t i = 0; i < sizeof hostile / sizeof *hostile; i++) {
        snprintf(after, sizeof after, "\"%s\"", hostile[i]);
        rewrite_index(f, before, after);
        expect_failure(f->sharded, LCLIP_E_FORMAT, "is not a plain file name");
        rewrite_index(f, after, before);
    }
}

static void test_missing_shard(void **state)
{
    fixture *f = *state;
    char *shard = join_path(f->sharded, shard_name(3, 3));
    unlink(shard);
    expect_failure(f->sharded, LCLIP_E_IO, shard_name(3, 3));
    free(shard);
}

static void test_unreadable_shard(void **state)
{
    fixture *f = *state;
    if (geteuid() == 0)
        skip(); /* root reads any file */
    char *shard = join_path(f->sharded, shard_name(2, 3));
    chmod(shard, 0);
    expect_failure(f->sharded, LCLIP_E_IO, shard_name(2, 3));
    free(shard);
}

static void test_tensor_in_two_shards(void **state)
{
    fixture *f = *state;
    char *dir = shard_directory(f->single, 3, SHARD_FIRST_ALSO_IN_LAST, NULL);
    char needle[512];
    snprintf(needle, sizeof needle, "tensor '%s' is in shard %s, but the index lists it in", f->first,
             shard_name(3, 3));
    expect_failure(dir, LCLIP_E_FORMAT, needle);
    rm_tree(dir);
    free(dir);
}

static void test_tensor_missing_from_the_index(void **state)
{
    fixture *f = *state;
    char *dir = shard_directory(f->single, 2, SHARD_FIRST_UNLISTED, NULL);
    char needle[512];
    snprintf(needle, sizeof needle, "tensor '%s' of shard %s is not in the index", f->first, shard_name(1, 2));
    expect_failure(dir, LCLIP_E_FORMAT, needle);
    rm_tree(dir);
    free(dir);
}

static void test_index_names_a_tensor_the_shard_lacks(void **state)
{
    fixture *f = *state;
    char after[256];
    snprintf(after, sizeof after, "\"weight_map\":\t{\n\t\t\"ghost.weight\":\t\"%s\",", shard_name(2, 3));
    rewrite_index(f, "\"weight_map\":\t{", after);
    char needle[256];
    snprintf(needle, sizeof needle, "the index lists tensor 'ghost.weight' in %s, which does not hold it",
             shard_name(2, 3));
    expect_failure(f->sharded, LCLIP_E_FORMAT, needle);
}

static void test_tensor_listed_twice(void **state)
{
    fixture *f = *state;
    char after[512];
    snprintf(after, sizeof after, "\"weight_map\":\t{\n\t\t\"%s\":\t\"%s\",", f->first, shard_name(1, 3));
    rewrite_index(f, "\"weight_map\":\t{", after);
    expect_failure(f->sharded, LCLIP_E_FORMAT, "is listed twice in the index");
}

static void test_malformed_index(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *text, *needle;
    } cases[] = {
        {"{\"weight_map\": {\"a\": \"model-00001-of-00003.safetensors\"", "not valid JSON"},
        {"", "not valid JSON"},
        {"{\"weight_map\": {}} trailing", "unexpected bytes after the JSON object"},
        {"[1, 2]", "no \"weight_map\" object"},
        {"{\"metadata\": {}}", "no \"weight_map\" object"},
        {"{\"weight_map\": []}", "no \"weight_map\" object"},
        {"{\"weight_map\": {}}", "lists no tensors"},
        {"{\"weight_map\": {\"a\": 3}}", "tensor 'a': the shard is not a string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        write_text_file(f->index, cases[i].text);
        expect_failure(f->sharded, LCLIP_E_FORMAT, cases[i].needle);
    }
}

/* The index is held to max_header_bytes and max_tensor_count, each shard
 * to the single-file limits. */
static void test_limits(void **state)
{
    fixture *f = *state;
    lclip_options opts;
    lclip_options_init(&opts);
    opts.max_header_bytes = 512;
    expect_failure_opts(f->sharded, &opts, LCLIP_E_TOO_LARGE, "model.safetensors.index.json: larger than");
    lclip_options_init(&opts);
    opts.max_tensor_count = 5;
    expect_failure_opts(f->sharded, &opts, LCLIP_E_TOO_LARGE, "exceed the limit of 5");

    /* more entries than max_tensor_count: refused by count before any shard is opened */
    enum { HUGE = 70000 };
    size_t cap = (size_t)HUGE * 56 + 64, at = 0;
    char *huge = malloc(cap);
    at += (size_t)sprintf(huge + at, "{\"weight_map\": {");
    for (int i = 0; i < HUGE; i++)
        at += (size_t)sprintf(huge + at, "%s\"t%d\": \"model-00001-of-00003.safetensors\"", i ? ", " : "", i);
    sprintf(huge + at, "}}");
    write_text_file(f->index, huge);
    free(huge);
    expect_failure(f->sharded, LCLIP_E_TOO_LARGE, "70000 tensors exceed the limit of 65536");

    /* each shard is held to max_header_bytes: one shard's header (every
     * tensor's dtype, shape and offsets) is longer than the index */
    char *one = shard_directory(f->single, 1, SHARD_EXACT, NULL), *index = join_path(one, "model.safetensors.index.json");
    size_t index_len;
    free(read_whole_file(index, &index_len));
    lclip_options_init(&opts);
    opts.max_header_bytes = index_len;
    expect_failure_opts(one, &opts, LCLIP_E_TOO_LARGE, "model-00001-of-00001.safetensors: header length");
    free(index);
    rm_tree(one);
    free(one);
}

/* A shard that is itself broken says which shard. */
static void test_broken_shard(void **state)
{
    fixture *f = *state;
    char *shard = join_path(f->sharded, shard_name(2, 3));
    write_text_file(shard, "{\"oops\": 1}");
    expect_failure(f->sharded, LCLIP_E_FORMAT, "model-00002-of-00003.safetensors: not a safetensors file");
    free(shard);
}

int main(void)
{
#define CASE(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        CASE(test_shards_give_the_single_file_embeddings),
        CASE(test_fixture_models_sharded),
        CASE(test_single_file_wins_over_an_index),
        CASE(test_shard_names_stay_in_the_directory),
        CASE(test_missing_shard),
        CASE(test_unreadable_shard),
        CASE(test_tensor_in_two_shards),
        CASE(test_tensor_missing_from_the_index),
        CASE(test_index_names_a_tensor_the_shard_lacks),
        CASE(test_tensor_listed_twice),
        CASE(test_malformed_index),
        CASE(test_limits),
        CASE(test_broken_shard),
    };
#undef CASE
    return cmocka_run_group_tests(tests, NULL, NULL);
}
