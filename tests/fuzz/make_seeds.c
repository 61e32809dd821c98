/* Writes the fuzz targets' seed corpora (run through make_corpus.sh):
 *     fuzz_make_seeds OUT_DIR [FIXTURES_DIR]
 * Self-made inputs always (micro checkpoints in both layouts and three
 * dtypes, a micro checkpoint in two shards with good and bad indexes, configs,
 * PNGs of every colour type and depth, JPEGs of every colour space and coding,
 * WebPs, GIFs and BMPs of each kind read, texts, classifier files); the
 * fixtures' configs, texts and
 * checkpoint headers when present (make_corpus.sh adds their small images). */
#define _GNU_SOURCE
#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "image/image_test_util.h"
#include "libclip.h"
#include "support/shards.h"
#include "support/test_util.h"
#include "support/tiny_model.h"

static const char *out_dir;

static void put(const char *target, const char *name, const void *data, size_t size)
{
    char dir[1024], path[1200];
    snprintf(dir, sizeof dir, "%s/%s", out_dir, target);
    mkdir(dir, 0777);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    write_bytes_file(path, data, size);
}

/* Each string as its own seed, named PREFIX_NN. */
static void put_strings(const char *target, const char *prefix, const char *const *strings, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        char name[32];
        snprintf(name, sizeof name, "%s_%02zu", prefix, i);
        put(target, name, strings[i], strlen(strings[i]));
    }
}

/* One byte of selector followed by the payload. */
static void put_prefixed(const char *target, const char *name, uint8_t selector, const void *data, size_t size)
{
    uint8_t *buf = malloc(size + 1);
    buf[0] = selector;
    memcpy(buf + 1, data, size);
    put(target, name, buf, size + 1);
    free(buf);
}

static void *read_fixture(const char *fixtures, const char *relative, size_t *size)
{
    if (!fixtures)
        return NULL;
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", fixtures, relative);
    return read_whole_file(path, size);
}

/* A checkpoint small enough to fuzz quickly: both towers, one layer each. */
static tiny_spec micro_spec(void)
{
    tiny_spec s = {
        .vision_width = 8, .vision_layers = 1, .vision_heads = 2, .vision_mlp = 16,
        .image_size = 8, .patch_size = 4,
        .text_width = 8, .text_layers = 1, .text_heads = 2, .text_mlp = 16,
        .vocab_size = 16, .context_length = 8,
        .embed_dim = 4, .logit_scale = 2.5f, .hidden_act = "quick_gelu",
    };
    return s;
}

/* The safetensors bytes of f, as st_write would write them. */
static unsigned char *st_bytes(const st_file *f, size_t *size)
{
    size_t header_len = strlen(f->header), padded = (header_len + 7) / 8 * 8;
    *size = 8 + padded + f->data_len;
    unsigned char *buf = malloc(*size);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)(padded >> (8 * i));
    memcpy(buf + 8, f->header, header_len);
    memset(buf + 8 + header_len, ' ', padded - header_len);
    memcpy(buf + 8 + padded, f->data, f->data_len);
    return buf;
}

static void model_container(const char *name, int open_clip, const char *config, const st_file *f)
{
    size_t weights_len, config_len = config ? strlen(config) : 0;
    unsigned char *weights = st_bytes(f, &weights_len);
    size_t size = 5 + config_len + weights_len;
    unsigned char *buf = malloc(size);
    buf[0] = (unsigned char)open_clip;
    for (int i = 0; i < 4; i++)
        buf[1 + i] = (unsigned char)(config_len >> (8 * i));
    memcpy(buf + 5, config, config_len);
    memcpy(buf + 5 + config_len, weights, weights_len);
    put("model_open", name, buf, size);
    free(buf);
    free(weights);
}

/* Micro ResNet checkpoints (32 pixels, so the fuzzer also encodes with them):
 * with a config, inferred, and the hostile shapes the loader must name. */
