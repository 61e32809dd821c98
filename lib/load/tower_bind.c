#include "load/tower_bind.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "load/tensor_bind.h"

typedef struct naming {
    const char *vision_block, *text_block; /* followed by "<layer index>." */
    /* inside a block; linear layers and norms get ".weight" / ".bias" */
    const char *ln1, *ln2, *attn_out, *fc1, *fc2;
    const char *q, *k, *v;                      /* separate projections (HF) */
    const char *in_proj_weight, *in_proj_bias; /* fused q|k|v rows (OpenAI) */
    const char *patch, *class_embedding, *vision_position, *ln_pre, *ln_post, *vision_projection;
    const char *token_embedding, *text_position, *ln_final, *text_projection;
    int projection_is_in_out; /* OpenAI stores projections as [width][embed] */
} naming;

static const naming hf_naming = {
    "vision_model.encoder.layers.", "text_model.encoder.layers.",
    "layer_norm1", "layer_norm2", "self_attn.out_proj", "mlp.fc1", "mlp.fc2",
    "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", NULL, NULL,
    "vision_model.embeddings.patch_embedding.weight", "vision_model.embeddings.class_embedding",
    "vision_model.embeddings.position_embedding.weight", "vision_model.pre_layrnorm",
    "vision_model.post_layernorm", "visual_projection.weight",
    "text_model.embeddings.token_embedding.weight", "text_model.embeddings.position_embedding.weight",
    "text_model.final_layer_norm", "text_projection.weight",
    0,
};

static const naming openai_naming = {
    "visual.transformer.resblocks.", "transformer.resblocks.",
    "ln_1", "ln_2", "attn.out_proj", "mlp.c_fc", "mlp.c_proj",
    NULL, NULL, NULL, "attn.in_proj_weight", "attn.in_proj_bias",
    "visual.conv1.weight", "visual.class_embedding", "visual.positional_embedding", "visual.ln_pre",
    "visual.ln_post", "visual.proj",
    "token_embedding.weight", "positional_embedding", "ln_final", "text_projection",
    1,
};

static const naming *naming_of(const lclip_model *model)
{
    return model->layout == LCLIP_LAYOUT_HF ? &hf_naming : &openai_naming;
}

static int has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

lclip_status lclip_detect_layout(const lclip_safetensors *st, lclip_layout *layout)
{
    for (size_t i = 0; i < st->count; i++) {
        const char *n = st->tensors[i].name;
        if (has_prefix(n, "vision_model.") || has_prefix(n, "text_model.")) {
            *layout = LCLIP_LAYOUT_HF;
            return LCLIP_OK;
        }
        if (has_prefix(n, "visual.") || has_prefix(n, "transformer.resblocks.") ||
            strcmp(n, "token_embedding.weight") == 0) {
            *layout = LCLIP_LAYOUT_OPENAI;
            return LCLIP_OK;
        }
    }
    return lclip_fail(LCLIP_E_FORMAT, "%s: no CLIP tensors (neither Hugging Face nor OpenAI names)", st->label);
}

/* "<prefix><member><suffix>" into buf; the names are short and bounded. */
static const char *tensor_name(char *buf, size_t size, const char *prefix, const char *member,
                               const char *suffix)
{
    snprintf(buf, size, "%s%s%s", prefix, member, suffix);
    return buf;
}

static lclip_status bind_layer_norm(lclip_model *m, const char *prefix, const char *member, int width,
                                    lclip_layer_norm *ln)
{
    char name[192];
    int64_t shape[1] = {width};
    lclip_status s = lclip_bind_f32(m, tensor_name(name, sizeof name, prefix, member, ".weight"), 1, shape,
                                    &ln->gamma);
    if (s == LCLIP_OK)
        s = lclip_bind_f32(m, tensor_name(name, sizeof name, prefix, member, ".bias"), 1, shape, &ln->beta);
    return s;
}

