/* The loading layer from the inside: both naming schemes and all three float
 * dtypes bind to identical internal weights, F32 is used in place, the
 * half-precision conversions are exact, and an engine that packs a layer
 * leaves no copy of its weights behind. */
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

#include "load/model.h"
#include "load/tensor_bind.h"
#include "support/test_util.h"
#include "support/tiny_model.h"

/* On engine; NULL where it is not built. */
static lclip_model *open_on(const char *path, int engine)
{
    lclip_options o;
    lclip_options_init(&o);
    o.engine = engine;
    lclip_model *m;
    lclip_status s = lclip_model_open("test", path, &o, LCLIP_TOWER_VISION | LCLIP_TOWER_TEXT, &m);
    if (s == LCLIP_E_UNSUPPORTED && engine == LCLIP_ENGINE_ONEDNN)
        return NULL;
    if (s != LCLIP_OK)
        fail_msg("%s: %s: %s", path, lclip_strerror(s), lclip_last_error());
    return m;
}

/* On the CBLAS, which reads the bound weights themselves; a packing engine
 * gives them back (test_packed_layers_keep_no_copy). */
static lclip_model *open_model(const char *path)
{
    return open_on(path, LCLIP_ENGINE_CBLAS);
}

static void same_floats(const float *a, const float *b, size_t n, const char *what)
{
    if (memcmp(a, b, n * sizeof *a) != 0)
        fail_msg("%s differs", what);
}

static void same_linear(const lclip_linear *a, const lclip_linear *b, const char *what)
{
    assert_int_equal(a->out, b->out);
    assert_int_equal(a->in, b->in);
    same_floats(a->weight, b->weight, (size_t)a->out * (size_t)a->in, what);
    assert_true((a->bias == NULL) == (b->bias == NULL));
    if (a->bias)
        same_floats(a->bias, b->bias, (size_t)a->out, what);
}

static void same_norm(const lclip_layer_norm *a, const lclip_layer_norm *b, int width, const char *what)
{
    same_floats(a->gamma, b->gamma, (size_t)width, what);
    same_floats(a->beta, b->beta, (size_t)width, what);
}

static void same_transformer(const lclip_transformer_weights *a, const lclip_transformer_weights *b)
{
    assert_memory_equal(&a->cfg, &b->cfg, sizeof a->cfg);
    for (int i = 0; i < a->cfg.layers; i++) {
        const lclip_block_weights *x = &a->blocks[i], *y = &b->blocks[i];
        same_norm(&x->ln1, &y->ln1, a->cfg.width, "ln1");
        same_norm(&x->ln2, &y->ln2, a->cfg.width, "ln2");
        same_linear(&x->q, &y->q, "q");
        same_linear(&x->k, &y->k, "k");
        same_linear(&x->v, &y->v, "v");
        same_linear(&x->attn_out, &y->attn_out, "attn_out");
        same_linear(&x->fc1, &y->fc1, "fc1");
        same_linear(&x->fc2, &y->fc2, "fc2");
    }
}

static void same_model(const lclip_model *a, const lclip_model *b)
{
    assert_int_equal(a->config.embed_dim, b->config.embed_dim);
    assert_float_equal(a->logit_scale, b->logit_scale, 0.0);

    const lclip_vision_tower *va = &a->vision.vit, *vb = &b->vision.vit;
    assert_memory_equal(&va->cfg, &vb->cfg, sizeof va->cfg);
    size_t w = (size_t)va->cfg.tf.width, p = (size_t)va->cfg.patch_size;
    size_t grid = (size_t)(va->cfg.image_size / va->cfg.patch_size);
    same_floats(va->patch_embedding.weight, vb->patch_embedding.weight, w * 3 * p * p, "patch");
    same_floats(va->class_embedding, vb->class_embedding, w, "class");
    same_floats(va->position_embedding, vb->position_embedding, (grid * grid + 1) * w, "vision positions");
    same_norm(&va->ln_pre, &vb->ln_pre, (int)w, "ln_pre");
    same_norm(&va->ln_post, &vb->ln_post, (int)w, "ln_post");
    same_transformer(&va->transformer, &vb->transformer);
    same_linear(&a->vision.projection, &b->vision.projection, "vision projection");

    const lclip_text_tower *ta = &a->text, *tb = &b->text;
    assert_memory_equal(&ta->cfg, &tb->cfg, sizeof ta->cfg);
    size_t tw = (size_t)ta->cfg.tf.width;
    same_floats(ta->token_embedding, tb->token_embedding, (size_t)ta->cfg.vocab_size * tw, "tokens");
    same_floats(ta->position_embedding, tb->position_embedding, (size_t)ta->cfg.context_length * tw,
                "text positions");
    same_transformer(&ta->transformer, &tb->transformer);
    same_norm(&ta->ln_final, &tb->ln_final, (int)tw, "ln_final");
    same_linear(&ta->projection, &tb->projection, "text projection");
}

