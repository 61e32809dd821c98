/* vocab.json's reader: every JSON string form a token can take, the shapes
 * it must refuse, and agreement with cJSON (a general parser) on the same
 * text, both on a self-made vocabulary of every byte and on the fixtures'. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <cjson/cJSON.h>

#include "support/test_util.h"
#include "common/alloc.h"
#include "libclip.h"
#include "text/vocab_json.h"

typedef struct parsed {
    char *text; /* the parser unescapes over it */
    lclip_vocab_json_entry *entries;
    size_t count;
    lclip_status status;
} parsed;

static parsed parse(const char *json, size_t len)
{
    parsed p = {malloc(len + 1), NULL, 0, LCLIP_OK};
    assert_non_null(p.text);
    memcpy(p.text, json, len);
    p.text[len] = '\0';
    p.status = lclip_vocab_json_parse("vocab.json", p.text, len, &p.entries, &p.count);
    return p;
}

static void parsed_free(parsed *p)
{
    lclip_free(p->entries);
    free(p->text);
}

static void expect_one(const char *json, const char *token, size_t token_len, int32_t id)
{
    parsed p = parse(json, strlen(json));
    if (p.status != LCLIP_OK)
        fail_msg("%s: %s", json, lclip_last_error());
    assert_int_equal(p.count, 1);
    assert_int_equal(p.entries[0].len, token_len);
    assert_memory_equal(p.entries[0].token, token, token_len);
    assert_int_equal(p.entries[0].token[token_len], '\0');
    assert_int_equal(p.entries[0].id, id);
    parsed_free(&p);
}

static void test_string_forms(void **state)
{
    (void)state;
    expect_one("{\"a\":0}", "a", 1, 0);
    expect_one(" \t\r\n{ \"ab\" \n: 7 \t}\n ", "ab", 2, 7);
    expect_one("{\"\\\"\\\\\\/\\b\\f\\n\\r\\t\":1}", "\"\\/\b\f\n\r\t", 8, 1);
    expect_one("{\"\\u0041\\u00e9\\u20AC\":2}", "A\xC3\xA9\xE2\x82\xAC", 6, 2);
    expect_one("{\"\\ud83d\\ude00\":3}", "\xF0\x9F\x98\x80", 4, 3);
    expect_one("{\"\xC4\xA0the</w>\":2147483647}", "\xC4\xA0the</w>", 9, 2147483647);
    expect_one("{\"\":5}", "", 0, 5);

    parsed p = parse("{}", 2);
    assert_int_equal(p.status, LCLIP_OK);
    assert_int_equal(p.count, 0);
    parsed_free(&p);

    const char *three = "{\"x\":2,\"y\":0,\"x\":1}"; /* order kept, duplicates left to the caller */
    p = parse(three, strlen(three));
    assert_int_equal(p.status, LCLIP_OK);
    assert_int_equal(p.count, 3);
    assert_string_equal(p.entries[2].token, "x");
    assert_int_equal(p.entries[2].id, 1);
    parsed_free(&p);
}