static lclip_status bind_linear(lclip_model *m, const char *prefix, const char *member, int out, int in,
                                lclip_linear *lin)
{
    char name[192];
    int64_t weight_shape[2] = {out, in}, bias_shape[1] = {out};
    lin->out = out;
    lin->in = in;
    lclip_status s = lclip_bind_f32(m, tensor_name(name, sizeof name, prefix, member, ".weight"), 2,
                                    weight_shape, &lin->weight);
    if (s == LCLIP_OK)
        s = lclip_bind_f32(m, tensor_name(name, sizeof name, prefix, member, ".bias"), 1, bias_shape,
                           &lin->bias);
    return s;
}

/* OpenAI's in_proj holds q, k and v as consecutive row blocks: three views. */
static lclip_status bind_fused_qkv(lclip_model *m, const naming *nm, const char *prefix, int width,
                                   lclip_block_weights *b)
{
    char name[192];
    const float *weight, *bias;
    int64_t weight_shape[2] = {3 * (int64_t)width, width}, bias_shape[1] = {3 * (int64_t)width};
    lclip_status s = lclip_bind_f32(m, tensor_name(name, sizeof name, prefix, nm->in_proj_weight, ""), 2,
                                    weight_shape, &weight);
    if (s == LCLIP_OK)
        s = lclip_bind_f32(m, tensor_name(name, sizeof name, prefix, nm->in_proj_bias, ""), 1, bias_shape,
                           &bias);
    if (s != LCLIP_OK)
        return s;
    lclip_linear *parts[3] = {&b->q, &b->k, &b->v};
    size_t block = (size_t)width * (size_t)width;
    for (size_t i = 0; i < 3; i++)
        *parts[i] = (lclip_linear){.weight = weight + i * block, .bias = bias + i * (size_t)width, .out = width,
                                   .in = width};
    return LCLIP_OK;
}

static lclip_status bind_block(lclip_model *m, const naming *nm, const char *prefix,
                               const lclip_transformer_config *cfg, lclip_block_weights *b)
{
    int w = cfg->width;
    lclip_status s = bind_layer_norm(m, prefix, nm->ln1, w, &b->ln1);
    if (s == LCLIP_OK)
        s = bind_layer_norm(m, prefix, nm->ln2, w, &b->ln2);
    if (s == LCLIP_OK && nm->in_proj_weight)
        s = bind_fused_qkv(m, nm, prefix, w, b);
    if (s == LCLIP_OK && !nm->in_proj_weight)
        s = bind_linear(m, prefix, nm->q, w, w, &b->q);
    if (s == LCLIP_OK && !nm->in_proj_weight)
        s = bind_linear(m, prefix, nm->k, w, w, &b->k);
    if (s == LCLIP_OK && !nm->in_proj_weight)
        s = bind_linear(m, prefix, nm->v, w, w, &b->v);
    if (s == LCLIP_OK)
        s = bind_linear(m, prefix, nm->attn_out, w, w, &b->attn_out);
    if (s == LCLIP_OK)
        s = bind_linear(m, prefix, nm->fc1, cfg->mlp_width, w, &b->fc1);
    if (s == LCLIP_OK)
        s = bind_linear(m, prefix, nm->fc2, w, cfg->mlp_width, &b->fc2);
    return s;
}

static lclip_status bind_transformer(lclip_model *m, const char *block_prefix,
                                     const lclip_transformer_config *cfg, lclip_transformer_weights *tf)
{
    const naming *nm = naming_of(m);
    char prefix[96], name[192];
    tf->cfg = *cfg;
    tf->blocks = lclip_calloc((size_t)cfg->layers, sizeof *tf->blocks);
    if (!tf->blocks)
        return lclip_fail(LCLIP_E_NOMEM, "out of memory");
    for (int i = 0; i < cfg->layers; i++) {
        snprintf(prefix, sizeof prefix, "%s%d.", block_prefix, i);
        lclip_status s = bind_block(m, nm, prefix, cfg, &tf->blocks[i]);
        if (s != LCLIP_OK)
            return s;
    }
    /* Extra blocks the config does not mention would be silently ignored. */
    snprintf(prefix, sizeof prefix, "%s%d.", block_prefix, cfg->layers);
    if (lclip_has_tensor(m, tensor_name(name, sizeof name, prefix, nm->ln1, ".weight")))
        return lclip_fail(LCLIP_E_FORMAT, "%s: the config says %d layers, but the file also has '%s'",
                          m->weights->label, cfg->layers, name);
    return LCLIP_OK;
}

