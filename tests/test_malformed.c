#define _POSIX_C_SOURCE 200809L
/* Hostile and broken checkpoints: every case gets its specific status and a
 * message naming what was wrong, never a crash or a leak (run under ASan).
 * The files are built here, in a temporary directory, from a valid tiny
 * model that each case corrupts in one way. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "libclip.h"
#include "support/expect_open.h"
#include "support/test_util.h"
#include "support/tiny_model.h"

typedef struct fixture {
    char *dir;
    char *weights; /* dir/model.safetensors */
    char *config;  /* dir/config.json */
    tiny_spec spec;
    st_file file;  /* the valid HF weights, ready to corrupt */
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = make_temp_dir();
    f->weights = join_path(f->dir, "model.safetensors");
    f->config = join_path(f->dir, "config.json");
    f->spec = tiny_spec_default();
    tiny_build(&f->spec, TINY_HF, "F32", &f->file);
    char *config = tiny_hf_config(&f->spec);
    write_text_file(f->config, config);
    free(config);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    rm_tree(f->dir);
    st_file_free(&f->file);
    free(f->dir);
    free(f->weights);
    free(f->config);
    free(f);
    return 0;
}


/* Writes the (corrupted) weights and expects both encoders to fail. */
static void write_and_expect(fixture *f, lclip_status expected, const char *needle)
{
    st_write(f->weights, &f->file, 0, SIZE_MAX);
    expect_failure(f->dir, expected, needle);
}

static void test_valid_model_opens(void **state)
{
    fixture *f = *state;
    st_write(f->weights, &f->file, 0, SIZE_MAX);
    lclip_image_encoder *image;
    lclip_text_encoder *text;
    assert_int_equal(lclip_image_encoder_open(f->dir, NULL, &image), LCLIP_OK);
    assert_int_equal(lclip_text_encoder_open(f->dir, NULL, &text), LCLIP_OK);
    assert_int_equal(lclip_image_encoder_dim(image), f->spec.embed_dim);
    assert_int_equal(lclip_image_encoder_image_size(image), f->spec.image_size);
    assert_int_equal(lclip_text_encoder_context_length(text), f->spec.context_length);
    lclip_text_encoder_close(text);
    lclip_image_encoder_close(image);
}

static void test_missing_path(void **state)
{
    fixture *f = *state;
    char *missing = join_path(f->dir, "does-not-exist");
    expect_failure(missing, LCLIP_E_IO, "no such file or directory");
    free(missing);
}

static void test_directory_without_weights(void **state)
{
    fixture *f = *state;
    expect_failure(f->dir, LCLIP_E_IO, "no model.safetensors");
}

/* A directory with only an index is a sharded checkpoint (test_sharded.c
 * has the rest); an index that lists nothing is malformed. */
static void test_empty_shard_index(void **state)
{
    fixture *f = *state;
    char *index = join_path(f->dir, "model.safetensors.index.json");
    write_text_file(index, "{\"weight_map\": {}}");
    expect_failure(f->dir, LCLIP_E_FORMAT, "model.safetensors.index.json: \"weight_map\" lists no tensors");
    free(index);
}

static void test_empty_file(void **state)
{
    fixture *f = *state;
    write_bytes_file(f->weights, "", 0);
    expect_failure(f->dir, LCLIP_E_FORMAT, "empty");
}

static void test_shorter_than_length_field(void **state)
{
    fixture *f = *state;
    write_bytes_file(f->weights, "\x10\x00\x00", 3);
    expect_failure(f->dir, LCLIP_E_FORMAT, "too short");
}

static void test_header_length_larger_than_file(void **state)
{
    fixture *f = *state;
    st_write(f->weights, &f->file, 1u << 20, SIZE_MAX);
    expect_failure(f->dir, LCLIP_E_FORMAT, "larger than the file");
}

static void test_absurd_header_length(void **state)
{
    fixture *f = *state;
    st_write(f->weights, &f->file, UINT64_C(1) << 62, SIZE_MAX);
    expect_failure(f->dir, LCLIP_E_FORMAT, "not a safetensors file");
}

/* A length beyond the file says "not a safetensors file" even when it is
 * also beyond the header limit: the file's size is weighed first. */