static void test_refused_shapes(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        const char *message; /* a part of the error message */
    } bad[] = {
        {"", "expected '{'"},
        {"[1, 2]", "expected '{'"},
        {"{", "expected a token string"},
        {"{\"a\":1", "expected ',' or '}'"},
        {"{\"a\":1,}", "expected a token string"},
        {"{\"a\" 1}", "expected ':'"},
        {"{\"a\":1} x", "text after the object"},
        {"{\"a\":1}{}", "text after the object"},
        {"{\"a", "unterminated string"},
        {"{\"a\\", "unterminated string"},
        {"{\"a\n\":1}", "control character"},
        {"{\"\\x\":1}", "bad escape"},
        {"{\"\\u12\":1}", "bad \\u escape"},
        {"{\"\\u12g4\":1}", "bad \\u escape"},
        {"{\"\\ud800\":1}", "unpaired high surrogate"},
        {"{\"\\ud800\\u0041\":1}", "unpaired high surrogate"},
        {"{\"\\udc00\":1}", "unpaired low surrogate"},
        {"{\"\\u0000\":1}", "U+0000"},
        {"{\"a\":-1}", "token 'a' has no id"},
        {"{\"a\":01}", "token 'a' has no id"},
        {"{\"a\":1.0}", "token 'a' has no id"},
        {"{\"a\":1e3}", "token 'a' has no id"},
        {"{\"a\":2147483648}", "token 'a' has no id"},
        {"{\"a\":99999999999999999999999}", "token 'a' has no id"},
        {"{\"a\":\"1\"}", "token 'a' has no id"},
        {"{\"a\":}", "token 'a' has no id"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        parsed p = parse(bad[i].json, strlen(bad[i].json));
        if (p.status != LCLIP_E_FORMAT)
            fail_msg("'%s' gave status %d", bad[i].json, (int)p.status);
        if (!strstr(lclip_last_error(), bad[i].message) || !strstr(lclip_last_error(), "vocab.json"))
            fail_msg("'%s': message '%s' lacks '%s'", bad[i].json, lclip_last_error(), bad[i].message);
        assert_null(p.entries);
        assert_int_equal(p.count, 0);
        parsed_free(&p);
    }
}

/* Every member of text as cJSON reads it, in order, against ours. */
static void expect_same_as_cjson(const char *text, size_t len, size_t expected_count)
{
    cJSON *json = cJSON_ParseWithLength(text, len);
    assert_non_null(json);
    parsed p = parse(text, len);
    if (p.status != LCLIP_OK)
        fail_msg("%s", lclip_last_error());
    assert_int_equal(p.count, expected_count);
    size_t i = 0;
    for (const cJSON *e = json->child; e; e = e->next, i++) {
        assert_true(i < p.count);
        assert_int_equal(p.entries[i].len, strlen(e->string));
        assert_string_equal(p.entries[i].token, e->string);
        assert_int_equal(p.entries[i].id, (int32_t)e->valuedouble);
    }
    assert_int_equal(i, p.count);
    parsed_free(&p);
    cJSON_Delete(json);
}

/* Tokens of every byte and pair of bytes (valid UTF-8 or not), as cJSON
 * writes them: its escapes of quotes, backslashes and control characters. */
static void test_agrees_with_cjson_on_every_byte(void **state)
{
    (void)state;
    cJSON *obj = cJSON_CreateObject();
    size_t count = 0;
    char token[3] = {0};
    for (int a = 1; a < 256; a++) {
        token[0] = (char)a;
        token[1] = '\0';
        cJSON_AddNumberToObject(obj, token, (double)count++);
        for (int b = 1; b < 256; b += 7) {
            token[1] = (char)b;
            cJSON_AddNumberToObject(obj, token, (double)count++);
        }
        token[1] = '\0';
    }
    char *text = cJSON_Print(obj); /* formatted: newlines and tabs between members */
    expect_same_as_cjson(text, strlen(text), count);
    free(text);
    text = cJSON_PrintUnformatted(obj);
    expect_same_as_cjson(text, strlen(text), count);
    free(text);
    cJSON_Delete(obj);
}

static void test_agrees_with_cjson_on_the_clip_vocabulary(void **state)
{
    (void)state;
    const char *fixtures = fixtures_dir();
    if (!fixtures)
        skip();
    char *path = join_path(fixtures, "models/tiny-gelu/hf/vocab.json");
    size_t len;
    char *text = read_whole_file(path, &len);
    expect_same_as_cjson(text, len, 49408);
    free(text);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_string_forms),
        cmocka_unit_test(test_refused_shapes),
        cmocka_unit_test(test_agrees_with_cjson_on_every_byte),
        cmocka_unit_test(test_agrees_with_cjson_on_the_clip_vocabulary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
