/* open_clip model configs: either a hub-style file {"model_cfg": ..., 
 * "preprocess_cfg": ...} or a bare model config as in open_clip's
 * model_configs/ folder. Architectural variants libclip does not implement
 * are refused here, by name, rather than loaded wrongly. */
#include <math.h>
#include <string.h>

#include "common/error.h"
#include "load/config.h"
#include "load/json.h"

/* A key whose presence with a truthy value changes the architecture. */
static int is_set(const cJSON *obj, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!item || cJSON_IsNull(item) || cJSON_IsFalse(item))
        return 0;
    if (cJSON_IsString(item))
        return item->valuestring[0] != '\0';
    return 1;
}

static lclip_status refuse_variants(const cJSON *vision, const cJSON *text, const char *label)
{
    static const char *const vision_keys[] = {"timm_model_name", "ls_init_value", "attentional_pool",
                                              "no_ln_pre", "final_ln_after_pool", "input_patchnorm",
                                              "global_average_pool", "norm_kwargs", "act_kwargs"};
    static const char *const text_keys[] = {"hf_model_name", "ls_init_value", "embed_cls", "no_causal_mask",
                                            "proj_bias", "norm_kwargs", "act_kwargs"};
    for (size_t i = 0; i < sizeof vision_keys / sizeof *vision_keys; i++)
        if (is_set(vision, vision_keys[i]))
            return lclip_fail(LCLIP_E_UNSUPPORTED, "%s: vision_cfg.%s: this open_clip variant is not supported",
                              label, vision_keys[i]);
    for (size_t i = 0; i < sizeof text_keys / sizeof *text_keys; i++)
        if (is_set(text, text_keys[i]))
            return lclip_fail(LCLIP_E_UNSUPPORTED, "%s: text_cfg.%s: this open_clip variant is not supported",
                              label, text_keys[i]);
    const char *position = lclip_json_string(vision, "pos_embed_type");
    if (position && strcmp(position, "learnable") != 0)
        return lclip_fail(LCLIP_E_UNSUPPORTED, "%s: vision_cfg.pos_embed_type \"%.20s\" is not supported "
                          "(learnable)", label, position);
    const char *vision_pool = lclip_json_string(vision, "pool_type");
    if (vision_pool && strcmp(vision_pool, "tok") != 0)
        return lclip_fail(LCLIP_E_UNSUPPORTED, "%s: vision_cfg.pool_type \"%.20s\" is not supported (tok)",
                          label, vision_pool);
    const char *text_pool = lclip_json_string(text, "pool_type");
    if (text_pool && strcmp(text_pool, "argmax") != 0)
        return lclip_fail(LCLIP_E_UNSUPPORTED, "%s: text_cfg.pool_type \"%.20s\" is not supported (argmax)",
                          label, text_pool);
    return LCLIP_OK;
}

static lclip_status parse_mlp_width(const cJSON *obj, const char *label, lclip_transformer_config *tf)
{
    float ratio = 4.0f;
    lclip_status s = lclip_json_float(obj, "mlp_ratio", label, 0.01, 64.0, &ratio);
    if (s == LCLIP_OK)
        tf->mlp_width = (int)((double)tf->width * (double)ratio); /* int(width * mlp_ratio) as open_clip */
    return s;
}

/* vision_cfg.layers as a list of four block counts: OpenAI's ModifiedResNet,
 * whose attention pool has width * 32 channels in heads of head_width. */
static lclip_status parse_resnet(const cJSON *v, const cJSON *layers, const char *label, lclip_vision_config *out)
{
    if (cJSON_GetArraySize(layers) != 4)
        return lclip_fail(LCLIP_E_FORMAT, "%s: vision_cfg.layers lists %d block counts; a ResNet has 4", label,
                          cJSON_GetArraySize(layers));
    int i = 0;
    const cJSON *count;
    cJSON_ArrayForEach(count, layers)
    {
        double d = cJSON_IsNumber(count) ? count->valuedouble : NAN;
        if (!(d >= 1 && d <= 1024) || floor(d) != d)
            return lclip_fail(LCLIP_E_FORMAT, "%s: vision_cfg.layers[%d] must be an integer in [1, 1024]", label,
                              i);
        out->resnet.layers[i++] = (int)d;
    }
    int head_width = 64;
    lclip_status s;
    out->arch = LCLIP_VISION_RESNET;
    out->resnet.width = 64;
    if ((s = lclip_json_int(v, "image_size", label, 1, 8192, &out->image_size)) != LCLIP_OK ||
        (s = lclip_json_int(v, "width", label, 1, 8192, &out->resnet.width)) != LCLIP_OK ||
        (s = lclip_json_int(v, "head_width", label, 1, 65536, &head_width)) != LCLIP_OK ||
        (s = lclip_json_float3(v, "image_mean", label, out->mean)) != LCLIP_OK ||
        (s = lclip_json_float3(v, "image_std", label, out->std)) != LCLIP_OK)
        return s;
    if ((out->resnet.width * 32) % head_width != 0)
        return lclip_fail(LCLIP_E_FORMAT, "%s: the attention pool's %d channels are not a multiple of head_width %d",
                          label, out->resnet.width * 32, head_width);
    out->resnet.heads = out->resnet.width * 32 / head_width;
    return LCLIP_OK;
}

