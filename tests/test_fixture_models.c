/* Every tiny reference model, in both layouts, opens as an image and as a
 * text encoder and reports what manifest.json says. */
#include <cjson/cJSON.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "libclip.h"
#include "support/test_util.h"

static cJSON *load_manifest(const char *fixtures)
{
    char *path = join_path(fixtures, "manifest.json");
    size_t len;
    char *text = read_whole_file(path, &len);
    assert_non_null(text);
    cJSON *root = cJSON_ParseWithLength(text, len);
    assert_non_null(root);
    free(text);
    free(path);
    return root;
}

static int spec_int(const cJSON *spec, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(spec, key);
    assert_true(cJSON_IsNumber(item));
    return item->valueint;
}

static void check_model(const char *path, const cJSON *spec, double logit_scale_exp)
{
    print_message("  %s\n", path);
    lclip_image_encoder *image;
    lclip_text_encoder *text;
    lclip_status s = lclip_image_encoder_open(path, NULL, &image);
    if (s != LCLIP_OK)
        fail_msg("image encoder: %s: %s", lclip_strerror(s), lclip_last_error());
    s = lclip_text_encoder_open(path, NULL, &text);
    if (s != LCLIP_OK)
        fail_msg("text encoder: %s: %s", lclip_strerror(s), lclip_last_error());

    assert_int_equal(lclip_image_encoder_dim(image), spec_int(spec, "embed_dim"));
    assert_int_equal(lclip_text_encoder_dim(text), spec_int(spec, "embed_dim"));
    assert_int_equal(lclip_image_encoder_image_size(image), spec_int(spec, "image_resolution"));
    assert_int_equal(lclip_text_encoder_context_length(text), spec_int(spec, "context_length"));
    assert_float_equal(lclip_image_encoder_logit_scale(image), logit_scale_exp, 1e-5 * logit_scale_exp);
    assert_float_equal(lclip_text_encoder_logit_scale(text), logit_scale_exp, 1e-5 * logit_scale_exp);
    lclip_text_encoder_close(text);
    lclip_image_encoder_close(image);
}

static void test_every_fixture_model_opens_in_every_layout(void **state)
{
    (void)state;
    const char *fixtures = fixtures_dir();
    if (!fixtures)
        skip();
    cJSON *manifest = load_manifest(fixtures);
    const cJSON *models = cJSON_GetObjectItemCaseSensitive(manifest, "models");
    int checked = 0;
    const cJSON *model;
    cJSON_ArrayForEach(model, models)
    {
        const cJSON *spec = cJSON_GetObjectItemCaseSensitive(model, "spec");
        const cJSON *golden = cJSON_GetObjectItemCaseSensitive(model, "golden");
        double scale = cJSON_GetObjectItemCaseSensitive(golden, "logit_scale_exp")->valuedouble;
        const cJSON *layouts = cJSON_GetObjectItemCaseSensitive(model, "layouts");
        const char *hf_dir = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(layouts, "hf"), "dir")->valuestring;
        const char *oc_dir = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(layouts, "open_clip"), "dir")->valuestring;

        char *hf = join_path(fixtures, hf_dir);
        char *oc = join_path(fixtures, oc_dir);
        char *oc_file = join_path(oc, "open_clip_model.safetensors");
        check_model(hf, spec, scale);      /* HF directory */
        check_model(oc, spec, scale);      /* open_clip directory */
        check_model(oc_file, spec, scale); /* the .safetensors file itself */
        free(oc_file);
        free(oc);
        free(hf);
        checked++;
    }
    assert_true(checked >= 2);
    cJSON_Delete(manifest);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_fixture_model_opens_in_every_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
