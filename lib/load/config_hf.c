/* Hugging Face transformers' CLIPConfig (config.json) and CLIPImageProcessor
 * (preprocessor_config.json). */
#include <math.h>
#include <string.h>

#include "common/error.h"
#include "load/config.h"
#include "load/json.h"

static lclip_status parse_activation(const cJSON *obj, const char *label, lclip_activation *act)
{
    const char *name = lclip_json_string(obj, "hidden_act");
    if (!name)
        return LCLIP_OK; /* transformers' default: quick_gelu */
    if (strcmp(name, "quick_gelu") == 0)
        *act = LCLIP_ACT_QUICK_GELU;
    else if (strcmp(name, "gelu") == 0)
        *act = LCLIP_ACT_GELU;
    else
        return lclip_fail(LCLIP_E_UNSUPPORTED, "%s: hidden_act \"%.40s\" is not supported (quick_gelu, gelu)",
                          label, name);
    return LCLIP_OK;
}

static lclip_status parse_transformer(const cJSON *obj, const char *label, lclip_transformer_config *tf)
{
    lclip_status s;
    if ((s = lclip_json_int(obj, "hidden_size", label, 1, 65536, &tf->width)) != LCLIP_OK ||
        (s = lclip_json_int(obj, "num_hidden_layers", label, 1, 1024, &tf->layers)) != LCLIP_OK ||
        (s = lclip_json_int(obj, "num_attention_heads", label, 1, 65536, &tf->heads)) != LCLIP_OK ||
        (s = lclip_json_int(obj, "intermediate_size", label, 1, 262144, &tf->mlp_width)) != LCLIP_OK ||
        (s = lclip_json_float(obj, "layer_norm_eps", label, 1e-12, 0.5, &tf->ln_eps)) != LCLIP_OK)
        return s;
    return parse_activation(obj, label, &tf->act);
}

/* Old openai/clip-vit-* configs carry both text_config and text_config_dict. */
static const cJSON *sub_config(const cJSON *root, const char *key, const char *legacy_key)
{
    const cJSON *obj = lclip_json_object(root, key);
    return obj ? obj : lclip_json_object(root, legacy_key);
}

/* "size" and "crop_size" are an int, {"shortest_edge": N} or {"height", "width"}.
 * A resize to {"height", "width"} ignores the aspect ratio, which CLIP's
 * preprocessing never does, so only a crop may be given that way. */
static lclip_status parse_size(const cJSON *root, const char *key, const char *label, int *value)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!item || cJSON_IsNumber(item))
        return lclip_json_int(root, key, label, 1, 65536, value);
    if (!cJSON_IsObject(item))
        return lclip_fail(LCLIP_E_FORMAT, "%s: \"%s\" must be an integer or an object", label, key);
    if (cJSON_GetObjectItemCaseSensitive(item, "shortest_edge"))
        return lclip_json_int(item, "shortest_edge", label, 1, 65536, value);
    if (strcmp(key, "size") == 0)
        return lclip_fail(LCLIP_E_UNSUPPORTED, "%s: \"size\" without \"shortest_edge\" (a resize that ignores "
                          "the aspect ratio) is not CLIP's preprocessing", label);
    int height = 0, width = 0;
    lclip_status s;
    if ((s = lclip_json_int(item, "height", label, 1, 65536, &height)) != LCLIP_OK ||
        (s = lclip_json_int(item, "width", label, 1, 65536, &width)) != LCLIP_OK)
        return s;
    if (height != width || height == 0)
        return lclip_fail(LCLIP_E_UNSUPPORTED, "%s: \"%s\" must be square (height == width)", label, key);
    *value = height;
    return LCLIP_OK;
}

/* The steps CLIP's preprocessing always takes; a config that turns one off
 * or rescales differently describes another pipeline. */