static void test_header_length_beyond_file_and_limit(void **state)
{
    fixture *f = *state;
    st_write(f->weights, &f->file, 1u << 20, SIZE_MAX);
    lclip_options opts;
    lclip_options_init(&opts);
    opts.max_header_bytes = 256;
    expect_failure_opts(f->dir, &opts, LCLIP_E_FORMAT, "not a safetensors file");
}

/* Other formats, by their real first bytes (torch.save, torch.jit.save,
 * torch.onnx.export, a GGUF v3 file), padded to a plausible size; the file
 * is given by its path. */
static void expect_named_format(fixture *f, const char *name, const void *head, size_t head_len,
                                lclip_status expected, const char *needle)
{
    unsigned char bytes[4096] = {0};
    memcpy(bytes, head, head_len);
    char *path = join_path(f->dir, name);
    write_bytes_file(path, bytes, sizeof bytes);
    expect_failure(path, expected, needle);
    free(path);
}

static void test_pytorch_zip_checkpoint(void **state)
{
    static const char zip[] = "PK\x03\x04\0\0\x08\x08\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x0c\0\x16\0new/data.pkl";
    expect_named_format(*state, "model.pt", zip, sizeof zip - 1, LCLIP_E_UNSUPPORTED, "a PyTorch checkpoint");
    expect_named_format(*state, "model.pt", zip, sizeof zip - 1, LCLIP_E_UNSUPPORTED, "st.save_file(");
}

static void test_pytorch_legacy_pickle(void **state)
{
    static const unsigned char pickle[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8};
    expect_named_format(*state, "pytorch_model.bin", pickle, sizeof pickle, LCLIP_E_UNSUPPORTED,
                        "a PyTorch checkpoint (pickle)");
}

static void test_gguf_file(void **state)
{
    static const char gguf[] = "GGUF\x03\0\0\0\x2a\0\0\0\0\0\0\0";
    expect_named_format(*state, "clip.gguf", gguf, sizeof gguf - 1, LCLIP_E_UNSUPPORTED, "a GGUF file");
}

static void test_onnx_model(void **state)
{
    static const char onnx[] = "\x08\x07\x12\x07pytorch\x1a\x06" "1.13.0:";
    expect_named_format(*state, "model.onnx", onnx, sizeof onnx - 1, LCLIP_E_UNSUPPORTED, "an ONNX model");
}

static void test_text_file(void **state)
{
    fixture *f = *state;
    char *path = join_path(f->dir, "README.md");
    write_text_file(path, "# A CLIP model\n\nDownload the weights from the hub.\n");
    expect_failure(path, LCLIP_E_FORMAT, "not a safetensors file: it starts with text");
    free(path);
    expect_failure(f->config, LCLIP_E_FORMAT, "it starts with text (JSON)");
}

/* A directory with PyTorch weights only says what they are, not "no model.safetensors". */
static void test_directory_with_pytorch_weights_only(void **state)
{
    fixture *f = *state;
    char *bin = join_path(f->dir, "pytorch_model.bin");
    write_bytes_file(bin, "PK\x03\x04\0\0\x08\x08", 8);
    expect_failure(f->dir, LCLIP_E_UNSUPPORTED, "pytorch_model.bin: a PyTorch checkpoint (pickle)");
    free(bin);
}

static void test_header_limit_option(void **state)
{
    fixture *f = *state;
    st_write(f->weights, &f->file, 0, SIZE_MAX);
    lclip_options opts;
    lclip_options_init(&opts);
    opts.max_header_bytes = 256;
    expect_failure_opts(f->dir, &opts, LCLIP_E_TOO_LARGE, "limit of 256 bytes");
}

static void test_tensor_count_limit_option(void **state)
{
    fixture *f = *state;
    st_write(f->weights, &f->file, 0, SIZE_MAX);
    lclip_options opts;
    lclip_options_init(&opts);
    opts.max_tensor_count = 5;
    expect_failure_opts(f->dir, &opts, LCLIP_E_TOO_LARGE, "exceed the limit of 5");
}

static void test_header_not_json(void **state)
{
    fixture *f = *state;
    st_replace(&f->file, "{", "{{nonsense");
    write_and_expect(f, LCLIP_E_FORMAT, "not valid JSON");
}

