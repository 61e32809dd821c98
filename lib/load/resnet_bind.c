/* Binds OpenAI's ModifiedResNet image tower (open_clip uses the same names):
 * every convolution gets its BatchNorm folded in and its kernel reordered
 * for channels-last im2col rows, into buffers the model owns; the mapped
 * originals are released. BatchNorm's num_batches_tracked counters are never
 * read. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/file.h"
#include "load/tensor_bind.h"
#include "load/tower_bind.h"

#define BATCH_NORM_EPS 1e-5 /* torch.nn.BatchNorm2d's default, which CLIP keeps */

typedef struct batch_norm {
    const float *gamma, *beta, *mean, *var;
} batch_norm;

static lclip_status bind_batch_norm(lclip_model *m, const char *prefix, int channels, batch_norm *bn)
{
    static const char *const members[4] = {"weight", "bias", "running_mean", "running_var"};
    const float **fields[4] = {&bn->gamma, &bn->beta, &bn->mean, &bn->var};
    int64_t shape[1] = {channels};
    char name[192];
    lclip_status s = LCLIP_OK;
    for (int i = 0; i < 4 && s == LCLIP_OK; i++) {
        snprintf(name, sizeof name, "%s.%s", prefix, members[i]);
        s = lclip_bind_f32(m, name, 1, shape, fields[i]);
    }
    for (int c = 0; c < channels && s == LCLIP_OK; c++)
        if (!(isfinite(bn->var[c]) && (double)bn->var[c] + BATCH_NORM_EPS > 0.0))
            s = lclip_fail(LCLIP_E_FORMAT, "%s: tensor '%s' holds %g at %d: not a variance", m->weights->label, name,
                           (double)bn->var[c], c);
    return s;
}

/* conv [out][in][k][k] followed by bn, as one convolution with a bias:
 * weight' = weight * gamma / sqrt(var + eps) reordered to [out][k][k][in],
 * bias' = beta - mean * gamma / sqrt(var + eps). */
static lclip_status bind_conv(lclip_model *m, const char *weight_name, const char *bn_prefix, int out, int in,
                              int kernel, int stride, int side, lclip_conv *conv)
{
    int64_t shape[4] = {out, in, kernel, kernel};
    const float *weight;
    batch_norm bn;
    lclip_status s = lclip_bind_f32(m, weight_name, 4, shape, &weight);
    if (s == LCLIP_OK)
        s = bind_batch_norm(m, bn_prefix, out, &bn);
    if (s != LCLIP_OK)
        return s;
    size_t taps = (size_t)kernel * (size_t)kernel, len = taps * (size_t)in;
    float *folded = lclip_owned_floats(m, (uint64_t)out * len);
    float *bias = lclip_owned_floats(m, (uint64_t)out);
    if (!folded || !bias)
        return lclip_fail(LCLIP_E_NOMEM, "%s: out of memory folding '%s'", m->weights->label, bn_prefix);
    for (size_t o = 0; o < (size_t)out; o++) {
        double scale = (double)bn.gamma[o] / sqrt((double)bn.var[o] + BATCH_NORM_EPS);
        bias[o] = (float)((double)bn.beta[o] - (double)bn.mean[o] * scale);
        for (size_t c = 0; c < (size_t)in; c++)
            for (size_t t = 0; t < taps; t++)
                folded[o * len + t * (size_t)in + c] = (float)(weight[(o * (size_t)in + c) * taps + t] * scale);
    }
    lclip_tensor_done(m, weight, (size_t)out * len * sizeof *weight);
    *conv = (lclip_conv){{.weight = folded, .bias = bias, .out = out, .in = (int)len}, kernel, stride, side, NULL};
    return LCLIP_OK;
}

/* Three 3x3 convolutions, width / 2, width / 2 and width channels, the
 * first of stride 2. */
static lclip_status bind_stem(lclip_model *m, int width, int size, lclip_conv stem[3])
{
    int channels[4] = {3, width / 2, width / 2, width};
    lclip_status s = LCLIP_OK;
    for (int i = 0; i < 3 && s == LCLIP_OK; i++) {
        char conv[64], bn[64];
        snprintf(conv, sizeof conv, "visual.conv%d.weight", i + 1);
        snprintf(bn, sizeof bn, "visual.bn%d", i + 1);
        s = bind_conv(m, conv, bn, channels[i + 1], channels[i], 3, i == 0 ? 2 : 1, i == 0 ? size : size / 2,
                      &stem[i]);
    }
    return s;
}

/* A Bottleneck of planes planes (4 planes out) on inplanes channels of
 * side x side grids. */
static lclip_status bind_bottleneck(lclip_model *m, const char *prefix, int inplanes, int planes, int stride,
                                    int side, lclip_bottleneck *b)
{
    char conv[192], bn[192];
    int outplanes = 4 * planes;
    b->stride = stride;
    snprintf(conv, sizeof conv, "%sconv1.weight", prefix);
    snprintf(bn, sizeof bn, "%sbn1", prefix);
    lclip_status s = bind_conv(m, conv, bn, planes, inplanes, 1, 1, side, &b->conv1);
    snprintf(conv, sizeof conv, "%sconv2.weight", prefix);
    snprintf(bn, sizeof bn, "%sbn2", prefix);
    if (s == LCLIP_OK)
        s = bind_conv(m, conv, bn, planes, planes, 3, 1, side, &b->conv2);
    snprintf(conv, sizeof conv, "%sconv3.weight", prefix);
    snprintf(bn, sizeof bn, "%sbn3", prefix);
    if (s == LCLIP_OK)
        s = bind_conv(m, conv, bn, outplanes, planes, 1, 1, side / stride, &b->conv3); /* after the pool */
    /* the shortcut convolves only where the shape changes, as OpenAI's Bottleneck */
    snprintf(conv, sizeof conv, "%sdownsample.0.weight", prefix);
    snprintf(bn, sizeof bn, "%sdownsample.1", prefix);
    if (s == LCLIP_OK && (stride > 1 || inplanes != outplanes))
        s = bind_conv(m, conv, bn, outplanes, inplanes, 1, 1, side / stride, &b->downsample);
    else if (s == LCLIP_OK && lclip_has_tensor(m, conv))
        s = lclip_fail(LCLIP_E_FORMAT, "%s: tensor '%s' belongs to a block whose shape does not change",
                       m->weights->label, conv);
    return s;
}

