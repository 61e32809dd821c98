#include "load/config.h"

#include <string.h>

#include "common/error.h"

static const float clip_mean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
static const float clip_std[3] = {0.26862954f, 0.26130258f, 0.27577711f};

void lclip_config_defaults(lclip_clip_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->embed_dim = 512;
    lclip_vision_config *v = &cfg->vision;
    v->tf = (lclip_transformer_config){768, 12, 12, 3072, 1e-5f, LCLIP_ACT_QUICK_GELU};
    v->image_size = 224;
    v->patch_size = 32;
    memcpy(v->mean, clip_mean, sizeof clip_mean);
    memcpy(v->std, clip_std, sizeof clip_std);
    lclip_text_config *t = &cfg->text;
    t->tf = (lclip_transformer_config){512, 12, 8, 2048, 1e-5f, LCLIP_ACT_QUICK_GELU};
    t->vocab_size = 49408;
    t->context_length = 77;
}

static lclip_status check_transformer(const lclip_transformer_config *tf, const char *label,
                                      const char *tower)
{
    if (tf->width < 1 || tf->width > 65536)
        return lclip_fail(LCLIP_E_FORMAT, "%s: %s width %d out of range [1, 65536]", label, tower, tf->width);
    if (tf->layers < 1 || tf->layers > 1024)
        return lclip_fail(LCLIP_E_FORMAT, "%s: %s layers %d out of range [1, 1024]", label, tower, tf->layers);
    if (tf->heads < 1 || tf->width % tf->heads != 0)
        return lclip_fail(LCLIP_E_FORMAT, "%s: %s width %d is not a multiple of %d heads", label, tower,
                          tf->width, tf->heads);
    if (tf->mlp_width < 1 || tf->mlp_width > 262144)
        return lclip_fail(LCLIP_E_FORMAT, "%s: %s MLP width %d out of range [1, 262144]", label, tower,
                          tf->mlp_width);
    if (!(tf->ln_eps > 0.0f && tf->ln_eps < 1.0f))
        return lclip_fail(LCLIP_E_FORMAT, "%s: %s layer-norm epsilon %g out of range (0, 1)", label, tower,
                          (double)tf->ln_eps);
    return LCLIP_OK;
}

/* The stem halves the image twice and three layers halve it again: the
 * attention pool sees image_size / 32 squared positions. */
static lclip_status check_resnet(const lclip_vision_config *v, const char *label)
{
    const lclip_resnet_config *r = &v->resnet;
    for (int i = 0; i < 4; i++)
        if (r->layers[i] < 1 || r->layers[i] > 1024)
            return lclip_fail(LCLIP_E_FORMAT, "%s: ResNet layer %d has %d blocks, out of range [1, 1024]", label,
                              i + 1, r->layers[i]);
    /* the stem's first convolutions have width / 2 channels; 32 width at the pool */
    if (r->width < 2 || r->width > 8192 || r->width % 2 != 0)
        return lclip_fail(LCLIP_E_FORMAT, "%s: ResNet width %d is not an even number in [2, 8192]", label,
                          r->width);
    if (r->heads < 1 || (32 * r->width) % r->heads != 0)
        return lclip_fail(LCLIP_E_FORMAT, "%s: the attention pool's %d channels do not split into %d heads",
                          label, 32 * r->width, r->heads);
    if (v->image_size < 32 || v->image_size > 8192 || v->image_size % 32 != 0)
        return lclip_fail(LCLIP_E_FORMAT, "%s: ResNet image size %d is not a multiple of 32 in [32, 8192]", label,
                          v->image_size);
    return LCLIP_OK;
}

static lclip_status check_vit(const lclip_vision_config *v, const char *label)
{
    lclip_status s = check_transformer(&v->tf, label, "vision");
    if (s != LCLIP_OK)
        return s;
    if (v->image_size < 1 || v->image_size > 8192)
        return lclip_fail(LCLIP_E_FORMAT, "%s: image size %d out of range [1, 8192]", label, v->image_size);
    if (v->patch_size < 1 || v->patch_size > v->image_size || v->image_size % v->patch_size != 0)
        return lclip_fail(LCLIP_E_FORMAT, "%s: patch size %d does not divide image size %d", label,
                          v->patch_size, v->image_size);
    return LCLIP_OK;
}

static lclip_status check_vision(const lclip_vision_config *v, const char *label)
{
    lclip_status s = v->arch == LCLIP_VISION_RESNET ? check_resnet(v, label) : check_vit(v, label);
    if (s != LCLIP_OK)
        return s;
    if (v->crop_size != v->image_size)
        return lclip_fail(LCLIP_E_FORMAT, "%s: crop size %d differs from the vision tower's image size %d",
                          label, v->crop_size, v->image_size);
    if (v->resize_size < 1 || v->resize_size > 65536)
        return lclip_fail(LCLIP_E_FORMAT, "%s: resize size %d out of range", label, v->resize_size);
    for (int c = 0; c < 3; c++)
        if (!(v->std[c] > 0.0f))
            return lclip_fail(LCLIP_E_FORMAT, "%s: image_std[%d] = %g is not positive", label, c,
                              (double)v->std[c]);
    return LCLIP_OK;
}

static lclip_status check_text(const lclip_text_config *t, const char *label)
{
    lclip_status s = check_transformer(&t->tf, label, "text");
    if (s != LCLIP_OK)
        return s;
    if (t->vocab_size < 1 || t->vocab_size > 10000000)
        return lclip_fail(LCLIP_E_FORMAT, "%s: vocabulary size %d out of range", label, t->vocab_size);
    if (t->context_length < 2 || t->context_length > 8192)
        return lclip_fail(LCLIP_E_FORMAT, "%s: context length %d out of range [2, 8192]", label,
                          t->context_length);
    return LCLIP_OK;
}

lclip_status lclip_config_validate(const lclip_clip_config *cfg, unsigned towers, const char *label)
{
    if (cfg->embed_dim < 1 || cfg->embed_dim > 65536)
        return lclip_fail(LCLIP_E_FORMAT, "%s: embedding dimension %d out of range [1, 65536]", label,
                          cfg->embed_dim);
    lclip_status s = LCLIP_OK;
    if (towers & LCLIP_TOWER_VISION)
        s = check_vision(&cfg->vision, label);
    if (s == LCLIP_OK && (towers & LCLIP_TOWER_TEXT))
        s = check_text(&cfg->text, label);
    return s;
}