static void test_header_json_array(void **state)
{
    fixture *f = *state;
    free(f->file.header);
    f->file.header = strdup("[1, 2, 3]");
    write_and_expect(f, LCLIP_E_FORMAT, "not an object");
}

static void test_header_trailing_garbage(void **state)
{
    fixture *f = *state;
    char *with_tail = malloc(strlen(f->file.header) + 8);
    sprintf(with_tail, "%s xyz", f->file.header);
    free(f->file.header);
    f->file.header = with_tail;
    write_and_expect(f, LCLIP_E_FORMAT, "after the JSON header");
}

static void test_unknown_dtype(void **state)
{
    fixture *f = *state;
    st_replace(&f->file, "\"dtype\":\"F32\"", "\"dtype\":\"F33\"");
    write_and_expect(f, LCLIP_E_FORMAT, "unknown dtype \"F33\"");
}

static void test_weight_of_integer_dtype(void **state)
{
    fixture *f = *state;
    st_replace(&f->file, "\"logit_scale\":{\"dtype\":\"F32\"", "\"logit_scale\":{\"dtype\":\"I32\"");
    write_and_expect(f, LCLIP_E_UNSUPPORTED, "'logit_scale' has dtype I32");
}

static void test_shape_offset_mismatch(void **state)
{
    fixture *f = *state;
    /* class_embedding claims 65 floats over a 64-float span */
    st_replace(&f->file, "\"vision_model.embeddings.class_embedding\":{\"dtype\":\"F32\",\"shape\":[64]",
               "\"vision_model.embeddings.class_embedding\":{\"dtype\":\"F32\",\"shape\":[65]");
    write_and_expect(f, LCLIP_E_FORMAT, "class_embedding': data_offsets span 256 bytes");
}

static void test_non_integer_dimension(void **state)
{
    fixture *f = *state;
    st_replace(&f->file, "\"shape\":[64]", "\"shape\":[63.5]");
    write_and_expect(f, LCLIP_E_FORMAT, "not a non-negative integer");
}

static void test_reversed_offsets(void **state)
{
    fixture *f = *state;
    st_replace(&f->file, "\"data_offsets\":[0,", "\"data_offsets\":[999999,");
    write_and_expect(f, LCLIP_E_FORMAT, "reversed");
}

static void test_offsets_past_end(void **state)
{
    fixture *f = *state;
    /* the last tensor (logit_scale) moved beyond the data section */
    char from[64], to[64];
    snprintf(from, sizeof from, "[%zu,%zu]", f->file.data_len - 4, f->file.data_len);
    snprintf(to, sizeof to, "[%zu,%zu]", f->file.data_len + 4, f->file.data_len + 8);
    st_replace(&f->file, from, to);
    write_and_expect(f, LCLIP_E_FORMAT, "past the data section");
}

static void test_truncated_data(void **state)
{
    fixture *f = *state;
    st_write(f->weights, &f->file, 0, f->file.data_len / 2);
    expect_failure(f->dir, LCLIP_E_FORMAT, "truncated");
}

/* Two tensors over the same bytes: a small file could otherwise claim
 * unbounded converted memory. */
static void test_overlapping_tensors(void **state)
{
    fixture *f = *state;
    char from[64], to[64];
    snprintf(from, sizeof from, "[%zu,%zu]", f->file.data_len - 4, f->file.data_len);
    snprintf(to, sizeof to, "[%zu,%zu]", f->file.data_len - 8, f->file.data_len - 4);
    st_replace(&f->file, from, to); /* logit_scale onto the last float of the tensor before it */
    write_and_expect(f, LCLIP_E_FORMAT, "overlap");
}

static void test_duplicate_tensor(void **state)
{
    fixture *f = *state;
    st_replace(&f->file, "\"logit_scale\":", "\"visual_projection.weight\":");
    write_and_expect(f, LCLIP_E_FORMAT, "listed twice");
}

static void test_missing_tensor(void **state)
{
    fixture *f = *state;
    st_replace(&f->file, "\"logit_scale\":", "\"logit_scalf\":");
    write_and_expect(f, LCLIP_E_FORMAT, "'logit_scale' is missing");
}

/* The patch kernel with H and W swapped: same element count, so only the
 * shape check can catch it. The text encoder never reads it and opens. */
