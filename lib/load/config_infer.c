/* Hyperparameters from tensor shapes, as OpenAI's clip/model.py build_model
 * does for its checkpoints (which carry no config). The shapes are checked
 * again, tensor by tensor, when the towers are bound. */
#include <math.h>
#include <stdio.h>

#include "common/error.h"
#include "load/config.h"

static const lclip_tensor_info *need(const lclip_safetensors *st, const char *name, int ndim,
                                     lclip_status *s)
{
    const lclip_tensor_info *t = lclip_safetensors_find(st, name);
    if (*s != LCLIP_OK)
        return t;
    if (!t)
        *s = lclip_fail(LCLIP_E_FORMAT, "%s: tensor '%s' is missing", st->label, name);
    else if (t->ndim != ndim)
        *s = lclip_fail(LCLIP_E_FORMAT, "%s: tensor '%s' has %d dimensions, expected %d", st->label, name,
                        t->ndim, ndim);
    return t;
}

/* Blocks are numbered from 0 without gaps: "<prefix><n>.attn.in_proj_weight". */
static int count_blocks(const lclip_safetensors *st, const char *prefix)
{
    char name[128];
    int n = 0;
    for (;;) {
        snprintf(name, sizeof name, "%s%d.attn.in_proj_weight", prefix, n);
        if (!lclip_safetensors_find(st, name) || n == 1024)
            return n;
        n++;
    }
}

static int clamp_dim(int64_t v)
{
    return v > 1000000000 ? 1000000000 : (int)v;
}

/* ModifiedResNet: blocks "visual.layer<i>.<n>." numbered from 0 (a gap
 * leaves the later blocks unclaimed, which binding refuses by name). */
static int count_resnet_blocks(const lclip_safetensors *st, int layer)
{
    char name[128];
    int n = 0;
    for (;;) {
        snprintf(name, sizeof name, "visual.layer%d.%d.conv1.weight", layer, n);
        if (!lclip_safetensors_find(st, name) || n == 1024)
            return n;
        n++;
    }
}

/* As build_model: width from the first block's first convolution, resolution
 * 32 x sqrt(attention-pool positions - 1), heads = width * 32 / 64. */
static lclip_status infer_resnet(const lclip_safetensors *st, lclip_clip_config *cfg)
{
    lclip_status s = LCLIP_OK;
    const lclip_tensor_info *conv = need(st, "visual.layer1.0.conv1.weight", 4, &s);
    const lclip_tensor_info *pos = need(st, "visual.attnpool.positional_embedding", 2, &s);
    const lclip_tensor_info *proj = need(st, "visual.attnpool.c_proj.weight", 2, &s);
    if (s != LCLIP_OK)
        return s;
    lclip_vision_config *v = &cfg->vision;
    v->arch = LCLIP_VISION_RESNET;
    v->resnet.width = clamp_dim(conv->shape[0]);
    v->resnet.heads = v->resnet.width / 2; /* width * 32 / 64 */
    for (int i = 0; i < 4; i++)
        v->resnet.layers[i] = count_resnet_blocks(st, i + 1);
    int64_t positions = pos->shape[0] - 1;
    int64_t grid = positions >= 1 ? (int64_t)llround(sqrt((double)positions)) : 0;
    if (grid < 1 || grid > 256 || grid * grid != positions)
        return lclip_fail(LCLIP_E_FORMAT, "%s: tensor 'visual.attnpool.positional_embedding' has %lld rows, not a "
                          "square grid plus the mean token", st->label, (long long)pos->shape[0]);
    v->image_size = (int)(32 * grid);
    v->resize_size = v->crop_size = v->image_size;
    cfg->embed_dim = clamp_dim(proj->shape[0]);
    return LCLIP_OK;
}