static lclip_status parse_vision(const cJSON *v, const char *label, lclip_vision_config *out)
{
    const cJSON *layers = cJSON_GetObjectItemCaseSensitive(v, "layers");
    if (cJSON_IsArray(layers))
        return parse_resnet(v, layers, label, out);
    int head_width = 64;
    lclip_status s;
    if ((s = lclip_json_int(v, "image_size", label, 1, 8192, &out->image_size)) != LCLIP_OK ||
        (s = lclip_json_int(v, "patch_size", label, 1, 8192, &out->patch_size)) != LCLIP_OK ||
        (s = lclip_json_int(v, "width", label, 1, 65536, &out->tf.width)) != LCLIP_OK ||
        (s = lclip_json_int(v, "layers", label, 1, 1024, &out->tf.layers)) != LCLIP_OK ||
        (s = lclip_json_int(v, "head_width", label, 1, 65536, &head_width)) != LCLIP_OK ||
        (s = parse_mlp_width(v, label, &out->tf)) != LCLIP_OK ||
        (s = lclip_json_float3(v, "image_mean", label, out->mean)) != LCLIP_OK ||
        (s = lclip_json_float3(v, "image_std", label, out->std)) != LCLIP_OK)
        return s;
    if (out->tf.width % head_width != 0)
        return lclip_fail(LCLIP_E_FORMAT, "%s: vision width %d is not a multiple of head_width %d", label,
                          out->tf.width, head_width);
    out->tf.heads = out->tf.width / head_width;
    return LCLIP_OK;
}

static lclip_status parse_text(const cJSON *t, const char *label, lclip_text_config *out)
{
    lclip_status s;
    if ((s = lclip_json_int(t, "context_length", label, 2, 8192, &out->context_length)) != LCLIP_OK ||
        (s = lclip_json_int(t, "vocab_size", label, 1, 10000000, &out->vocab_size)) != LCLIP_OK ||
        (s = lclip_json_int(t, "width", label, 1, 65536, &out->tf.width)) != LCLIP_OK ||
        (s = lclip_json_int(t, "heads", label, 1, 65536, &out->tf.heads)) != LCLIP_OK ||
        (s = lclip_json_int(t, "layers", label, 1, 1024, &out->tf.layers)) != LCLIP_OK)
        return s;
    return parse_mlp_width(t, label, &out->tf);
}

lclip_status lclip_config_from_open_clip(const char *config_path, lclip_clip_config *cfg)
{
    lclip_config_defaults(cfg);
    cJSON *root;
    lclip_status s = lclip_json_load_object(config_path, &root);
    if (s != LCLIP_OK)
        return s;
    const cJSON *model = lclip_json_object(root, "model_cfg");
    if (!model)
        model = root;
    const cJSON *vision = lclip_json_object(model, "vision_cfg");
    const cJSON *text = lclip_json_object(model, "text_cfg");
    int quick_gelu = 0; /* open_clip's default; OpenAI weights use the -quickgelu configs */
    if (!vision || !text)
        s = lclip_fail(LCLIP_E_FORMAT, "%s: missing \"vision_cfg\" or \"text_cfg\" object", config_path);
    if (s == LCLIP_OK)
        s = refuse_variants(vision, text, config_path);
    if (s == LCLIP_OK)
        s = lclip_json_int(model, "embed_dim", config_path, 1, 65536, &cfg->embed_dim);
    if (s == LCLIP_OK)
        s = lclip_json_bool(model, "quick_gelu", config_path, &quick_gelu);
    if (s == LCLIP_OK)
        s = parse_vision(vision, config_path, &cfg->vision);
    if (s == LCLIP_OK)
        s = parse_text(text, config_path, &cfg->text);
    const cJSON *preprocess = lclip_json_object(root, "preprocess_cfg");
    if (s == LCLIP_OK && preprocess)
        s = lclip_json_float3(preprocess, "mean", config_path, cfg->vision.mean);
    if (s == LCLIP_OK && preprocess)
        s = lclip_json_float3(preprocess, "std", config_path, cfg->vision.std);
    cJSON_Delete(root);
    if (s != LCLIP_OK)
        return s;

    cfg->vision.tf.act = cfg->text.tf.act = quick_gelu ? LCLIP_ACT_QUICK_GELU : LCLIP_ACT_GELU;
    cfg->vision.resize_size = cfg->vision.crop_size = cfg->vision.image_size;
    return LCLIP_OK;
}