static void test_wrong_shaped_tensor(void **state)
{
    fixture *f = *state;
    st_replace(&f->file, "\"shape\":[64,3,8,8]", "\"shape\":[64,8,8,3]");
    st_write(f->weights, &f->file, 0, SIZE_MAX);
    lclip_image_encoder *image;
    assert_int_equal(lclip_image_encoder_open(f->dir, NULL, &image), LCLIP_E_FORMAT);
    assert_non_null(strstr(lclip_last_error(), "'vision_model.embeddings.patch_embedding.weight' has shape "
                                               "[64, 8, 8, 3], but the config implies [64, 3, 8, 8]"));
    lclip_text_encoder *text;
    assert_int_equal(lclip_text_encoder_open(f->dir, NULL, &text), LCLIP_OK);
    lclip_text_encoder_close(text);
}

static void test_no_clip_tensors(void **state)
{
    fixture *f = *state;
    st_file other = {strdup("{\"weight\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}"),
                     calloc(1, 4), 4};
    st_write(f->weights, &other, 0, SIZE_MAX);
    st_file_free(&other);
    expect_failure(f->dir, LCLIP_E_FORMAT, "no CLIP tensors");
}

/* The text tower's MLP in the config disagrees with the weights: the text
 * encoder must refuse, while the image encoder, which never reads the text
 * tower, still opens. */
static void test_config_contradicts_tensors(void **state)
{
    fixture *f = *state;
    st_write(f->weights, &f->file, 0, SIZE_MAX);
    char *config = tiny_hf_config(&f->spec);
    char *bad = replace_first(config, "\"intermediate_size\":256", "\"intermediate_size\":128");
    write_text_file(f->config, bad);
    free(bad);
    free(config);

    lclip_text_encoder *text;
    assert_int_equal(lclip_text_encoder_open(f->dir, NULL, &text), LCLIP_E_FORMAT);
    assert_non_null(strstr(lclip_last_error(), "text_model.encoder.layers.0.mlp.fc1.weight' has shape [256, 64]"));
    lclip_image_encoder *image;
    assert_int_equal(lclip_image_encoder_open(f->dir, NULL, &image), LCLIP_OK);
    lclip_image_encoder_close(image);
}

static void test_more_layers_than_config(void **state)
{
    fixture *f = *state;
    st_write(f->weights, &f->file, 0, SIZE_MAX);
    char *config = tiny_hf_config(&f->spec);
    char *bad = replace_first(config, "\"num_hidden_layers\":2", "\"num_hidden_layers\":1"); /* vision */
    write_text_file(f->config, bad);
    free(bad);
    free(config);
    lclip_image_encoder *image;
    assert_int_equal(lclip_image_encoder_open(f->dir, NULL, &image), LCLIP_E_FORMAT);
    assert_non_null(strstr(lclip_last_error(), "the config says 1 layers"));
}

static void test_config_not_json(void **state)
{
    fixture *f = *state;
    st_write(f->weights, &f->file, 0, SIZE_MAX);
    write_text_file(f->config, "{\"projection_dim\": 16,");
    expect_failure(f->dir, LCLIP_E_FORMAT, "config.json: not valid JSON");
}

static void test_config_value_out_of_range(void **state)
{
    fixture *f = *state;
    st_write(f->weights, &f->file, 0, SIZE_MAX);
    char *config = tiny_hf_config(&f->spec);
    char *bad = replace_first(config, "\"projection_dim\":16", "\"projection_dim\":-16");
    write_text_file(f->config, bad);
    free(bad);
    free(config);
    expect_failure(f->dir, LCLIP_E_FORMAT, "\"projection_dim\" must be an integer");
}

static void test_heads_do_not_divide_width(void **state)
{
    fixture *f = *state;
    st_write(f->weights, &f->file, 0, SIZE_MAX);
    char *config = tiny_hf_config(&f->spec);
    char *bad = replace_first(config, "\"num_attention_heads\":1", "\"num_attention_heads\":3");
    write_text_file(f->config, bad);
    free(bad);
    free(config);
    lclip_text_encoder *text;
    assert_int_equal(lclip_text_encoder_open(f->dir, NULL, &text), LCLIP_E_FORMAT);
    assert_non_null(strstr(lclip_last_error(), "not a multiple of 3 heads"));
}