static lclip_status infer_vision(const lclip_safetensors *st, lclip_clip_config *cfg)
{
    if (lclip_safetensors_find(st, "visual.layer1.0.conv1.weight"))
        return infer_resnet(st, cfg);

    lclip_status s = LCLIP_OK;
    const lclip_tensor_info *conv = need(st, "visual.conv1.weight", 4, &s);
    const lclip_tensor_info *pos = need(st, "visual.positional_embedding", 2, &s);
    const lclip_tensor_info *fc = need(st, "visual.transformer.resblocks.0.mlp.c_fc.weight", 2, &s);
    const lclip_tensor_info *proj = need(st, "visual.proj", 2, &s);
    if (s != LCLIP_OK)
        return s;
    lclip_vision_config *v = &cfg->vision;
    v->tf.width = clamp_dim(conv->shape[0]);
    v->patch_size = clamp_dim(conv->shape[3]);
    v->tf.layers = count_blocks(st, "visual.transformer.resblocks.");
    v->tf.heads = v->tf.width / 64;
    v->tf.mlp_width = clamp_dim(fc->shape[0]);
    v->tf.act = LCLIP_ACT_QUICK_GELU;
    if (pos->shape[0] < 2)
        return lclip_fail(LCLIP_E_FORMAT, "%s: tensor 'visual.positional_embedding' has %lld rows; it needs the "
                          "class token and at least one patch", st->label, (long long)pos->shape[0]);
    int grid = (int)lround(sqrt((double)(pos->shape[0] - 1)));
    v->image_size = clamp_dim((int64_t)grid * v->patch_size);
    v->resize_size = v->crop_size = v->image_size;
    cfg->embed_dim = clamp_dim(proj->shape[1]);
    return LCLIP_OK;
}

static lclip_status infer_text(const lclip_safetensors *st, lclip_clip_config *cfg)
{
    lclip_status s = LCLIP_OK;
    const lclip_tensor_info *proj = need(st, "text_projection", 2, &s);
    const lclip_tensor_info *pos = need(st, "positional_embedding", 2, &s);
    const lclip_tensor_info *tok = need(st, "token_embedding.weight", 2, &s);
    const lclip_tensor_info *ln = need(st, "ln_final.weight", 1, &s);
    const lclip_tensor_info *fc = need(st, "transformer.resblocks.0.mlp.c_fc.weight", 2, &s);
    if (s != LCLIP_OK)
        return s;
    lclip_text_config *t = &cfg->text;
    t->tf.width = clamp_dim(ln->shape[0]);
    t->tf.layers = count_blocks(st, "transformer.resblocks.");
    t->tf.heads = t->tf.width / 64;
    t->tf.mlp_width = clamp_dim(fc->shape[0]);
    t->tf.act = LCLIP_ACT_QUICK_GELU;
    t->context_length = clamp_dim(pos->shape[0]);
    t->vocab_size = clamp_dim(tok->shape[0]);
    cfg->embed_dim = clamp_dim(proj->shape[1]);
    return LCLIP_OK;
}

lclip_status lclip_config_infer_openai(const lclip_safetensors *st, unsigned towers,
                                       lclip_clip_config *cfg)
{
    lclip_config_defaults(cfg);
    lclip_status s = LCLIP_OK;
    if (towers & LCLIP_TOWER_VISION)
        s = infer_vision(st, cfg);
    if (s == LCLIP_OK && (towers & LCLIP_TOWER_TEXT))
        s = infer_text(st, cfg);
    if (s != LCLIP_OK)
        return s;
    if ((towers & LCLIP_TOWER_VISION) && cfg->vision.arch == LCLIP_VISION_RESNET && cfg->vision.resnet.heads == 0)
        return lclip_fail(LCLIP_E_FORMAT, "%s: ResNet width %d is too small for OpenAI's heads = width * 32 / 64; "
                          "put an open_clip_config.json beside the weights", st->label, cfg->vision.resnet.width);
    if (((towers & LCLIP_TOWER_VISION) && cfg->vision.arch == LCLIP_VISION_VIT && cfg->vision.tf.heads == 0) ||
        ((towers & LCLIP_TOWER_TEXT) && cfg->text.tf.heads == 0))
        return lclip_fail(LCLIP_E_FORMAT,
                          "%s: tower width below 64 cannot use OpenAI's heads = width / 64; put an "
                          "open_clip_config.json beside the weights", st->label);
    return LCLIP_OK;
}