static void resnet_seeds(const tiny_spec *spec)
{
    tiny_resnet valid = {.layers = {1, 1, 1, 1}, .width = 2, .image_size = 32, .variance = 0.75f};
    tiny_resnet positions = valid, chain = valid;
    positions.positions = 3;
    chain.stem_out = 4;
    static const char *const names[3] = {"micro_resnet", "micro_resnet_positions", "micro_resnet_chain"};
    const tiny_resnet *kinds[3] = {&valid, &positions, &chain};
    char *config = tiny_resnet_open_clip_config(spec, &valid);
    for (int k = 0; k < 3; k++) {
        st_file f;
        tiny_build_resnet(spec, kinds[k], &f);
        char name[64];
        snprintf(name, sizeof name, "%s_config", names[k]);
        model_container(name, 1, config, &f);
        snprintf(name, sizeof name, "%s_inferred", names[k]);
        model_container(name, 1, "", &f); /* no config: inferred */
        if (k == 0) { /* a numbering gap: block 1 of layer 4 without block 0 */
            while (strstr(f.header, "visual.layer4.0."))
                st_replace(&f, "visual.layer4.0.", "visual.layer4.1.");
            model_container("micro_resnet_gap_inferred", 1, "", &f);
        }
        st_file_free(&f);
    }
    put_prefixed("config", "micro_resnet.json", 1, config, strlen(config));
    free(config);
}

static void model_seeds(const char *fixtures)
{
    static const char *const dtypes[] = {"F32", "F16", "BF16"};
    tiny_spec spec = micro_spec();
    char *hf_config = tiny_hf_config(&spec), *oc_config = tiny_open_clip_config(&spec);
    for (int d = 0; d < 3; d++) {
        char name[64];
        for (int layout = 0; layout < 2; layout++) {
            st_file f;
            tiny_build(&spec, layout ? TINY_OPENAI : TINY_HF, dtypes[d], &f);
            size_t size;
            unsigned char *bytes = st_bytes(&f, &size);
            snprintf(name, sizeof name, "micro_%s_%s.safetensors", layout ? "openai" : "hf", dtypes[d]);
            put("safetensors", name, bytes, size);
            free(bytes);
            snprintf(name, sizeof name, "micro_%s_%s", layout ? "open_clip" : "hf", dtypes[d]);
            model_container(name, layout, layout ? oc_config : hf_config, &f);
            st_file_free(&f);
        }
    }
    resnet_seeds(&spec);
    put_prefixed("config", "micro_hf.json", 0, hf_config, strlen(hf_config));
    put_prefixed("config", "micro_open_clip.json", 1, oc_config, strlen(oc_config));
    free(hf_config);
    free(oc_config);

    /* The fixtures' headers with their data cut off: real names and offsets. */
    static const char *const weights[] = {"models/tiny-quickgelu/hf/model.safetensors",
                                          "models/tiny-gelu/open_clip/open_clip_model.safetensors",
                                          "models/tiny-rn/open_clip/open_clip_model.safetensors"};
    static const char *const header_names[] = {"fixture_hf_header", "fixture_open_clip_header",
                                               "fixture_resnet_header"};
    for (int i = 0; i < 3; i++) {
        size_t size;
        unsigned char *st = read_fixture(fixtures, weights[i], &size);
        if (!st || size < 8)
            continue;
        uint64_t header_len = 0;
        for (int b = 7; b >= 0; b--)
            header_len = header_len << 8 | st[b];
        if (header_len <= size - 8)
            put("safetensors", header_names[i], st, 8 + header_len);
        free(st);
    }
}

/* fuzz_sharded's input: each shard behind its 4-byte length, then the index. */
static void sharded_container(const char *name, unsigned char *const shards[2], const size_t lens[2],
                              const char *index)
{
    size_t index_len = strlen(index), size = 8 + lens[0] + lens[1] + index_len, at = 0;
    unsigned char *buf = malloc(size);
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < 4; i++)
            buf[at++] = (unsigned char)(lens[k] >> (8 * i));
        memcpy(buf + at, shards[k], lens[k]);
        at += lens[k];
    }
    memcpy(buf + at, index, index_len);
    put("sharded", name, buf, size);
    free(buf);
}

/* A micro checkpoint split in two as transformers shards one, and indexes
 * that break one rule each. */
