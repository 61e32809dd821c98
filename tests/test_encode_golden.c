/* The public encode functions against the reference, through the shared
 * library as an application uses it: raw and normalised embeddings of the
 * golden pixel tensors and token ids, and zero-shot logits and
 * probabilities, for both tiny models in both layouts. */
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

#define N_IMAGES 13
#define N_TEXTS 40
#define CONTEXT 77
#define EMBED 32
#define PIXELS (3 * 32 * 32)

static const char *const models[2] = {"tiny-quickgelu", "tiny-gelu"};
static const char *const layouts[3] = {"hf", "open_clip", "open_clip/open_clip_model.safetensors"};

typedef struct golden_inputs {
    float pixels[N_IMAGES * PIXELS];
    int32_t tokens[N_TEXTS * CONTEXT];
} golden_inputs;

static golden_inputs *read_inputs(const char *fixtures)
{
    golden_inputs *in = malloc(sizeof *in);
    size_t count;
    float *pixels = golden_pixels(fixtures, 32, &count);
    assert_int_equal(count, N_IMAGES);
    memcpy(in->pixels, pixels, sizeof in->pixels);
    free(pixels);
    int32_t *tokens = golden_text_tokens(fixtures);
    memcpy(in->tokens, tokens, sizeof in->tokens);
    free(tokens);
    return in;
}

static void open_pair(const char *fixtures, int model, int layout, int normalize, lclip_image_encoder **image,
                      lclip_text_encoder **text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/models/%s/%s", fixtures, models[model], layouts[layout]);
    lclip_options opts;
    lclip_options_init(&opts);
    opts.normalize = normalize;
    if (lclip_image_encoder_open(path, &opts, image) != LCLIP_OK ||
        lclip_text_encoder_open(path, &opts, text) != LCLIP_OK)
        fail_msg("%s: %s", path, lclip_last_error());
}

static void test_raw_embeddings_match_reference(void **state)
{
    (void)state;
    const char *fixtures = fixtures_dir();
    if (!fixtures)
        skip();
    golden_inputs *in = read_inputs(fixtures);
    for (int mi = 0; mi < 2; mi++) {
        char relative[256];
        snprintf(relative, sizeof relative, "golden/%s/image_embeds.f32", models[mi]);
        float *image_ref = golden_read(fixtures, relative, N_IMAGES * EMBED, sizeof(float));
        snprintf(relative, sizeof relative, "golden/%s/text_embeds.f32", models[mi]);
        float *text_ref = golden_read(fixtures, relative, N_TEXTS * EMBED, sizeof(float));
        for (int li = 0; li < 3; li++) {
            lclip_image_encoder *image;
            lclip_text_encoder *text;
            open_pair(fixtures, mi, li, 0, &image, &text);
            float image_out[N_IMAGES * EMBED], text_out[N_TEXTS * EMBED];
            assert_int_equal(lclip_image_encode_pixels(image, in->pixels, N_IMAGES, image_out), LCLIP_OK);
            assert_int_equal(lclip_text_encode_tokens(text, in->tokens, N_TEXTS, text_out), LCLIP_OK);
            assert_embeddings_match(image_out, image_ref, N_IMAGES, EMBED, "images");
            assert_embeddings_match(text_out, text_ref, N_TEXTS, EMBED, "texts");
            lclip_text_encoder_close(text);
            lclip_image_encoder_close(image);
        }
        free(text_ref);
        free(image_ref);
    }
    free(in);
}

static double json_number(const cJSON *array, int i)
{
    return cJSON_GetArrayItem(array, i)->valuedouble;
}

/* What a user does for zero-shot labelling, end to end: image files and
 * prompt strings in, normalised embeddings, logits = logit_scale * cosine,
 * softmax over the prompts. */