static lclip_status bind_projection(lclip_model *m, const char *name, int embed_dim, int width,
                                    lclip_linear *lin)
{
    *lin = (lclip_linear){.out = embed_dim, .in = width};
    if (naming_of(m)->projection_is_in_out)
        return lclip_bind_f32_transposed(m, name, width, embed_dim, &lin->weight);
    int64_t shape[2] = {embed_dim, width};
    return lclip_bind_f32(m, name, 2, shape, &lin->weight);
}

lclip_status lclip_bind_vision_tower(lclip_model *m)
{
    const naming *nm = naming_of(m);
    lclip_vision_tower *v = &m->vision.vit;
    m->vision.cfg = v->cfg = m->config.vision;
    if (v->cfg.arch == LCLIP_VISION_RESNET)
        return lclip_bind_resnet_tower(m);
    int w = v->cfg.tf.width, p = v->cfg.patch_size, grid = v->cfg.image_size / p;
    int64_t patch_shape[4] = {w, 3, p, p}, class_shape[1] = {w};
    int64_t position_shape[2] = {(int64_t)grid * grid + 1, w};
    if (m->layout == LCLIP_LAYOUT_HF && lclip_has_tensor(m, "vision_model.embeddings.patch_embedding.bias"))
        return lclip_fail(LCLIP_E_UNSUPPORTED, "%s: a patch embedding with a bias is not a CLIP vision tower",
                          m->weights->label);
    v->patch_embedding = (lclip_linear){.out = w, .in = 3 * p * p};
    lclip_status s = lclip_bind_f32(m, nm->patch, 4, patch_shape, &v->patch_embedding.weight);
    if (s == LCLIP_OK)
        s = lclip_bind_f32(m, nm->class_embedding, 1, class_shape, &v->class_embedding);
    if (s == LCLIP_OK)
        s = lclip_bind_f32(m, nm->vision_position, 2, position_shape, &v->position_embedding);
    if (s == LCLIP_OK)
        s = bind_layer_norm(m, nm->ln_pre, "", w, &v->ln_pre);
    if (s == LCLIP_OK)
        s = bind_layer_norm(m, nm->ln_post, "", w, &v->ln_post);
    if (s == LCLIP_OK)
        s = bind_transformer(m, nm->vision_block, &v->cfg.tf, &v->transformer);
    if (s == LCLIP_OK)
        s = bind_projection(m, nm->vision_projection, m->config.embed_dim, w, &m->vision.projection);
    return s;
}

lclip_status lclip_bind_text_tower(lclip_model *m)
{
    const naming *nm = naming_of(m);
    lclip_text_tower *t = &m->text;
    t->cfg = m->config.text;
    int w = t->cfg.tf.width;
    int64_t token_shape[2] = {t->cfg.vocab_size, w}, position_shape[2] = {t->cfg.context_length, w};
    lclip_status s = lclip_bind_f32(m, nm->token_embedding, 2, token_shape, &t->token_embedding);
    if (s == LCLIP_OK)
        s = lclip_bind_f32(m, nm->text_position, 2, position_shape, &t->position_embedding);
    if (s == LCLIP_OK)
        s = bind_transformer(m, nm->text_block, &t->cfg.tf, &t->transformer);
    if (s == LCLIP_OK)
        s = bind_layer_norm(m, nm->ln_final, "", w, &t->ln_final);
    if (s == LCLIP_OK)
        s = bind_projection(m, nm->text_projection, m->config.embed_dim, w, &t->projection);
    return s;
}

lclip_status lclip_bind_logit_scale(lclip_model *m)
{
    float stored;
    lclip_status s = lclip_bind_scalar(m, "logit_scale", &stored);
    if (s != LCLIP_OK)
        return s;
    /* Trained CLIP clamps exp(logit_scale) at 100; anything beyond ~88 overflows float. */
    if (!(stored > -80.0f && stored < 80.0f))
        return lclip_fail(LCLIP_E_FORMAT, "%s: logit_scale %g is not a usable logarithm of a scale",
                          m->weights->label, (double)stored);
    m->logit_scale = expf(stored);
    return LCLIP_OK;
}