static lclip_status check_steps(const cJSON *root, const char *label)
{
    static const char *const required[] = {"do_resize", "do_center_crop", "do_normalize", "do_rescale"};
    for (size_t i = 0; i < sizeof required / sizeof *required; i++) {
        int on = 1;
        lclip_status s = lclip_json_bool(root, required[i], label, &on);
        if (s != LCLIP_OK)
            return s;
        if (!on)
            return lclip_fail(LCLIP_E_UNSUPPORTED, "%s: \"%s\": false is not CLIP's preprocessing", label,
                              required[i]);
    }
    float rescale = 1.0f / 255.0f;
    lclip_status s = lclip_json_float(root, "rescale_factor", label, 0.0, 1.0, &rescale);
    if (s == LCLIP_OK && fabsf(rescale * 255.0f - 1.0f) > 1e-6f)
        s = lclip_fail(LCLIP_E_UNSUPPORTED, "%s: rescale_factor %g is not 1/255", label, (double)rescale);
    return s;
}

static lclip_status parse_preprocessor(const char *path, lclip_vision_config *v)
{
    cJSON *root;
    lclip_status s = lclip_json_load_object(path, &root);
    if (s != LCLIP_OK)
        return s;
    if ((s = check_steps(root, path)) != LCLIP_OK) {
        cJSON_Delete(root);
        return s;
    }
    int resample = 3;
    if ((s = lclip_json_float3(root, "image_mean", path, v->mean)) == LCLIP_OK &&
        (s = lclip_json_float3(root, "image_std", path, v->std)) == LCLIP_OK &&
        (s = parse_size(root, "size", path, &v->resize_size)) == LCLIP_OK &&
        (s = parse_size(root, "crop_size", path, &v->crop_size)) == LCLIP_OK &&
        (s = lclip_json_int(root, "resample", path, 0, 5, &resample)) == LCLIP_OK && resample != 3)
        s = lclip_fail(LCLIP_E_UNSUPPORTED, "%s: resample %d is not bicubic (3)", path, resample);
    cJSON_Delete(root);
    return s;
}

lclip_status lclip_config_from_hf(const char *config_path, const char *preprocessor_path,
                                  lclip_clip_config *cfg)
{
    lclip_config_defaults(cfg);
    cJSON *root;
    lclip_status s = lclip_json_load_object(config_path, &root);
    if (s != LCLIP_OK)
        return s;
    const char *type = lclip_json_string(root, "model_type");
    const cJSON *vision = sub_config(root, "vision_config", "vision_config_dict");
    const cJSON *text = sub_config(root, "text_config", "text_config_dict");
    if (type && strcmp(type, "clip") != 0)
        s = lclip_fail(LCLIP_E_UNSUPPORTED, "%s: model_type \"%.40s\" is not \"clip\"", config_path, type);
    else if (!vision || !text)
        s = lclip_fail(LCLIP_E_FORMAT, "%s: missing \"vision_config\" or \"text_config\" object", config_path);
    if (s == LCLIP_OK)
        s = lclip_json_int(root, "projection_dim", config_path, 1, 65536, &cfg->embed_dim);
    if (s == LCLIP_OK)
        s = parse_transformer(vision, config_path, &cfg->vision.tf);
    if (s == LCLIP_OK)
        s = lclip_json_int(vision, "image_size", config_path, 1, 8192, &cfg->vision.image_size);
    if (s == LCLIP_OK)
        s = lclip_json_int(vision, "patch_size", config_path, 1, 8192, &cfg->vision.patch_size);
    if (s == LCLIP_OK)
        s = parse_transformer(text, config_path, &cfg->text.tf);
    if (s == LCLIP_OK)
        s = lclip_json_int(text, "vocab_size", config_path, 1, 10000000, &cfg->text.vocab_size);
    if (s == LCLIP_OK)
        s = lclip_json_int(text, "max_position_embeddings", config_path, 2, 8192, &cfg->text.context_length);
    cJSON_Delete(root);
    if (s != LCLIP_OK)
        return s;

    cfg->vision.resize_size = cfg->vision.crop_size = cfg->vision.image_size;
    return preprocessor_path ? parse_preprocessor(preprocessor_path, &cfg->vision) : LCLIP_OK;
}
