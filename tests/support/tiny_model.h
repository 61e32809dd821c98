/* Test support: writes self-made CLIP checkpoints (HF directory or OpenAI-named
 * file) with deterministic weights, as an in-memory header + data pair that a
 * test may corrupt before writing it out. */
#ifndef LCLIP_TESTS_TINY_MODEL_H
#define LCLIP_TESTS_TINY_MODEL_H

#include <stddef.h>
#include <stdint.h>

typedef struct tiny_spec {
    int vision_width, vision_layers, vision_heads, vision_mlp, image_size, patch_size;
    int text_width, text_layers, text_heads, text_mlp, vocab_size, context_length;
    int embed_dim;
    float logit_scale; /* stored (log) value */
    const char *hidden_act; /* "quick_gelu" or "gelu" */
} tiny_spec;

/* A small valid spec: widths 64 so OpenAI's heads = width / 64 also holds. */
tiny_spec tiny_spec_default(void);

typedef enum tiny_layout { TINY_HF, TINY_OPENAI } tiny_layout;

/* A safetensors file being built: the JSON header text and the data section. */
typedef struct st_file {
    char *header;
    unsigned char *data;
    size_t data_len;
} st_file;

/* Builds the weights of spec in the given naming and dtype ("F32", "F16",
 * "BF16"). Every value is k/256 with |k| <= 128, exact in all three dtypes,
 * and the same weights come out in both layouts. */
void tiny_build(const tiny_spec *spec, tiny_layout layout, const char *dtype, st_file *out);
void st_file_free(st_file *f);

/* Replaces the first occurrence of from in the header; fails the test if absent. */
void st_replace(st_file *f, const char *from, const char *to);

/* Writes f to path. header_len_field 0 writes the header padded to 8 bytes and
 * its length; otherwise the header unpadded and header_len_field as its length.
 * keep_data_bytes truncates the data section (SIZE_MAX: all). */
void st_write(const char *path, const st_file *f, uint64_t header_len_field, size_t keep_data_bytes);

/* An OpenAI-named checkpoint with a ModifiedResNet image tower (and spec's
 * text tower, logit scale and embed_dim), BatchNorm counters included. The
 * overrides make hostile variants. */
typedef struct tiny_resnet {
    int layers[4], width, image_size;
    int positions;  /* attention-pool positional rows; 0: (image_size / 32)^2 + 1 */
    int stem_out;   /* visual.conv3's output channels; 0: width */
    float variance; /* running_var values are variance + [-0.5, 0.5] */
} tiny_resnet;

/* layers (1, 2, 1, 1), width 4, 64 pixels. */
tiny_resnet tiny_resnet_default(void);
void tiny_build_resnet(const tiny_spec *spec, const tiny_resnet *resnet, st_file *out);
/* Its open_clip_config.json (string to free). */
char *tiny_resnet_open_clip_config(const tiny_spec *spec, const tiny_resnet *resnet);

/* config.json for the HF layout (string to free). */
char *tiny_hf_config(const tiny_spec *spec);
/* open_clip_config.json (string to free). */
char *tiny_open_clip_config(const tiny_spec *spec);

/* Writes an HF directory (config.json + model.safetensors) into dir. */
void tiny_write_hf(const char *dir, const tiny_spec *spec, const char *dtype);

#endif
