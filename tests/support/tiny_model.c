#define _GNU_SOURCE
#include "tiny_model.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_util.h"

tiny_spec tiny_spec_default(void)
{
    tiny_spec s = {
        .vision_width = 64, .vision_layers = 2, .vision_heads = 1, .vision_mlp = 256,
        .image_size = 16, .patch_size = 8,
        .text_width = 64, .text_layers = 1, .text_heads = 1, .text_mlp = 256,
        .vocab_size = 100, .context_length = 8,
        .embed_dim = 16, .logit_scale = 2.5f, .hidden_act = "quick_gelu",
    };
    return s;
}

/* Weights are a pure function of (HF tensor name, flat index), so both
 * layouts can be generated independently and still hold the same model. */
static float value_at(const char *hf_name, size_t index, const tiny_spec *spec)
{
    if (strcmp(hf_name, "logit_scale") == 0)
        return spec->logit_scale;
    uint64_t h = 1469598103934665603ull;
    for (const char *p = hf_name; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    h ^= (uint64_t)index * 0x9E3779B97F4A7C15ull;
    h ^= h >> 30;
    h *= 0xBF58476D1CE4E5B9ull;
    h ^= h >> 27;
    h *= 0x94D049BB133111EBull;
    h ^= h >> 31;
    return (float)((int)(h % 257) - 128) / 256.0f;
}

typedef enum { SAME, TRANSPOSED, FUSED_QKV, VARIANCE } source_kind;

typedef struct builder {
    const tiny_spec *spec;
    tiny_layout layout;
    const char *dtype;
    size_t elem_size;
    char *header;
    size_t header_len, header_cap;
    unsigned char *data;
    size_t data_len;
    float variance; /* VARIANCE tensors: variance + the source's values */
} builder;

static void header_append(builder *b, const char *text)
{
    size_t n = strlen(text);
    if (b->header_len + n + 1 > b->header_cap) {
        b->header_cap = (b->header_len + n + 1) * 2;
        b->header = realloc(b->header, b->header_cap);
        assert_non_null(b->header);
    }
    memcpy(b->header + b->header_len, text, n + 1);
    b->header_len += n;
}

static void store(builder *b, size_t at, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits);
    unsigned char *p = b->data + at * b->elem_size;
    if (b->elem_size == 4) {
        for (int i = 0; i < 4; i++)
            p[i] = (unsigned char)(bits >> (8 * i));
        return;
    }
    uint16_t h;
    if (strcmp(b->dtype, "BF16") == 0) {
        h = (uint16_t)(bits >> 16);
    } else { /* F16; every value here is 0 or a normal half with <= 11 significant bits */
        uint32_t sign = bits >> 31, exponent = (bits >> 23) & 0xff, mantissa = bits & 0x7fffff;
        h = (uint16_t)(exponent == 0 ? sign << 15 : (sign << 15) | ((exponent - 112) << 10) | (mantissa >> 13));
    }
    p[0] = (unsigned char)h;
    p[1] = (unsigned char)(h >> 8);
}

/* One tensor: name and shape as written; values from the HF source tensor
 * (hf_source, or hf_source + {q,k,v}_proj + suffix for FUSED_QKV). */
