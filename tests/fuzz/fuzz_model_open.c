/* End-to-end open of a mutated model directory through the public API, then
 * one encode per tower when the model is cheap enough to run.
 *
 * Input: byte 0 = layout (even: Hugging Face, config.json + model.safetensors;
 * odd: open_clip, open_clip_config.json + open_clip_model.safetensors, with
 * no config at all when its length is 0, so shapes are inferred), bytes 1-4 =
 * little-endian config length L, then L config bytes, then the weights file. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_support.h"

enum { MAX_IMAGE_SIZE_TO_RUN = 32, MAX_DIM = 65536 };

static void write_model(const uint8_t *data, size_t size, int *is_hf)
{
    *is_hf = (data[0] & 1) == 0;
    uint32_t config_len = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16 |
                          (uint32_t)data[4] << 24;
    size_t rest = size - 5;
    if (config_len > rest)
        config_len = (uint32_t)rest;
    const uint8_t *config = data + 5, *weights = config + config_len;
    size_t weights_len = rest - config_len;
    /* Start from an empty directory: the other layout's files must not linger. */
    fuzz_write_file(fuzz_scratch_path("config.json"), NULL, 0);
    fuzz_write_file(fuzz_scratch_path("model.safetensors"), NULL, 0);
    fuzz_write_file(fuzz_scratch_path("open_clip_config.json"), NULL, 0);
    fuzz_write_file(fuzz_scratch_path("open_clip_model.safetensors"), NULL, 0);
    if (*is_hf) {
        fuzz_write_file(fuzz_scratch_path("config.json"), config, config_len);
        fuzz_write_file(fuzz_scratch_path("model.safetensors"), weights, weights_len);
    } else {
        if (config_len)
            fuzz_write_file(fuzz_scratch_path("open_clip_config.json"), config, config_len);
        fuzz_write_file(fuzz_scratch_path("open_clip_model.safetensors"), weights, weights_len);
    }
}

/* On failure the output must be untouched: fill it with a pattern first. */
static void fill(float *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = -12345.0f;
}

static int untouched(const float *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (out[i] != -12345.0f)
            return 0;
    return 1;
}

static void run_image(const lclip_options *opts)
{
    lclip_image_encoder *enc = (lclip_image_encoder *)&enc; /* must be reset to NULL on failure */
    lclip_status s = lclip_image_encoder_open(fuzz_scratch_dir(), opts, &enc);
    fuzz_check_status(s);
    FUZZ_REQUIRE((s == LCLIP_OK) == (enc != NULL));
    if (!enc)
        return;
    size_t dim = lclip_image_encoder_dim(enc);
    int image_size = lclip_image_encoder_image_size(enc);
    FUZZ_REQUIRE(dim >= 1 && dim <= MAX_DIM && image_size >= 1);
    if (image_size <= MAX_IMAGE_SIZE_TO_RUN) {
        uint8_t rgb[6 * 5 * 3];
        for (size_t i = 0; i < sizeof rgb; i++)
            rgb[i] = (uint8_t)(i * 37);
        float *out = malloc(dim * sizeof *out);
        if (out) {
            fill(out, dim);
            s = lclip_image_encode_rgb(enc, rgb, 6, 5, 6 * 3, out);
            fuzz_check_status(s);
            if (s != LCLIP_OK)
                FUZZ_REQUIRE(untouched(out, dim));
            free(out);
        }
    }
    lclip_image_encoder_close(enc);
}

static void run_text(const lclip_options *opts)
{
    lclip_text_encoder *enc = (lclip_text_encoder *)&enc;
    lclip_status s = lclip_text_encoder_open(fuzz_scratch_dir(), opts, &enc);
    fuzz_check_status(s);
    FUZZ_REQUIRE((s == LCLIP_OK) == (enc != NULL));
    if (!enc)
        return;
    size_t dim = lclip_text_encoder_dim(enc);
    int context = lclip_text_encoder_context_length(enc);
    FUZZ_REQUIRE(dim >= 1 && dim <= MAX_DIM && context >= 2);
    int32_t *tokens = calloc((size_t)context, sizeof *tokens);
    float *out = malloc(dim * sizeof *out);
    if (tokens && out) {
        tokens[0] = 3; /* any ids: those beyond the vocabulary must be refused */
        tokens[1] = 1;
        tokens[2] = 5;
        fill(out, dim);
        s = lclip_text_encode_tokens(enc, tokens, 1, out);
        fuzz_check_status(s);
        if (s != LCLIP_OK)
            FUZZ_REQUIRE(untouched(out, dim));
    }
    free(out);
    free(tokens);
    lclip_text_encoder_close(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5)
        return 0;
    int is_hf;
    write_model(data, size, &is_hf);
    lclip_options opts;
    lclip_options_init(&opts);
    opts.n_threads = 0; /* never touch the process's BLAS threads from a fuzzer */
    /* The loader is what is fuzzed; packing for oneDNN would only slow each
     * run (the engine's own inputs are the validated tensors). */
    opts.engine = LCLIP_ENGINE_CBLAS;
    run_image(&opts);
    run_text(&opts);
    return 0;
}