static void sharded_seeds(void)
{
    tiny_spec spec = micro_spec();
    char *dir = make_temp_dir(), *single = join_path(dir, "single.safetensors");
    st_file f;
    tiny_build(&spec, TINY_HF, "F16", &f);
    st_write(single, &f, 0, SIZE_MAX);
    st_file_free(&f);
    char *first = shard_safetensors(single, dir, 2, SHARD_EXACT);
    unsigned char *shards[2];
    size_t lens[2], index_len;
    for (int k = 0; k < 2; k++) {
        char *path = join_path(dir, shard_name(k + 1, 2));
        shards[k] = read_whole_file(path, &lens[k]);
        free(path);
    }
    char *index_path = join_path(dir, "model.safetensors.index.json");
    char *bytes = read_whole_file(index_path, &index_len), *index = strndup(bytes, index_len);
    sharded_container("micro_two_shards", shards, lens, index);
    char listed_twice[512];
    snprintf(listed_twice, sizeof listed_twice, "\"weight_map\":\t{\n\t\t\"%s\":\t\"%s\",", first,
             shard_name(2, 2));
    const struct {
        const char *name, *from, *to;
    } flaws[] = {
        {"traversal", "\"model-00002-of-00002.safetensors\"", "\"../model-00002-of-00002.safetensors\""},
        {"missing_shard", "\"model-00002-of-00002.safetensors\"", "\"model-00003-of-00002.safetensors\""},
        {"ghost_tensor", "\"weight_map\":\t{", "\"weight_map\":\t{\"ghost\": \"model-00001-of-00002.safetensors\","},
        {"listed_twice", "\"weight_map\":\t{", listed_twice},
        {"shard_not_string", "\"model-00001-of-00002.safetensors\"", "1"},
    };
    for (size_t i = 0; i < sizeof flaws / sizeof *flaws; i++) {
        char *changed = replace_first(index, flaws[i].from, flaws[i].to), name[64];
        snprintf(name, sizeof name, "micro_%s", flaws[i].name);
        sharded_container(name, shards, lens, changed);
        free(changed);
    }
    free(bytes);
    free(index);
    free(index_path);
    free(first);
    free(shards[0]);
    free(shards[1]);
    free(single);
    rm_tree(dir);
    free(dir);
}

static void config_seeds(const char *fixtures)
{
    static const struct {
        const char *file;
        uint8_t selector;
    } files[] = {
        {"models/tiny-quickgelu/hf/config.json", 0},
        {"models/tiny-gelu/hf/config.json", 0},
        {"models/tiny-quickgelu/open_clip/open_clip_config.json", 1},
        {"models/tiny-gelu/open_clip/open_clip_config.json", 1},
        {"models/tiny-rn/open_clip/open_clip_config.json", 1},
        {"models/tiny-quickgelu/hf/preprocessor_config.json", 2},
        {"models/tiny-gelu/hf/preprocessor_config.json", 2},
    };
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        size_t size;
        char *text = read_fixture(fixtures, files[i].file, &size);
        if (!text)
            continue;
        char name[64];
        snprintf(name, sizeof name, "fixture_%zu.json", i);
        put_prefixed("config", name, files[i].selector, text, size);
        free(text);
    }
    static const char preprocessor[] =
        "{\"do_resize\":true,\"size\":{\"shortest_edge\":8},\"crop_size\":{\"height\":8,\"width\":8},"
        "\"do_center_crop\":true,\"do_normalize\":true,\"image_mean\":[0.5,0.5,0.5],"
        "\"image_std\":[0.25,0.25,0.25],\"resample\":3,\"rescale_factor\":0.00392156862745098}";
    put_prefixed("config", "preprocessor.json", 2, preprocessor, sizeof preprocessor - 1);
}