static int within_mapping(const lclip_model *m, const void *p)
{
    const unsigned char *base = m->weights->file.data;
    return (const unsigned char *)p >= base && (const unsigned char *)p < base + m->weights->file.size;
}

/* One tiny model written as HF F32/F16/BF16, as an OpenAI file with its shapes
 * inferred, and as an OpenAI file with an open_clip config: all six binds agree. */
static void test_layouts_and_dtypes_bind_identical_weights(void **state)
{
    (void)state;
    char *root = make_temp_dir();
    tiny_spec spec = tiny_spec_default();
    const char *dtypes[3] = {"F32", "F16", "BF16"};
    lclip_model *models[5];
    for (int i = 0; i < 3; i++) {
        char *dir = join_path(root, dtypes[i]);
        assert_int_equal(mkdir(dir, 0700), 0);
        tiny_write_hf(dir, &spec, dtypes[i]);
        models[i] = open_model(dir);
        free(dir);
    }
    st_file file;
    tiny_build(&spec, TINY_OPENAI, "F32", &file);
    char *inferred = join_path(root, "openai.safetensors");
    st_write(inferred, &file, 0, SIZE_MAX);
    models[3] = open_model(inferred);

    char *oc_dir = join_path(root, "open_clip");
    assert_int_equal(mkdir(oc_dir, 0700), 0);
    char *oc_weights = join_path(oc_dir, "open_clip_model.safetensors");
    char *oc_config_path = join_path(oc_dir, "open_clip_config.json");
    char *oc_config = tiny_open_clip_config(&spec);
    st_write(oc_weights, &file, 0, SIZE_MAX);
    write_text_file(oc_config_path, oc_config);
    models[4] = open_model(oc_dir);

    /* An HF F32 model is used entirely in place; OpenAI's projections are transposed copies. */
    assert_null(models[0]->owned);
    assert_true(within_mapping(models[0], models[0]->text.token_embedding));
    assert_true(within_mapping(models[3], models[3]->text.token_embedding));
    assert_false(within_mapping(models[3], models[3]->text.projection.weight));
    assert_false(within_mapping(models[1], models[1]->text.token_embedding));

    for (int i = 1; i < 5; i++)
        same_model(models[0], models[i]);
    assert_int_equal(models[0]->layout, LCLIP_LAYOUT_HF);
    assert_int_equal(models[3]->layout, LCLIP_LAYOUT_OPENAI);
    assert_int_equal(models[0]->vision.cfg.tf.act, LCLIP_ACT_QUICK_GELU);

    for (int i = 0; i < 5; i++)
        lclip_model_close(models[i]);
    free(oc_config);
    free(oc_config_path);
    free(oc_weights);
    free(oc_dir);
    free(inferred);
    st_file_free(&file);
    rm_tree(root);
    free(root);
}

/* A header whose length is not a multiple of 4 leaves every F32 tensor
 * misaligned in the mapping: they must be copied, with the same values. */
static void test_misaligned_f32_is_copied(void **state)
{
    (void)state;
    char *root = make_temp_dir();
    tiny_spec spec = tiny_spec_default();
    char *aligned_dir = join_path(root, "aligned");
    assert_int_equal(mkdir(aligned_dir, 0700), 0);
    tiny_write_hf(aligned_dir, &spec, "F32");

    st_file file;
    tiny_build(&spec, TINY_HF, "F32", &file);
    while (strlen(file.header) % 4 != 1)
        st_replace(&file, "{", "{ ");
    char *weights = join_path(root, "model.safetensors");
    st_write(weights, &file, strlen(file.header), SIZE_MAX);
    char *config_path = join_path(root, "config.json");
    char *config = tiny_hf_config(&spec);
    write_text_file(config_path, config);

    lclip_model *aligned = open_model(aligned_dir), *misaligned = open_model(root);
    assert_non_null(misaligned->owned);
    same_model(aligned, misaligned);
    lclip_model_close(misaligned);
    lclip_model_close(aligned);
    free(config);
    free(config_path);
    free(weights);
    st_file_free(&file);
    free(aligned_dir);
    rm_tree(root);
    free(root);
}

static void test_reference_fixtures_bind_identically_in_both_layouts(void **state)
{
    (void)state;
    const char *fixtures = fixtures_dir();
    if (!fixtures)
        skip();
    const char *names[2] = {"tiny-quickgelu", "tiny-gelu"};
    for (int i = 0; i < 2; i++) {
        char hf[512], oc[512];
        snprintf(hf, sizeof hf, "%s/models/%s/hf", fixtures, names[i]);
        snprintf(oc, sizeof oc, "%s/models/%s/open_clip/open_clip_model.safetensors", fixtures, names[i]);
        lclip_model *a = open_model(hf), *b = open_model(oc);
        same_model(a, b);
        assert_int_equal(a->vision.cfg.tf.act, i == 0 ? LCLIP_ACT_QUICK_GELU : LCLIP_ACT_GELU);
        assert_int_equal(b->text.cfg.tf.act, i == 0 ? LCLIP_ACT_QUICK_GELU : LCLIP_ACT_GELU);
        lclip_model_close(b);
        lclip_model_close(a);
    }
}