static void test_zero_shot_matches_reference(void **state)
{
    (void)state;
    const char *fixtures = fixtures_dir();
    if (!fixtures)
        skip();
    size_t n_images;
    char **paths = golden_image_files(fixtures, &n_images);
    assert_int_equal(n_images, N_IMAGES);
    for (int mi = 0; mi < 2; mi++) {
        char path[512];
        snprintf(path, sizeof path, "%s/golden/%s/zero_shot.json", fixtures, models[mi]);
        size_t len;
        char *text_json = read_whole_file(path, &len);
        cJSON *golden = cJSON_ParseWithLength(text_json, len);
        const cJSON *prompts_json = cJSON_GetObjectItemCaseSensitive(golden, "texts");
        const cJSON *logits_ref = cJSON_GetObjectItemCaseSensitive(golden, "logits_per_image");
        const cJSON *probs_ref = cJSON_GetObjectItemCaseSensitive(golden, "probs");
        int n_prompts = cJSON_GetArraySize(prompts_json);
        const char *prompts[16];
        for (int p = 0; p < n_prompts; p++)
            prompts[p] = cJSON_GetArrayItem(prompts_json, p)->valuestring;

        lclip_image_encoder *image;
        lclip_text_encoder *text;
        open_pair(fixtures, mi, 0, 1, &image, &text);
        float image_out[N_IMAGES * EMBED], text_out[16 * EMBED];
        assert_int_equal(lclip_image_encode_files(image, (const char *const *)paths, n_images, image_out), LCLIP_OK);
        assert_int_equal(lclip_text_encode_batch(text, prompts, (size_t)n_prompts, text_out), LCLIP_OK);
        float scale = lclip_text_encoder_logit_scale(text);
        assert_float_equal(scale, cJSON_GetObjectItemCaseSensitive(golden, "logit_scale_exp")->valuedouble, 1e-4);

        for (size_t i = 0; i < n_images; i++) {
            double logits[16], max = -INFINITY, sum = 0;
            for (int p = 0; p < n_prompts; p++) {
                const float *t = text_out + p * EMBED, *v = image_out + i * EMBED;
                double dot = 0;
                for (int d = 0; d < EMBED; d++)
                    dot += (double)v[d] * t[d];
                logits[p] = scale * dot;
                max = fmax(max, logits[p]);
                assert_float_equal(logits[p], json_number(cJSON_GetArrayItem(logits_ref, (int)i), p), 5e-3);
            }
            for (int p = 0; p < n_prompts; p++)
                sum += exp(logits[p] - max);
            for (int p = 0; p < n_prompts; p++)
                assert_float_equal(exp(logits[p] - max) / sum,
                                   json_number(cJSON_GetArrayItem(probs_ref, (int)i), p), 2e-3);
        }
        lclip_text_encoder_close(text);
        lclip_image_encoder_close(image);
        cJSON_Delete(golden);
        free(text_json);
    }
    golden_free_names(paths, n_images);
}

static void test_normalised_output_is_unit_and_parallel(void **state)
{
    (void)state;
    const char *fixtures = fixtures_dir();
    if (!fixtures)
        skip();
    golden_inputs *in = read_inputs(fixtures);
    lclip_image_encoder *raw_image, *unit_image;
    lclip_text_encoder *raw_text, *unit_text;
    open_pair(fixtures, 1, 0, 0, &raw_image, &raw_text);
    open_pair(fixtures, 1, 0, 1, &unit_image, &unit_text);
    float raw[N_TEXTS * EMBED], unit[N_TEXTS * EMBED];
    assert_int_equal(lclip_text_encode_tokens(raw_text, in->tokens, N_TEXTS, raw), LCLIP_OK);
    assert_int_equal(lclip_text_encode_tokens(unit_text, in->tokens, N_TEXTS, unit), LCLIP_OK);
    for (int r = 0; r < N_TEXTS; r++) {
        double norm = 0, raw_norm = 0;
        for (int d = 0; d < EMBED; d++) {
            norm += (double)unit[r * EMBED + d] * unit[r * EMBED + d];
            raw_norm += (double)raw[r * EMBED + d] * raw[r * EMBED + d];
        }
        assert_float_equal(norm, 1.0, 1e-6);
        for (int d = 0; d < EMBED; d++)
            assert_float_equal(unit[r * EMBED + d], raw[r * EMBED + d] / sqrt(raw_norm), 1e-6);
    }
    assert_int_equal(lclip_image_encode_pixels(unit_image, in->pixels, 0, NULL), LCLIP_OK); /* n = 0 */
    assert_int_equal(lclip_image_encode_pixels(unit_image, NULL, 1, raw), LCLIP_E_INVALID_ARGUMENT);
    assert_int_equal(lclip_text_encode_tokens(NULL, in->tokens, 1, raw), LCLIP_E_INVALID_ARGUMENT);
    lclip_text_encoder_close(unit_text);
    lclip_image_encoder_close(unit_image);
    lclip_text_encoder_close(raw_text);
    lclip_image_encoder_close(raw_image);
    free(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_raw_embeddings_match_reference),
        cmocka_unit_test(test_zero_shot_matches_reference),
        cmocka_unit_test(test_normalised_output_is_unit_and_parallel),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