static void test_unsupported_activation(void **state)
{
    fixture *f = *state;
    st_write(f->weights, &f->file, 0, SIZE_MAX);
    char *config = tiny_hf_config(&f->spec);
    char *bad = replace_first(config, "\"hidden_act\":\"quick_gelu\"", "\"hidden_act\":\"relu\"");
    write_text_file(f->config, bad);
    free(bad);
    free(config);
    expect_failure(f->dir, LCLIP_E_UNSUPPORTED, "hidden_act \"relu\"");
}

/* Preprocessing that is not CLIP's is refused by name; the text encoder,
 * which never reads preprocessor_config.json, still opens. */
static void test_preprocessor_that_is_not_clip(void **state)
{
    fixture *f = *state;
    st_write(f->weights, &f->file, 0, SIZE_MAX);
    char *path = join_path(f->dir, "preprocessor_config.json");
    const char *bad[3][2] = {
        {"{\"do_center_crop\": false, \"crop_size\": 16}", "\"do_center_crop\": false"},
        {"{\"size\": {\"height\": 16, \"width\": 16}, \"crop_size\": 16}", "aspect ratio"},
        {"{\"rescale_factor\": 0.5, \"crop_size\": 16}", "rescale_factor 0.5"},
    };
    for (int i = 0; i < 3; i++) {
        write_text_file(path, bad[i][0]);
        lclip_image_encoder *image;
        assert_int_equal(lclip_image_encoder_open(f->dir, NULL, &image), LCLIP_E_UNSUPPORTED);
        assert_non_null(strstr(lclip_last_error(), bad[i][1]));
        lclip_text_encoder *text;
        assert_int_equal(lclip_text_encoder_open(f->dir, NULL, &text), LCLIP_OK);
        lclip_text_encoder_close(text);
    }
    free(path);
}

/* Writes an open_clip checkpoint of f->spec whose config has from replaced
 * by to; returns the weights path (to free). */
static char *write_open_clip_with(fixture *f, const char *from, const char *to)
{
    st_file file;
    tiny_build(&f->spec, TINY_OPENAI, "F32", &file);
    char *weights = join_path(f->dir, "open_clip_model.safetensors");
    char *config_path = join_path(f->dir, "open_clip_config.json");
    st_write(weights, &file, 0, SIZE_MAX);
    char *config = tiny_open_clip_config(&f->spec);
    char *bad = replace_first(config, from, to);
    write_text_file(config_path, bad);
    free(bad);
    free(config);
    free(config_path);
    st_file_free(&file);
    return weights;
}

static void test_open_clip_variant_with_other_norms(void **state)
{
    fixture *f = *state;
    char *weights = write_open_clip_with(f, "\"text_cfg\":{", "\"text_cfg\":{\"norm_kwargs\":{\"eps\":1e-6},");
    expect_failure(weights, LCLIP_E_UNSUPPORTED, "text_cfg.norm_kwargs");
    free(weights);
}

static void test_hf_weights_without_config(void **state)
{
    fixture *f = *state;
    st_write(f->weights, &f->file, 0, SIZE_MAX);
    remove(f->config);
    expect_failure(f->dir, LCLIP_E_IO, "config.json");
}

static void test_absurd_logit_scale(void **state)
{
    fixture *f = *state;
    f->spec.logit_scale = 1000.0f;
    tiny_write_hf(f->dir, &f->spec, "F32");
    expect_failure(f->dir, LCLIP_E_FORMAT, "logit_scale 1000");
}

static void test_openai_narrow_tower_without_config(void **state)
{
    fixture *f = *state;
    tiny_spec narrow = f->spec;
    narrow.vision_width = narrow.text_width = 32;
    st_file file;
    tiny_build(&narrow, TINY_OPENAI, "F32", &file);
    char *path = join_path(f->dir, "narrow.safetensors");
    st_write(path, &file, 0, SIZE_MAX);
    expect_failure(path, LCLIP_E_FORMAT, "width / 64");
    st_file_free(&file);
    free(path);
}

/* ResNet towers: a tiny OpenAI-named checkpoint written as dir/resnet.safetensors,
 * its header edited (every occurrence of from, when given), with or without
 * an open_clip_config.json beside it. Returns the path to open. */