/* The bytes of every linear layer's weights; with none left bound where
 * packed is set (an engine packed them all). */
static uint64_t linear_bytes(const lclip_model *m, int packed)
{
    const lclip_transformer_weights *towers[2] = {&m->vision.vit.transformer, &m->text.transformer};
    const lclip_linear *others[3] = {&m->vision.vit.patch_embedding, &m->vision.projection, &m->text.projection};
    uint64_t bytes = 0;
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < towers[t]->cfg.layers; i++) {
            const lclip_block_weights *b = &towers[t]->blocks[i];
            const lclip_linear *layers[6] = {&b->q, &b->k, &b->v, &b->attn_out, &b->fc1, &b->fc2};
            for (int l = 0; l < 6; l++) {
                assert_true(packed ? layers[l]->weight == NULL : layers[l]->weight != NULL);
                bytes += (uint64_t)layers[l]->out * (uint64_t)layers[l]->in * sizeof(float);
            }
        }
    for (int l = 0; l < 3; l++) {
        assert_true(packed ? others[l]->weight == NULL : others[l]->weight != NULL);
        bytes += (uint64_t)others[l]->out * (uint64_t)others[l]->in * sizeof(float);
    }
    return bytes;
}

/* 16-bit checkpoints are converted to F32 copies at open, and OpenAI's
 * projections transposed into copies: once oneDNN has packed a layer, its
 * copy is freed (OpenAI's q, k and v, three slices of one in_proj copy,
 * free it together), so the model holds exactly the copies of what no
 * engine packed: embeddings, norms, biases. */
static void test_packed_layers_keep_no_copy(void **state)
{
    (void)state;
    char *root = make_temp_dir();
    tiny_spec spec = tiny_spec_default();
    char *hf = join_path(root, "hf");
    assert_int_equal(mkdir(hf, 0700), 0);
    tiny_write_hf(hf, &spec, "F16");
    st_file file;
    tiny_build(&spec, TINY_OPENAI, "F16", &file);
    char *openai = join_path(root, "openai.safetensors");
    st_write(openai, &file, 0, SIZE_MAX);
    const char *paths[2] = {hf, openai};
    for (int i = 0; i < 2; i++) {
        lclip_model *kept = open_model(paths[i]), *packed = open_on(paths[i], LCLIP_ENGINE_ONEDNN);
        if (!packed) {
            lclip_model_close(kept);
            print_message("[  SKIPPED ] oneDNN: %s\n", lclip_last_error());
            break;
        }
        uint64_t layers = linear_bytes(kept, 0);
        assert_int_equal(linear_bytes(packed, 1), layers);
        assert_true(lclip_owned_bytes(kept) > layers);
        assert_int_equal(lclip_owned_bytes(packed), lclip_owned_bytes(kept) - layers);
        lclip_model_close(packed);
        lclip_model_close(kept);
    }
    st_file_free(&file);
    free(openai);
    free(hf);
    rm_tree(root);
    free(root);
}

static void test_half_conversions_are_exact(void **state)
{
    (void)state;
    assert_float_equal(lclip_f16_to_f32(0x3c00), 1.0, 0.0);
    assert_float_equal(lclip_f16_to_f32(0xc000), -2.0, 0.0);
    assert_float_equal(lclip_f16_to_f32(0x7bff), 65504.0, 0.0);
    assert_float_equal(lclip_f16_to_f32(0x0001), ldexp(1.0, -24), 0.0); /* smallest subnormal */
    assert_float_equal(lclip_f16_to_f32(0x03ff), 1023 * ldexp(1.0, -24), 0.0);
    assert_true(isinf(lclip_f16_to_f32(0x7c00)) && lclip_f16_to_f32(0x7c00) > 0);
    assert_true(isnan(lclip_f16_to_f32(0x7e00)));
    assert_true(signbit(lclip_f16_to_f32(0x8000)));
#ifdef __FLT16_MAX__
    for (uint32_t bits = 0; bits <= 0xffff; bits++) {
        uint16_t h = (uint16_t)bits;
        _Float16 reference;
        memcpy(&reference, &h, sizeof h);
        float got = lclip_f16_to_f32(h), want = (float)reference;
        if (isnan(want))
            assert_true(isnan(got));
        else
            assert_memory_equal(&got, &want, sizeof got);
    }
#endif
    assert_float_equal(lclip_bf16_to_f32(0x3f80), 1.0, 0.0);
    assert_float_equal(lclip_bf16_to_f32(0xc0a0), -5.0, 0.0);
    assert_true(isnan(lclip_bf16_to_f32(0x7fc0)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layouts_and_dtypes_bind_identical_weights),
        cmocka_unit_test(test_misaligned_f32_is_copied),
        cmocka_unit_test(test_reference_fixtures_bind_identically_in_both_layouts),
        cmocka_unit_test(test_packed_layers_keep_no_copy),
        cmocka_unit_test(test_half_conversions_are_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