static void text_seeds(const char *fixtures)
{
    static const char *const texts[] = {
        "a photo of a cat",
        "",
        "A Photo Of  A\tDOG!!! 123,456.78",
        "caf\xc3\x83\xc2\xa9 na\xc3\x83\xc2\xafve",           /* mojibake of "café naïve" */
        "&amp;lt;b&amp;gt; &quot;quoted&quot; &#x41;&#66; &notanentity;",
        "e\xcc\x81 \xe1\x84\x80\xe1\x85\xa1 \xef\xac\x81",     /* combining mark, jamo, ligature */
        "\xf0\x9f\x90\xb1\xf0\x9f\x9a\x80 \xe7\x8c\xab \xd0\xba\xd0\xbe\xd1\x82 \xd9\x82\xd8\xb7",
        "it's we'll they're I'D",
        "\xc2\x80\xc2\x9f control \x01\x1f",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "<|startoftext|>inside<|endoftext|>",
        "\xff\xfe invalid \xc3",
    };
    put_strings("tokenizer", "text", texts, sizeof texts / sizeof *texts);
    size_t size;
    char *cases = read_fixture(fixtures, "tokenizer/cases.jsonl", &size);
    if (!cases)
        return;
    int n = 0;
    for (char *line = strtok(cases, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *json = cJSON_Parse(line);
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(json, "text");
        if (cJSON_IsString(text)) {
            char name[32];
            snprintf(name, sizeof name, "case_%03d", n++);
            put("tokenizer", name, text->valuestring, strlen(text->valuestring));
        }
        cJSON_Delete(json);
    }
    free(cases);
}

static void vocab_json_seeds(const char *fixtures)
{
    static const char *const seeds[] = {
        "{\"!\":0,\"\\\"\":1,\"a</w>\":2,\"<|endoftext|>\":3}",
        "{ \"\\u00c4\\u00a0the\" : 7 ,\n\t\"\\ud83d\\ude00\\/\\b\\f\\n\\r\\t\\\\\": 2147483647 }",
        "{\"\xc4\xa0\x61\":1,\"x\":1.5}", /* \x61: "a", which a hex escape would swallow */
        "{}",
    };
    put_strings("vocab_json", "vocab", seeds, sizeof seeds / sizeof *seeds);
    /* The head of the real vocabulary, closed after a member. */
    size_t size;
    char *vocab = read_fixture(fixtures, "models/tiny-gelu/hf/vocab.json", &size);
    if (!vocab)
        return;
    size_t cut = size < 4096 ? size : 4096;
    while (cut > 0 && vocab[cut - 1] != ',')
        cut--;
    if (cut > 1) {
        vocab[cut - 1] = '}';
        put("vocab_json", "fixture_head", vocab, cut);
    }
    free(vocab);
}

static uint16_t *pattern(int count, int max)
{
    uint16_t *s = malloc((size_t)count * sizeof *s);
    for (int i = 0; i < count; i++)
        s[i] = (uint16_t)((i * 7919 + i / 3) % (max + 1));
    return s;
}

static void png_seeds(void)
{
    static const struct {
        int color_type, channels, depth;
    } kinds[] = {
        {PNG_COLOR_TYPE_GRAY, 1, 1},       {PNG_COLOR_TYPE_GRAY, 1, 2},       {PNG_COLOR_TYPE_GRAY, 1, 4},
        {PNG_COLOR_TYPE_GRAY, 1, 8},       {PNG_COLOR_TYPE_GRAY, 1, 16},      {PNG_COLOR_TYPE_GRAY_ALPHA, 2, 8},
        {PNG_COLOR_TYPE_GRAY_ALPHA, 2, 16}, {PNG_COLOR_TYPE_RGB, 3, 8},       {PNG_COLOR_TYPE_RGB, 3, 16},
        {PNG_COLOR_TYPE_RGBA, 4, 8},       {PNG_COLOR_TYPE_RGBA, 4, 16},      {PNG_COLOR_TYPE_PALETTE, 1, 1},
        {PNG_COLOR_TYPE_PALETTE, 1, 4},    {PNG_COLOR_TYPE_PALETTE, 1, 8},
    };
    uint8_t palette[256 * 3], trns[16];
    for (int i = 0; i < 256 * 3; i++)
        palette[i] = (uint8_t)(i * 31);
    for (int i = 0; i < 16; i++)
        trns[i] = (uint8_t)(i * 17);
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++)
        for (int interlaced = 0; interlaced < 2; interlaced++) {
            int w = 13 + (int)k, h = 9 + interlaced * 4, max = (1 << kinds[k].depth) - 1;
            uint16_t *samples = pattern(w * h * kinds[k].channels, max);
            int is_palette = kinds[k].color_type == PNG_COLOR_TYPE_PALETTE;
            png_spec spec = {w, h, kinds[k].color_type, kinds[k].depth, interlaced, samples,
                             is_palette ? palette : NULL, is_palette ? 1 << kinds[k].depth : 0,
                             is_palette ? trns : NULL, is_palette ? 16 : 0};
            if (is_palette && spec.n_palette > 256)
                spec.n_palette = 256;
            if (is_palette && spec.n_trns > spec.n_palette)
                spec.n_trns = spec.n_palette;
            byte_buffer png = encode_png(&spec);
            char name[64];
            snprintf(name, sizeof name, "self_type%d_depth%d%s.png", kinds[k].color_type, kinds[k].depth,
                     interlaced ? "_interlaced" : "");
            put("png", name, png.data, png.size);
            free(png.data);
            free(samples);
        }
}