static char *write_resnet(fixture *f, const tiny_resnet *r, const char *from, const char *to, int with_config)
{
    st_file file;
    tiny_build_resnet(&f->spec, r, &file);
    while (from && strstr(file.header, from))
        st_replace(&file, from, to);
    char *weights = join_path(f->dir, "resnet.safetensors");
    st_write(weights, &file, 0, SIZE_MAX);
    if (with_config) {
        char *config_path = join_path(f->dir, "open_clip_config.json");
        char *config = tiny_resnet_open_clip_config(&f->spec, r);
        write_text_file(config_path, config);
        free(config);
        free(config_path);
    }
    st_file_free(&file);
    return weights;
}

/* Only the image encoder reads the vision tower: it must fail as expected. */
static void expect_image_failure(const char *path, lclip_status expected, const char *needle)
{
    lclip_image_encoder *image = (lclip_image_encoder *)&image;
    lclip_status s = lclip_image_encoder_open(path, NULL, &image);
    if (s != expected || !strstr(lclip_last_error(), needle))
        fail_msg("image encoder: got %s (%s), expected %s mentioning \"%s\"", lclip_strerror(s),
                 lclip_last_error(), lclip_strerror(expected), needle);
    assert_null(image);
}

static void test_resnet_baseline_opens(void **state)
{
    fixture *f = *state;
    tiny_resnet r = tiny_resnet_default();
    for (int with_config = 0; with_config < 2; with_config++) {
        char *weights = write_resnet(f, &r, NULL, NULL, with_config);
        lclip_image_encoder *image;
        assert_int_equal(lclip_image_encoder_open(weights, NULL, &image), LCLIP_OK);
        assert_int_equal(lclip_image_encoder_image_size(image), r.image_size);
        assert_non_null(strstr(lclip_image_encoder_describe(image), " vision=resnet layers=1,2,1,1 width=4 heads=2"));
        lclip_image_encoder_close(image);
        free(weights);
    }
}

/* Blocks 0 and 2 of layer 2: the count stops at the gap, block 2 is refused. */
static void test_resnet_block_gap(void **state)
{
    fixture *f = *state;
    tiny_resnet r = tiny_resnet_default();
    char *weights = write_resnet(f, &r, "visual.layer2.1.", "visual.layer2.2.", 0);
    expect_image_failure(weights, LCLIP_E_FORMAT, "'visual.layer2.2.");
    free(weights);
}

static void test_resnet_more_blocks_than_config(void **state)
{
    fixture *f = *state;
    tiny_resnet r = tiny_resnet_default();
    char *weights = write_resnet(f, &r, NULL, NULL, 1);
    char *config_path = join_path(f->dir, "open_clip_config.json");
    tiny_resnet fewer = r;
    fewer.layers[1] = 1;
    char *config = tiny_resnet_open_clip_config(&f->spec, &fewer);
    write_text_file(config_path, config);
    expect_image_failure(weights, LCLIP_E_FORMAT, "'visual.layer2.1.");
    free(config);
    free(config_path);
    free(weights);
}

static void test_resnet_positions_not_a_square_grid(void **state)
{
    fixture *f = *state;
    tiny_resnet r = tiny_resnet_default();
    r.positions = 6;
    char *weights = write_resnet(f, &r, NULL, NULL, 0);
    expect_image_failure(weights, LCLIP_E_FORMAT, "'visual.attnpool.positional_embedding' has 6 rows");
    free(weights);
    weights = write_resnet(f, &r, NULL, NULL, 1);
    expect_image_failure(weights, LCLIP_E_FORMAT, "'visual.attnpool.positional_embedding' has shape [6, 128]");
    free(weights);
}

/* The stem ends in 6 channels where layer 1 takes 4. */
static void test_resnet_channels_do_not_chain(void **state)
{
    fixture *f = *state;
    tiny_resnet r = tiny_resnet_default();
    r.stem_out = 6;
    for (int with_config = 0; with_config < 2; with_config++) {
        char *weights = write_resnet(f, &r, NULL, NULL, with_config);
        expect_image_failure(weights, LCLIP_E_FORMAT, "'visual.conv3.weight' has shape [6, 2, 3, 3]");
        free(weights);
    }
}

