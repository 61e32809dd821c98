/* Both towers against the reference: the tiny models' image embeddings of
 * the preprocessed golden tensors and text embeddings of the golden token
 * ids, in both checkpoint layouts, batched and one at a time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "image/image_tower.h"
#include "load/model.h"
#include "support/golden.h"
#include "support/test_util.h"
#include "text/text_tower.h"

#define N_IMAGES 13
#define N_TEXTS 40
#define CONTEXT 77
#define EMBED 32
#define PIXELS (3 * 32 * 32)

static const char *const models[2] = {"tiny-quickgelu", "tiny-gelu"};
static const char *const layouts[2] = {"hf", "open_clip/open_clip_model.safetensors"};

static lclip_model *open_fixture_model(const char *fixtures, const char *model, const char *layout)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/models/%s/%s", fixtures, model, layout);
    lclip_model *m;
    lclip_status s = lclip_model_open("test", path, NULL, LCLIP_TOWER_VISION | LCLIP_TOWER_TEXT, &m);
    if (s != LCLIP_OK)
        fail_msg("%s: %s", path, lclip_last_error());
    return m;
}

static float *read_pixels(const char *fixtures)
{
    size_t count;
    float *pixels = golden_pixels(fixtures, 32, &count);
    assert_int_equal(count, N_IMAGES);
    return pixels;
}

static void test_image_embeddings_match_reference(void **state)
{
    (void)state;
    const char *fixtures = fixtures_dir();
    if (!fixtures)
        skip();
    float *pixels = read_pixels(fixtures);
    for (int mi = 0; mi < 2; mi++) {
        char relative[256];
        snprintf(relative, sizeof relative, "golden/%s/image_embeds.f32", models[mi]);
        float *ref = golden_read(fixtures, relative, N_IMAGES * EMBED, sizeof(float));
        for (int li = 0; li < 2; li++) {
            lclip_model *m = open_fixture_model(fixtures, models[mi], layouts[li]);
            float batched[N_IMAGES * EMBED], single[N_IMAGES * EMBED];
            assert_int_equal(lclip_image_tower_forward(NULL, &m->vision, pixels, N_IMAGES, batched), LCLIP_OK);
            for (int i = 0; i < N_IMAGES; i++)
                assert_int_equal(
                    lclip_image_tower_forward(NULL, &m->vision, pixels + (size_t)i * PIXELS, 1, single + i * EMBED),
                    LCLIP_OK);
            double worst = assert_embeddings_match(batched, ref, N_IMAGES, EMBED, "batched images");
            assert_embeddings_match(single, ref, N_IMAGES, EMBED, "single images");
            print_message("  %s %s: images 1 - min cosine %.2e\n", models[mi], layouts[li], worst);
            lclip_model_close(m);
        }
        free(ref);
    }
    free(pixels);
}

static void test_text_embeddings_match_reference(void **state)
{
    (void)state;
    const char *fixtures = fixtures_dir();
    if (!fixtures)
        skip();
    int32_t *tokens = golden_text_tokens(fixtures);
    for (int mi = 0; mi < 2; mi++) {
        char relative[256];
        snprintf(relative, sizeof relative, "golden/%s/text_embeds.f32", models[mi]);
        float *ref = golden_read(fixtures, relative, N_TEXTS * EMBED, sizeof(float));
        for (int li = 0; li < 2; li++) {
            lclip_model *m = open_fixture_model(fixtures, models[mi], layouts[li]);
            float batched[N_TEXTS * EMBED], single[N_TEXTS * EMBED];
            assert_int_equal(lclip_text_tower_forward(NULL, &m->text, tokens, N_TEXTS, batched), LCLIP_OK);
            for (int i = 0; i < N_TEXTS; i++)
                assert_int_equal(lclip_text_tower_forward(NULL, &m->text, tokens + (size_t)i * CONTEXT, 1,
                                                          single + i * EMBED),
                                 LCLIP_OK);
            double worst = assert_embeddings_match(batched, ref, N_TEXTS, EMBED, "batched texts");
            assert_embeddings_match(single, ref, N_TEXTS, EMBED, "single texts");
            print_message("  %s %s: texts 1 - min cosine %.2e\n", models[mi], layouts[li], worst);
            lclip_model_close(m);
        }
        free(ref);
    }
    free(tokens);
}

static void test_token_ids_outside_vocabulary_are_rejected(void **state)
{
    (void)state;
    const char *fixtures = fixtures_dir();
    if (!fixtures)
        skip();
    lclip_model *m = open_fixture_model(fixtures, models[0], layouts[0]);
    int32_t ids[CONTEXT] = {49406, 320, 49408, 49407};
    float out[EMBED];
    assert_int_equal(lclip_text_tower_forward(NULL, &m->text, ids, 1, out), LCLIP_E_INVALID_ARGUMENT);
    ids[2] = -1;
    assert_int_equal(lclip_text_tower_forward(NULL, &m->text, ids, 1, out), LCLIP_E_INVALID_ARGUMENT);
    lclip_model_close(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_image_embeddings_match_reference),
        cmocka_unit_test(test_text_embeddings_match_reference),
        cmocka_unit_test(test_token_ids_outside_vocabulary_are_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