static void jpeg_seeds(void)
{
    static const struct {
        const char *name;
        int components, progressive, restart_rows, ycck, quality, orientation;
    } kinds[] = {
        {"grey", 1, 0, 0, 0, 90, 0},        {"rgb", 3, 0, 0, 0, 75, 0},
        {"rgb_progressive", 3, 1, 0, 0, 85, 0}, {"rgb_restart", 3, 0, 1, 0, 60, 0},
        {"cmyk", 4, 0, 0, 0, 90, 0},        {"ycck", 4, 0, 0, 1, 90, 0},
        {"exif6", 3, 0, 0, 0, 80, 6},       {"exif8_progressive", 3, 1, 0, 0, 80, 8},
    };
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        int w = 21, h = 14, n = w * h * kinds[k].components;
        uint8_t *samples = malloc((size_t)n);
        for (int i = 0; i < n; i++)
            samples[i] = (uint8_t)((i * 13 + (i / w) * 7) & 0xff);
        /* TIFF, little-endian: IFD0 at 8 holding one SHORT Orientation entry. */
        uint8_t exif[26] = {'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0,
                            (uint8_t)kinds[k].orientation, 0, 0, 0, 0, 0, 0, 0};
        jpeg_spec spec = {w, h, kinds[k].components, kinds[k].quality, kinds[k].progressive, kinds[k].restart_rows,
                          kinds[k].ycck, samples, kinds[k].orientation ? exif : NULL,
                          kinds[k].orientation ? sizeof exif : 0};
        byte_buffer jpg = encode_jpeg(&spec);
        char name[64];
        snprintf(name, sizeof name, "self_%s.jpg", kinds[k].name);
        put("jpeg", name, jpg.data, jpg.size);
        free(jpg.data);
        free(samples);
    }
}

static uint8_t *seed_pattern(size_t n, unsigned mul)
{
    uint8_t *p = malloc(n);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)((i * mul + i / 17) & 0xff);
    return p;
}

static void webp_seeds(void)
{
    for (int k = 0; k < 4; k++) {
        int w = 19, h = 12, channels = k >= 2 ? 4 : 3;
        uint8_t *samples = seed_pattern((size_t)w * (size_t)h * (size_t)channels, 13);
        webp_spec spec = {w, h, channels, k % 2, samples};
        byte_buffer webp = encode_webp(&spec);
        char name[64];
        snprintf(name, sizeof name, "self_%s_%s.webp", channels == 4 ? "rgba" : "rgb", k % 2 ? "lossless" : "lossy");
        put("webp", name, webp.data, webp.size);
        free(webp.data);
        free(samples);
    }
}

static void gif_seeds(void)
{
    static const struct {
        const char *name;
        int screen_w, screen_h, left, top, interlaced, colors, transparent, frames;
    } kinds[] = {
        {"plain", 17, 11, 0, 0, 0, 16, -1, 1},       {"interlaced", 17, 11, 0, 0, 1, 4, -1, 1},
        {"transparent", 20, 14, 2, 2, 0, 16, 3, 1},  {"animated", 17, 11, 0, 0, 0, 2, 1, 3},
        {"grey_ramp", 17, 11, 0, 0, 0, 64, -1, 1},   {"off_screen", 8, 6, 4, 3, 0, 8, -1, 1},
    };
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        int w = 17, h = 11;
        uint8_t *indices = seed_pattern((size_t)w * (size_t)h, 7), *palette = seed_pattern(3 * 256, 29);
        for (int i = 0; i < w * h; i++)
            indices[i] = (uint8_t)(indices[i] % kinds[k].colors);
        /* The identity grey ramp is Pillow's mode L. */
        for (int i = 0; strcmp(kinds[k].name, "grey_ramp") == 0 && i < 256; i++)
            memset(palette + 3 * i, i, 3);
        gif_spec spec = {kinds[k].screen_w, kinds[k].screen_h, kinds[k].left, kinds[k].top, w, h,
                         kinds[k].interlaced, indices, palette, kinds[k].colors, kinds[k].transparent,
                         kinds[k].frames};
        byte_buffer gif = encode_gif(&spec);
        char name[64];
        snprintf(name, sizeof name, "self_%s.gif", kinds[k].name);
        put("gif", name, gif.data, gif.size);
        free(gif.data);
        free(palette);
        free(indices);
    }
}