static void test_resnet_negative_variance(void **state)
{
    fixture *f = *state;
    tiny_resnet r = tiny_resnet_default();
    r.variance = -1.0f;
    char *weights = write_resnet(f, &r, NULL, NULL, 0);
    expect_image_failure(weights, LCLIP_E_FORMAT, "'visual.bn1.running_var' holds -");
    free(weights);
}

static void test_resnet_config_layers_malformed(void **state)
{
    fixture *f = *state;
    tiny_resnet r = tiny_resnet_default();
    static const char *const cases[3][2] = {{"[1,2,1]", "lists 3 block counts"},
                                            {"[1,0,1,1]", "vision_cfg.layers[1]"},
                                            {"[1,\"2\",1,1]", "vision_cfg.layers[1]"}};
    char *weights = write_resnet(f, &r, NULL, NULL, 1);
    char *config_path = join_path(f->dir, "open_clip_config.json");
    char *config = tiny_resnet_open_clip_config(&f->spec, &r);
    for (int i = 0; i < 3; i++) {
        char *bad = replace_first(config, "[1,2,1,1]", cases[i][0]);
        write_text_file(config_path, bad);
        expect_failure(weights, LCLIP_E_FORMAT, cases[i][1]);
        free(bad);
    }
    free(config);
    free(config_path);
    free(weights);
}

/* A ResNet config over ViT weights: the patch convolution is no stem. */
static void test_open_clip_resnet_config_over_vit_weights(void **state)
{
    fixture *f = *state;
    f->spec.image_size = 32;
    char *weights = write_open_clip_with(f, "\"layers\":2", "\"layers\":[3,4,6,3]");
    expect_image_failure(weights, LCLIP_E_FORMAT, "'visual.conv1.weight' has shape [64, 3, 8, 8]");
    free(weights);
}

int main(void)
{
#define CASE(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        CASE(test_valid_model_opens),
        CASE(test_missing_path),
        CASE(test_directory_without_weights),
        CASE(test_empty_shard_index),
        CASE(test_empty_file),
        CASE(test_shorter_than_length_field),
        CASE(test_header_length_larger_than_file),
        CASE(test_absurd_header_length),
        CASE(test_header_length_beyond_file_and_limit),
        CASE(test_pytorch_zip_checkpoint),
        CASE(test_pytorch_legacy_pickle),
        CASE(test_gguf_file),
        CASE(test_onnx_model),
        CASE(test_text_file),
        CASE(test_directory_with_pytorch_weights_only),
        CASE(test_header_limit_option),
        CASE(test_tensor_count_limit_option),
        CASE(test_header_not_json),
        CASE(test_header_json_array),
        CASE(test_header_trailing_garbage),
        CASE(test_unknown_dtype),
        CASE(test_weight_of_integer_dtype),
        CASE(test_shape_offset_mismatch),
        CASE(test_non_integer_dimension),
        CASE(test_reversed_offsets),
        CASE(test_offsets_past_end),
        CASE(test_truncated_data),
        CASE(test_overlapping_tensors),
        CASE(test_duplicate_tensor),
        CASE(test_missing_tensor),
        CASE(test_wrong_shaped_tensor),
        CASE(test_no_clip_tensors),
        CASE(test_config_contradicts_tensors),
        CASE(test_more_layers_than_config),
        CASE(test_config_not_json),
        CASE(test_config_value_out_of_range),
        CASE(test_heads_do_not_divide_width),
        CASE(test_unsupported_activation),
        CASE(test_preprocessor_that_is_not_clip),
        CASE(test_open_clip_variant_with_other_norms),
        CASE(test_hf_weights_without_config),
        CASE(test_absurd_logit_scale),
        CASE(test_openai_narrow_tower_without_config),
        CASE(test_resnet_baseline_opens),
        CASE(test_resnet_block_gap),
        CASE(test_resnet_more_blocks_than_config),
        CASE(test_resnet_positions_not_a_square_grid),
        CASE(test_resnet_channels_do_not_chain),
        CASE(test_resnet_negative_variance),
        CASE(test_resnet_config_layers_malformed),
        CASE(test_open_clip_resnet_config_over_vit_weights),
    };
#undef CASE
    return cmocka_run_group_tests(tests, NULL, NULL);
}
