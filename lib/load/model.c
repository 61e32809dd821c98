#include "load/model.h"

#include "common/options.h"

#include "common/alloc.h"
#include "common/error.h"
#include "common/file.h"
#include "common/log.h"
#include "load/checkpoint.h"
#include "load/sharded.h"
#include "load/tensor_bind.h"
#include "load/tower_bind.h"

static lclip_status read_config(lclip_model *m, const lclip_checkpoint_files *files)
{
    lclip_logger log = lclip_logger_of(&m->options);
    if (m->layout == LCLIP_LAYOUT_HF) {
        if (!files->hf_config)
            return lclip_fail(LCLIP_E_IO, "%s: Hugging Face weights need config.json beside them in %s",
                              files->weights, files->directory);
        /* preprocessor_config.json concerns only the vision tower */
        const char *preprocessor = (m->towers & LCLIP_TOWER_VISION) ? files->preprocessor : NULL;
        if ((m->towers & LCLIP_TOWER_VISION) && !preprocessor)
            lclip_log(&log, LCLIP_LOG_INFO, "%s: no preprocessor_config.json: CLIP's own mean, std and sizes",
                      files->directory);
        return lclip_config_from_hf(files->hf_config, preprocessor, &m->config);
    }
    if (files->open_clip_config)
        return lclip_config_from_open_clip(files->open_clip_config, &m->config);
    lclip_log(&log, LCLIP_LOG_INFO, "%s: no open_clip_config.json: hyperparameters inferred from the tensor shapes",
              files->weights);
    return lclip_config_infer_openai(m->weights, m->towers, &m->config);
}

static const char *config_label(const lclip_model *m, const lclip_checkpoint_files *files)
{
    if (m->layout == LCLIP_LAYOUT_HF)
        return files->hf_config;
    return files->open_clip_config ? files->open_clip_config : files->weights;
}

/* A layer's F32 weights once the engine has packed them: memory holds the
 * packed copy, not both (neither the mapped pages nor a converted copy). */
static void weights_done(lclip_model *m, lclip_linear *lin)
{
    lclip_tensor_done(m, lin->weight, (size_t)lin->out * (size_t)lin->in * sizeof(float));
    lin->weight = NULL;
}

static lclip_status bind_layer(lclip_model *m, lclip_linear *lin)
{
    lclip_status s = lclip_gemm_bind(m->gemm, lin);
    if (s == LCLIP_OK && lin->packed)
        weights_done(m, lin);
    return s;
}

/* Every linear layer of the loaded towers, for the engine. */
static lclip_status bind_engine_layers(lclip_model *m, lclip_transformer_weights *tf, lclip_linear *extra[2])
{
    lclip_status s = LCLIP_OK;
    tf->engine = m->gemm;
    for (int i = 0; i < tf->cfg.layers && s == LCLIP_OK; i++) {
        lclip_block_weights *b = &tf->blocks[i];
        lclip_linear *layers[6] = {&b->q, &b->k, &b->v, &b->attn_out, &b->fc1, &b->fc2};
        for (int l = 0; l < 6 && s == LCLIP_OK; l++)
            s = bind_layer(m, layers[l]);
    }
    for (int l = 0; l < 2 && extra[l] && s == LCLIP_OK; l++)
        s = bind_layer(m, extra[l]);
    return s;
}

/* A convolution's folded kernel is the model's own copy: once the engine has
 * packed it (as a convolution of its own, or as a linear layer for unfolded
 * grids), memory holds the packed copy alone. */
static lclip_status bind_conv(lclip_model *m, lclip_conv *conv)
{
    lclip_status s = lclip_gemm_bind_conv(m->gemm, &conv->lin, conv->kernel, conv->stride, conv->side, &conv->engine);
    if (s == LCLIP_OK && conv->engine)
        weights_done(m, &conv->lin);
    else if (s == LCLIP_OK)
        s = bind_layer(m, &conv->lin);
    return s;
}

/* The ResNet's convolutions (BatchNorm folded in) and its pool's q, k, v. */
static lclip_status bind_resnet_layers(lclip_model *m, lclip_resnet_tower *r)
{
    lclip_status s = LCLIP_OK;
    r->engine = m->gemm;
    for (int i = 0; i < 3 && s == LCLIP_OK; i++)
        s = bind_conv(m, &r->stem[i]);
    for (int i = 0; i < r->n_blocks && s == LCLIP_OK; i++) {
        lclip_bottleneck *b = &r->blocks[i];
        lclip_conv *convs[4] = {&b->conv1, &b->conv2, &b->conv3, &b->downsample};
        for (int c = 0; c < 4 && s == LCLIP_OK; c++)
            if (convs[c]->lin.out) /* a block without a downsample has none */
                s = bind_conv(m, convs[c]);
    }
    lclip_linear *pool[3] = {&r->q, &r->k, &r->v};
    for (int i = 0; i < 3 && s == LCLIP_OK; i++)
        s = bind_layer(m, pool[i]);
    return s;
}