static void bmp_seeds(void)
{
    static const struct {
        const char *name;
        int bits, top_down, header_size, colors;
        unsigned compression;
    } kinds[] = {
        {"rgb24", 24, 0, 40, 0, 0},      {"rgb24_top_down", 24, 1, 40, 0, 0}, {"palette8", 8, 0, 40, 37, 0},
        {"palette8_core", 8, 0, 12, 0, 0}, {"rle8_refused", 8, 0, 40, 16, 1}, {"rgb32_refused", 32, 0, 40, 0, 0},
    };
    for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
        int w = 13, h = 6;
        uint8_t *samples = seed_pattern((size_t)w * (size_t)h * 3, 11), *palette = seed_pattern(3 * 256, 5);
        bmp_spec spec = {w, h, kinds[k].bits, kinds[k].top_down, kinds[k].header_size, kinds[k].compression,
                         samples, palette, kinds[k].colors};
        byte_buffer bmp = encode_bmp(&spec);
        char name[64];
        snprintf(name, sizeof name, "self_%s.bmp", kinds[k].name);
        put("bmp", name, bmp.data, bmp.size);
        free(bmp.data);
        free(palette);
        free(samples);
    }
    /* The same 8-bit file with a grey palette: Pillow's mode L. */
    uint8_t *grey = malloc(3 * 256), *indices = seed_pattern(13 * 6, 3);
    for (int i = 0; i < 256; i++)
        memset(grey + 3 * i, i, 3);
    bmp_spec spec = {13, 6, 8, 0, 40, 0, indices, grey, 0};
    byte_buffer bmp = encode_bmp(&spec);
    put("bmp", "self_grey8.bmp", bmp.data, bmp.size);
    free(bmp.data);
    free(indices);
    free(grey);
}

/* Saved classifiers, each twice: with the selector that reseals the CRC
 * (so that mutations reach the fields) and as they are. */
static void classifier_seeds(void)
{
    static const char *const names[3] = {"cat", "\xC3\x86r\xC3\xB8sk\xC3\xB8\142ing harbour", "cup of coffee"};
    static const struct {
        size_t classes, dim;
    } shapes[] = {{1, 1}, {2, 3}, {3, 8}};
    char *dir = make_temp_dir(), *path = join_path(dir, "seed.lclip");
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        size_t k = shapes[i].classes, dim = shapes[i].dim;
        float vectors[3 * 8], bias[3];
        for (size_t j = 0; j < k * dim; j++)
            vectors[j] = (float)j / 7.0f - 0.5f;
        for (size_t c = 0; c < k; c++)
            bias[c] = (float)c * 0.25f;
        lclip_classifier *cls;
        if (lclip_classifier_create(vectors, bias, names, k, dim, 40.0f, &cls) != LCLIP_OK ||
            lclip_classifier_save(cls, path) != LCLIP_OK)
            abort();
        lclip_classifier_free(cls);
        size_t size;
        void *bytes = read_whole_file(path, &size);
        char name[32];
        snprintf(name, sizeof name, "sealed_%zu", i);
        put_prefixed("classifier", name, 1, bytes, size);
        snprintf(name, sizeof name, "as_is_%zu", i);
        put_prefixed("classifier", name, 0, bytes, size);
        free(bytes);
    }
    rm_tree(dir);
    free(path);
    free(dir);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s OUT_DIR [FIXTURES_DIR]\n", argv[0]);
        return 2;
    }
    out_dir = argv[1];
    mkdir(out_dir, 0777);
    const char *fixtures = argc == 3 ? argv[2] : NULL;
    model_seeds(fixtures);
    sharded_seeds();
    config_seeds(fixtures);
    text_seeds(fixtures);
    vocab_json_seeds(fixtures);
    png_seeds();
    jpeg_seeds();
    webp_seeds();
    gif_seeds();
    bmp_seeds();
    classifier_seeds();
    return 0;
}