/* "visual.layer<L>.<N>.<rest>": a block the config does not have is refused
 * by name (a gap in the numbering or more blocks than configured). */
static lclip_status check_block_names(const lclip_model *m, const int layers[4])
{
    static const char prefix[] = "visual.layer";
    for (size_t i = 0; i < m->weights->count; i++) {
        const char *name = m->weights->tensors[i].name;
        if (strncmp(name, prefix, sizeof prefix - 1) != 0)
            continue;
        const char *at = name + sizeof prefix - 1;
        char *end;
        long layer = (*at >= '1' && *at <= '4' && at[1] == '.') ? *at - '0' : 0;
        long block = layer ? strtol(at + 2, &end, 10) : -1;
        if (!layer || at[2] < '0' || at[2] > '9' || *end != '.' || block >= layers[layer - 1])
            return lclip_fail(LCLIP_E_FORMAT, "%s: tensor '%s' is no block of the configured ResNet (layers %d, %d, "
                              "%d, %d)", m->weights->label, name, layers[0], layers[1], layers[2], layers[3]);
    }
    return LCLIP_OK;
}

static lclip_status bind_layers(lclip_model *m, lclip_resnet_tower *r)
{
    const lclip_resnet_config *cfg = &r->cfg.resnet;
    r->n_blocks = cfg->layers[0] + cfg->layers[1] + cfg->layers[2] + cfg->layers[3];
    r->blocks = lclip_calloc((size_t)r->n_blocks, sizeof *r->blocks);
    if (!r->blocks)
        return lclip_fail(LCLIP_E_NOMEM, "out of memory");
    lclip_status s = check_block_names(m, cfg->layers);
    int inplanes = cfg->width, at = 0, side = r->cfg.image_size / 4;
    for (int layer = 0; layer < 4 && s == LCLIP_OK; layer++) {
        int planes = cfg->width << layer;
        for (int i = 0; i < cfg->layers[layer] && s == LCLIP_OK; i++) {
            char prefix[64];
            int stride = layer > 0 && i == 0 ? 2 : 1;
            snprintf(prefix, sizeof prefix, "visual.layer%d.%d.", layer + 1, i);
            s = bind_bottleneck(m, prefix, inplanes, planes, stride, side, &r->blocks[at++]);
            inplanes = 4 * planes;
            side /= stride;
        }
    }
    return s;
}

static lclip_status bind_pool_linear(lclip_model *m, const char *member, int out, int in, lclip_linear *lin)
{
    char name[96];
    int64_t weight_shape[2] = {out, in}, bias_shape[1] = {out};
    *lin = (lclip_linear){.out = out, .in = in};
    snprintf(name, sizeof name, "visual.attnpool.%s.weight", member);
    lclip_status s = lclip_bind_f32(m, name, 2, weight_shape, &lin->weight);
    snprintf(name, sizeof name, "visual.attnpool.%s.bias", member);
    if (s == LCLIP_OK)
        s = lclip_bind_f32(m, name, 1, bias_shape, &lin->bias);
    return s;
}

/* The attention pool over a (image_size / 32)^2 grid of 32 width channels;
 * c_proj becomes the image tower's projection. */
static lclip_status bind_attention_pool(lclip_model *m, lclip_resnet_tower *r, lclip_linear *projection)
{
    int channels = 32 * r->cfg.resnet.width, grid = r->cfg.image_size / 32;
    int64_t position_shape[2] = {(int64_t)grid * grid + 1, channels};
    lclip_status s = lclip_bind_f32(m, "visual.attnpool.positional_embedding", 2, position_shape,
                                    &r->positional_embedding);
    if (s == LCLIP_OK)
        s = bind_pool_linear(m, "q_proj", channels, channels, &r->q);
    if (s == LCLIP_OK)
        s = bind_pool_linear(m, "k_proj", channels, channels, &r->k);
    if (s == LCLIP_OK)
        s = bind_pool_linear(m, "v_proj", channels, channels, &r->v);
    if (s == LCLIP_OK)
        s = bind_pool_linear(m, "c_proj", m->config.embed_dim, channels, projection);
    return s;
}

lclip_status lclip_bind_resnet_tower(lclip_model *m)
{
    lclip_resnet_tower *r = &m->vision.resnet;
    r->cfg = m->config.vision;
    if (m->layout != LCLIP_LAYOUT_OPENAI)
        return lclip_fail(LCLIP_E_UNSUPPORTED, "%s: a ResNet image tower needs OpenAI / open_clip tensor names",
                          m->weights->label);
    lclip_status s = bind_stem(m, r->cfg.resnet.width, r->cfg.image_size, r->stem);
    if (s == LCLIP_OK)
        s = bind_layers(m, r);
    if (s == LCLIP_OK)
        s = bind_attention_pool(m, r, &m->vision.projection);
    return s;
}