static lclip_status bind_engine(lclip_model *m)
{
    lclip_logger log = lclip_logger_of(&m->options);
    lclip_status s = lclip_gemm_open(m->options.engine, m->options.precision, m->options.n_threads, &log, &m->gemm);
    if (s == LCLIP_OK && (m->towers & LCLIP_TOWER_VISION)) {
        lclip_linear *extra[2] = {&m->vision.vit.patch_embedding, NULL};
        if (m->vision.cfg.arch == LCLIP_VISION_RESNET)
            s = bind_resnet_layers(m, &m->vision.resnet);
        else
            s = bind_engine_layers(m, &m->vision.vit.transformer, extra);
        if (s == LCLIP_OK)
            s = bind_layer(m, &m->vision.projection);
    }
    if (s == LCLIP_OK && (m->towers & LCLIP_TOWER_TEXT)) {
        lclip_linear *extra[2] = {&m->text.projection, NULL};
        s = bind_engine_layers(m, &m->text.transformer, extra);
    }
    return s;
}

static lclip_status load(lclip_model *m, const char *model_path)
{
    lclip_checkpoint_files files;
    lclip_status s = lclip_checkpoint_resolve(model_path, &files);
    if (s != LCLIP_OK)
        return s;
    lclip_safetensors_limits limits = {m->options.max_header_bytes, m->options.max_tensor_count};
    m->directory = files.directory;
    files.directory = NULL;
    s = files.sharded ? lclip_safetensors_open_sharded(files.weights, &limits, &m->weights)
                      : lclip_safetensors_open(files.weights, &limits, &m->weights);
    if (s == LCLIP_OK)
        s = lclip_detect_layout(m->weights, &m->layout);
    if (s == LCLIP_OK)
        s = read_config(m, &files);
    if (s == LCLIP_OK)
        s = lclip_config_validate(&m->config, m->towers, config_label(m, &files));
    if (s == LCLIP_OK && (m->towers & LCLIP_TOWER_VISION))
        s = lclip_bind_vision_tower(m);
    if (s == LCLIP_OK && (m->towers & LCLIP_TOWER_TEXT))
        s = lclip_bind_text_tower(m);
    if (s == LCLIP_OK)
        s = lclip_bind_logit_scale(m);
    if (s == LCLIP_OK)
        s = bind_engine(m);
    if (s == LCLIP_OK && m->converted_bytes) {
        lclip_logger log = lclip_logger_of(&m->options);
        double mib = 1024.0 * 1024.0;
        lclip_log(&log, LCLIP_LOG_INFO, "%s: 16-bit weights converted to F32 at open (%.1f MiB); the encoder "
                  "holds %.1f MiB of F32 copies (those the engine did not pack)", files.weights,
                  (double)m->converted_bytes / mib, (double)lclip_owned_bytes(m) / mib);
    }
    lclip_checkpoint_files_free(&files);
    return s;
}

lclip_status lclip_model_open(const char *api_name, const char *model_path, const lclip_options *opts,
                              unsigned towers, lclip_model **out)
{
    *out = NULL;
    if (!model_path)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: model_path is NULL", api_name);
    lclip_model *m = lclip_calloc(1, sizeof *m);
    if (!m)
        return lclip_fail(LCLIP_E_NOMEM, "out of memory");
    m->towers = towers;
    lclip_status s = lclip_options_resolve(opts, &m->options);
    if (s == LCLIP_OK && m->options.vocab_path) {
        m->vocab_path = lclip_strdup(m->options.vocab_path);
        m->options.vocab_path = m->vocab_path;
        if (!m->vocab_path)
            s = lclip_fail(LCLIP_E_NOMEM, "out of memory");
    }
    if (s == LCLIP_OK)
        s = load(m, model_path);
    if (s != LCLIP_OK) {
        lclip_model_close(m);
        return s;
    }
    *out = m;
    return LCLIP_OK;
}

void lclip_model_close(lclip_model *m)
{
    if (!m)
        return;
    lclip_gemm_close(m->gemm);
    lclip_free(m->vision.vit.transformer.blocks);
    lclip_free(m->vision.resnet.blocks);
    lclip_free(m->text.transformer.blocks);
    lclip_owned_free_all(&m->owned);
    lclip_safetensors_close(m->weights);
    lclip_free(m->directory);
    lclip_free(m->vocab_path);
    lclip_free(m);
}