static void emit(builder *b, const char *name, source_kind kind, const char *hf_source, const char *suffix,
                 int ndim, const int64_t *shape)
{
    size_t n = 1;
    char buf[160], part[192];
    snprintf(buf, sizeof buf, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[", b->header_len > 1 ? "," : "", name,
             b->dtype);
    header_append(b, buf);
    for (int i = 0; i < ndim; i++) {
        snprintf(part, sizeof part, i ? ",%lld" : "%lld", (long long)shape[i]);
        header_append(b, part);
        n *= (size_t)shape[i];
    }
    snprintf(buf, sizeof buf, "],\"data_offsets\":[%zu,%zu]}", b->data_len, b->data_len + n * b->elem_size);
    header_append(b, buf);

    size_t first = b->data_len / b->elem_size;
    b->data = realloc(b->data, b->data_len + n * b->elem_size);
    assert_non_null(b->data);
    b->data_len += n * b->elem_size;
    for (size_t i = 0; i < n; i++) {
        float v;
        if (kind == SAME) {
            v = value_at(hf_source, i, b->spec);
        } else if (kind == VARIANCE) { /* BatchNorm running_var */
            v = b->variance + value_at(hf_source, i, b->spec);
        } else if (kind == TRANSPOSED) { /* written [rows][cols] from source [cols][rows] */
            size_t rows = (size_t)shape[0], cols = (size_t)shape[1];
            v = value_at(hf_source, (i % cols) * rows + i / cols, b->spec);
        } else { /* q|k|v stacked by rows; width = shape[last] for weights, shape[0]/3 for biases */
            size_t width = ndim == 2 ? (size_t)shape[1] : (size_t)shape[0] / 3;
            size_t part_size = ndim == 2 ? width * width : width;
            static const char *const names[3] = {"q_proj", "k_proj", "v_proj"};
            snprintf(part, sizeof part, "%s%s%s", hf_source, names[i / part_size], suffix);
            v = value_at(part, i % part_size, b->spec);
        }
        store(b, first + i, v);
    }
}

static void emit_same(builder *b, const char *hf, const char *openai, int ndim, int64_t d0, int64_t d1,
                      int64_t d2, int64_t d3)
{
    int64_t shape[4] = {d0, d1, d2, d3};
    emit(b, b->layout == TINY_HF ? hf : openai, SAME, hf, "", ndim, shape);
}

static void emit_pair(builder *b, const char *hf_prefix, const char *hf_member, const char *oa_prefix,
                      const char *oa_member, int out, int in)
{
    char hf[160], oa[160];
    static const char *const suffix[2] = {".weight", ".bias"};
    for (int i = 0; i < 2; i++) {
        snprintf(hf, sizeof hf, "%s%s%s", hf_prefix, hf_member, suffix[i]);
        snprintf(oa, sizeof oa, "%s%s%s", oa_prefix, oa_member, suffix[i]);
        if (i == 0 && in > 0)
            emit_same(b, hf, oa, 2, out, in, 0, 0);
        else
            emit_same(b, hf, oa, 1, out, 0, 0, 0);
    }
}

static void emit_blocks(builder *b, const char *hf_base, const char *oa_base, int layers, int width, int mlp)
{
    for (int l = 0; l < layers; l++) {
        char hf[96], oa[96], attn[128];
        snprintf(hf, sizeof hf, "%s%d.", hf_base, l);
        snprintf(oa, sizeof oa, "%s%d.", oa_base, l);
        emit_pair(b, hf, "layer_norm1", oa, "ln_1", width, 0);
        snprintf(attn, sizeof attn, "%sself_attn.", hf);
        if (b->layout == TINY_HF) {
            emit_pair(b, attn, "q_proj", oa, "", width, width);
            emit_pair(b, attn, "k_proj", oa, "", width, width);
            emit_pair(b, attn, "v_proj", oa, "", width, width);
        } else {
            char name[128];
            int64_t w_shape[2] = {3 * (int64_t)width, width}, b_shape[1] = {3 * (int64_t)width};
            snprintf(name, sizeof name, "%sattn.in_proj_weight", oa);
            emit(b, name, FUSED_QKV, attn, ".weight", 2, w_shape);
            snprintf(name, sizeof name, "%sattn.in_proj_bias", oa);
            emit(b, name, FUSED_QKV, attn, ".bias", 1, b_shape);
        }
        emit_pair(b, hf, "self_attn.out_proj", oa, "attn.out_proj", width, width);
        emit_pair(b, hf, "layer_norm2", oa, "ln_2", width, 0);
        emit_pair(b, hf, "mlp.fc1", oa, "mlp.c_fc", mlp, width);
        emit_pair(b, hf, "mlp.fc2", oa, "mlp.c_proj", width, mlp);
    }
}

static void emit_projection(builder *b, const char *hf, const char *openai, int embed, int width)
{
    int64_t hf_shape[2] = {embed, width}, oa_shape[2] = {width, embed};
    if (b->layout == TINY_HF)
        emit(b, hf, SAME, hf, "", 2, hf_shape);
    else
        emit(b, openai, TRANSPOSED, hf, "", 2, oa_shape);
}

static void emit_text_tower(builder *b)
{
    const tiny_spec *s = b->spec;
    int wt = s->text_width;
    emit_same(b, "text_model.embeddings.token_embedding.weight", "token_embedding.weight", 2, s->vocab_size,
              wt, 0, 0);
    emit_same(b, "text_model.embeddings.position_embedding.weight", "positional_embedding", 2,
              s->context_length, wt, 0, 0);
    emit_blocks(b, "text_model.encoder.layers.", "transformer.resblocks.", s->text_layers, wt, s->text_mlp);
    emit_pair(b, "text_model.", "final_layer_norm", "", "ln_final", wt, 0);
    emit_projection(b, "text_projection.weight", "text_projection", s->embed_dim, wt);
}

void tiny_build(const tiny_spec *s, tiny_layout layout, const char *dtype, st_file *out)
{
    builder b = {s, layout, dtype, strcmp(dtype, "F32") == 0 ? 4 : 2, NULL, 0, 0, NULL, 0, 0.0f};
    header_append(&b, "{");
    int wv = s->vision_width, grid = s->image_size / s->patch_size;
    emit_same(&b, "vision_model.embeddings.patch_embedding.weight", "visual.conv1.weight", 4, wv, 3,
              s->patch_size, s->patch_size);
    emit_same(&b, "vision_model.embeddings.class_embedding", "visual.class_embedding", 1, wv, 0, 0, 0);
    emit_same(&b, "vision_model.embeddings.position_embedding.weight", "visual.positional_embedding", 2,
              grid * grid + 1, wv, 0, 0);
    emit_pair(&b, "vision_model.", "pre_layrnorm", "visual.", "ln_pre", wv, 0);
    emit_blocks(&b, "vision_model.encoder.layers.", "visual.transformer.resblocks.", s->vision_layers, wv,
                s->vision_mlp);
    emit_pair(&b, "vision_model.", "post_layernorm", "visual.", "ln_post", wv, 0);
    emit_projection(&b, "visual_projection.weight", "visual.proj", s->embed_dim, wv);
    emit_text_tower(&b);
    emit_same(&b, "logit_scale", "logit_scale", 0, 0, 0, 0, 0);
    header_append(&b, "}");
    out->header = b.header;
    out->data = b.data;
    out->data_len = b.data_len;
}

/* torch's BatchNorm counter: an int64 scalar a loader must skip. */
static void emit_batches_tracked(builder *b, const char *prefix)
{
    char buf[256];
    snprintf(buf, sizeof buf, ",\"%s.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[%zu,%zu]}",
             prefix, b->data_len, b->data_len + 8);
    header_append(b, buf);
    b->data = realloc(b->data, b->data_len + 8);
    assert_non_null(b->data);
    memset(b->data + b->data_len, 0, 8);
    b->data[b->data_len] = 7;
    b->data_len += 8;
}

/* A convolution and its BatchNorm (variance from VARIANCE values). */
static void emit_conv_bn(builder *b, const char *conv, const char *bn, int out, int in, int kernel)
{
    char name[96];
    int64_t vec[1] = {out};
    emit_same(b, conv, conv, 4, out, in, kernel, kernel);
    static const char *const members[3] = {"weight", "bias", "running_mean"};
    for (int i = 0; i < 3; i++) {
        snprintf(name, sizeof name, "%s.%s", bn, members[i]);
        emit_same(b, name, name, 1, out, 0, 0, 0);
    }
    snprintf(name, sizeof name, "%s.running_var", bn);
    emit(b, name, VARIANCE, name, "", 1, vec);
    emit_batches_tracked(b, bn);
}

static void emit_bottleneck(builder *b, const char *prefix, int inplanes, int planes, int stride)
{
    char conv[64], bn[64];
    static const int kernels[3] = {1, 3, 1};
    for (int i = 0; i < 3; i++) {
        snprintf(conv, sizeof conv, "%sconv%d.weight", prefix, i + 1);
        snprintf(bn, sizeof bn, "%sbn%d", prefix, i + 1);
        emit_conv_bn(b, conv, bn, i == 2 ? 4 * planes : planes, i == 0 ? inplanes : planes, kernels[i]);
    }
    if (stride > 1 || inplanes != 4 * planes) {
        snprintf(conv, sizeof conv, "%sdownsample.0.weight", prefix);
        snprintf(bn, sizeof bn, "%sdownsample.1", prefix);
        emit_conv_bn(b, conv, bn, 4 * planes, inplanes, 1);
    }
}

void tiny_build_resnet(const tiny_spec *s, const tiny_resnet *r, st_file *out)
{
    builder b = {s, TINY_OPENAI, "F32", 4, NULL, 0, 0, NULL, 0, r->variance};
    header_append(&b, "{\"__metadata__\":{\"format\":\"pt\"}");
    int w = r->width, stem_out = r->stem_out ? r->stem_out : w;
    emit_conv_bn(&b, "visual.conv1.weight", "visual.bn1", w / 2, 3, 3);
    emit_conv_bn(&b, "visual.conv2.weight", "visual.bn2", w / 2, w / 2, 3);
    emit_conv_bn(&b, "visual.conv3.weight", "visual.bn3", stem_out, w / 2, 3);
    int inplanes = w;
    for (int layer = 0; layer < 4; layer++)
        for (int i = 0; i < r->layers[layer]; i++) {
            char prefix[32];
            snprintf(prefix, sizeof prefix, "visual.layer%d.%d.", layer + 1, i);
            emit_bottleneck(&b, prefix, inplanes, w << layer, layer > 0 && i == 0 ? 2 : 1);
            inplanes = 4 * (w << layer);
        }
    int grid = r->image_size / 32, channels = 32 * w;
    int positions = r->positions ? r->positions : grid * grid + 1;
    emit_same(&b, "visual.attnpool.positional_embedding", "visual.attnpool.positional_embedding", 2, positions,
              channels, 0, 0);
    emit_pair(&b, "visual.attnpool.", "q_proj", "visual.attnpool.", "q_proj", channels, channels);
    emit_pair(&b, "visual.attnpool.", "k_proj", "visual.attnpool.", "k_proj", channels, channels);
    emit_pair(&b, "visual.attnpool.", "v_proj", "visual.attnpool.", "v_proj", channels, channels);
    emit_pair(&b, "visual.attnpool.", "c_proj", "visual.attnpool.", "c_proj", s->embed_dim, channels);
    emit_text_tower(&b);
    emit_same(&b, "logit_scale", "logit_scale", 0, 0, 0, 0, 0);
    header_append(&b, "}");
    out->header = b.header;
    out->data = b.data;
    out->data_len = b.data_len;
}

char *tiny_resnet_open_clip_config(const tiny_spec *s, const tiny_resnet *r)
{
    char *text;
    assert_true(asprintf(&text,
        "{\"model_cfg\":{\"embed_dim\":%d,\"quick_gelu\":true,"
        "\"vision_cfg\":{\"image_size\":%d,\"layers\":[%d,%d,%d,%d],\"width\":%d,\"patch_size\":null},"
        "\"text_cfg\":{\"context_length\":%d,\"vocab_size\":%d,\"width\":%d,\"heads\":%d,\"layers\":%d,"
        "\"mlp_ratio\":%g}}}",
        s->embed_dim, r->image_size, r->layers[0], r->layers[1], r->layers[2], r->layers[3], r->width,
        s->context_length, s->vocab_size, s->text_width, s->text_heads, s->text_layers,
        (double)s->text_mlp / s->text_width) > 0);
    return text;
}

tiny_resnet tiny_resnet_default(void)
{
    tiny_resnet r = {.layers = {1, 2, 1, 1}, .width = 4, .image_size = 64, .variance = 0.75f};
    return r;
}

void st_file_free(st_file *f)
{
    free(f->header);
    free(f->data);
    memset(f, 0, sizeof *f);
}

void st_replace(st_file *f, const char *from, const char *to)
{
    char *replaced = replace_first(f->header, from, to);
    free(f->header);
    f->header = replaced;
}

void st_write(const char *path, const st_file *f, uint64_t header_len_field, size_t keep_data_bytes)
{
    size_t header_len = strlen(f->header);
    /* like safetensors: pad with spaces to 8 bytes, unless the length is forced */
    size_t padded = header_len_field ? header_len : (header_len + 7) / 8 * 8;
    uint64_t field = header_len_field ? header_len_field : padded;
    size_t data_len = keep_data_bytes < f->data_len ? keep_data_bytes : f->data_len;
    FILE *out = fopen(path, "wb");
    assert_non_null(out);
    for (int i = 0; i < 8; i++)
        fputc((int)((field >> (8 * i)) & 0xff), out);
    fputs(f->header, out);
    for (size_t i = header_len; i < padded; i++)
        fputc(' ', out);
    if (data_len)
        assert_int_equal(fwrite(f->data, 1, data_len, out), data_len);
    assert_int_equal(fclose(out), 0);
}

char *tiny_hf_config(const tiny_spec *s)
{
    char *text;
    assert_true(asprintf(&text,
        "{\"architectures\":[\"CLIPModel\"],\"model_type\":\"clip\",\"projection_dim\":%d,"
        "\"logit_scale_init_value\":2.6592,"
        "\"text_config\":{\"hidden_size\":%d,\"intermediate_size\":%d,\"num_attention_heads\":%d,"
        "\"num_hidden_layers\":%d,\"max_position_embeddings\":%d,\"vocab_size\":%d,"
        "\"hidden_act\":\"%s\",\"layer_norm_eps\":1e-05},"
        "\"vision_config\":{\"hidden_size\":%d,\"intermediate_size\":%d,\"num_attention_heads\":%d,"
        "\"num_hidden_layers\":%d,\"image_size\":%d,\"patch_size\":%d,\"hidden_act\":\"%s\","
        "\"layer_norm_eps\":1e-05}}",
        s->embed_dim, s->text_width, s->text_mlp, s->text_heads, s->text_layers, s->context_length,
        s->vocab_size, s->hidden_act, s->vision_width, s->vision_mlp, s->vision_heads, s->vision_layers,
        s->image_size, s->patch_size, s->hidden_act) > 0);
    return text;
}

char *tiny_open_clip_config(const tiny_spec *s)
{
    char *text;
    assert_true(asprintf(&text,
        "{\"model_cfg\":{\"embed_dim\":%d,\"quick_gelu\":%s,"
        "\"vision_cfg\":{\"image_size\":%d,\"layers\":%d,\"width\":%d,\"patch_size\":%d,\"head_width\":%d,"
        "\"mlp_ratio\":%g},"
        "\"text_cfg\":{\"context_length\":%d,\"vocab_size\":%d,\"width\":%d,\"heads\":%d,\"layers\":%d,"
        "\"mlp_ratio\":%g}}}",
        s->embed_dim, strcmp(s->hidden_act, "quick_gelu") == 0 ? "true" : "false", s->image_size,
        s->vision_layers, s->vision_width, s->patch_size, s->vision_width / s->vision_heads,
        (double)s->vision_mlp / s->vision_width, s->context_length, s->vocab_size,
        s->text_width, s->text_heads, s->text_layers, (double)s->text_mlp / s->text_width) > 0);
    return text;
}

void tiny_write_hf(const char *dir, const tiny_spec *spec, const char *dtype)
{
    st_file f;
    tiny_build(spec, TINY_HF, dtype, &f);
    char *weights = join_path(dir, "model.safetensors");
    char *config_path = join_path(dir, "config.json");
    char *config = tiny_hf_config(spec);
    st_write(weights, &f, 0, SIZE_MAX);
    write_text_file(config_path, config);
    free(config);
    free(config_path);
    free(weights);
    st_file_free(&f);
}
