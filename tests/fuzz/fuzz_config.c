/* Configuration JSON. The first byte picks the file: 0 a Hugging Face
 * config.json, 1 an open_clip config, 2 a preprocessor_config.json beside a
 * valid config.json; the rest is the file. Whatever parses must then either
 * pass or fail validation cleanly, and a validated config must be inside
 * the ranges the loaders rely on. */
#include <stdio.h>

#include "fuzz_support.h"
#include "load/config.h"

static const char valid_hf_config[] =
    "{\"model_type\":\"clip\",\"projection_dim\":4,"
    "\"text_config\":{\"hidden_size\":8,\"intermediate_size\":16,\"num_attention_heads\":2,"
    "\"num_hidden_layers\":1,\"max_position_embeddings\":8,\"vocab_size\":16},"
    "\"vision_config\":{\"hidden_size\":8,\"intermediate_size\":16,\"num_attention_heads\":2,"
    "\"num_hidden_layers\":1,\"image_size\":8,\"patch_size\":4}}";

static void check_validated(const lclip_clip_config *cfg)
{
    const lclip_vision_config *v = &cfg->vision;
    const lclip_text_config *t = &cfg->text;
    FUZZ_REQUIRE(cfg->embed_dim >= 1);
    if (v->arch == LCLIP_VISION_RESNET) {
        const lclip_resnet_config *r = &v->resnet;
        for (int i = 0; i < 4; i++)
            FUZZ_REQUIRE(r->layers[i] >= 1 && r->layers[i] <= 1024);
        FUZZ_REQUIRE(r->width >= 2 && r->width % 2 == 0);
        FUZZ_REQUIRE(r->heads >= 1 && (32 * r->width) % r->heads == 0);
        FUZZ_REQUIRE(v->image_size >= 32 && v->image_size % 32 == 0);
    } else {
        FUZZ_REQUIRE(v->arch == LCLIP_VISION_VIT);
        FUZZ_REQUIRE(v->tf.heads >= 1 && v->tf.width % v->tf.heads == 0);
        FUZZ_REQUIRE(v->patch_size >= 1 && v->image_size % v->patch_size == 0);
    }
    FUZZ_REQUIRE(t->tf.heads >= 1 && t->tf.width % t->tf.heads == 0);
    FUZZ_REQUIRE(v->crop_size == v->image_size && v->resize_size >= 1);
    FUZZ_REQUIRE(v->std[0] > 0 && v->std[1] > 0 && v->std[2] > 0);
    FUZZ_REQUIRE(t->context_length >= 2 && t->vocab_size >= 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int kind = data[0] % 3;
    char config[1024], preprocessor[1024];
    snprintf(config, sizeof config, "%s", fuzz_scratch_path("config.json"));
    snprintf(preprocessor, sizeof preprocessor, "%s", fuzz_scratch_path("preprocessor_config.json"));
    lclip_clip_config cfg;
    lclip_status s;
    if (kind == 2) {
        fuzz_write_file(config, valid_hf_config, sizeof valid_hf_config - 1);
        fuzz_write_file(preprocessor, data + 1, size - 1);
        s = lclip_config_from_hf(config, preprocessor, &cfg);
    } else {
        fuzz_write_file(config, data + 1, size - 1);
        s = kind == 0 ? lclip_config_from_hf(config, NULL, &cfg) : lclip_config_from_open_clip(config, &cfg);
    }
    fuzz_check_status(s);
    if (s == LCLIP_OK) {
        s = lclip_config_validate(&cfg, LCLIP_TOWER_VISION | LCLIP_TOWER_TEXT, config);
        fuzz_check_status(s);
        if (s == LCLIP_OK)
            check_validated(&cfg);
    }
    return 0;
}
