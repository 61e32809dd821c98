/* The text encoder handle: a model with only the text tower bound (and the
 * tokenizer when a vocabulary is present), and the public text functions:
 * texts and token ids become "prepare" steps that write one text's ids, and
 * lclip_batch_encode runs them through the tower in passes. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/batch.h"
#include "common/error.h"
#include "common/log.h"
#include "common/options.h"
#include "common/file.h"
#include "load/model.h"
#include "text/text_tower.h"
#include "text/tokenizer.h"
#include "text/vocab_choice.h"

struct lclip_text_encoder {
    lclip_model *model;
    lclip_tokenizer *tokenizer;
    char *description; /* the engine's key=value fields, then vocab= */
};

/* "<engine fields> vocab=<source or none>". Bytes that would split the
 * space-separated fields (whitespace, controls) and '%' are written %XX. */
static lclip_status describe_encoder(lclip_text_encoder *enc, const char *source)
{
    const char *engine = lclip_gemm_describe(enc->model->gemm), *value = source ? source : "none";
    size_t e = strlen(engine), n = strlen(value);
    char *d = lclip_malloc(e + sizeof " vocab=" + 3 * n);
    if (!d)
        return lclip_fail(LCLIP_E_NOMEM, "out of memory");
    memcpy(d, engine, e);
    char *at = d + e + sprintf(d + e, " vocab=");
    for (const unsigned char *c = (const unsigned char *)value; *c; c++)
        at += *c <= ' ' || *c == '%' || *c == 0x7f ? sprintf(at, "%%%02X", *c) : sprintf(at, "%c", *c);
    enc->description = d;
    return LCLIP_OK;
}

LCLIP_API lclip_status lclip_text_encoder_open(const char *model_path, const lclip_options *opts,
                                               lclip_text_encoder **out)
{
    if (!out)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "lclip_text_encoder_open: out is NULL");
    *out = NULL;
    lclip_text_encoder *enc = lclip_calloc(1, sizeof *enc);
    if (!enc)
        return lclip_fail(LCLIP_E_NOMEM, "out of memory");
    lclip_status s =
        lclip_model_open("lclip_text_encoder_open", model_path, opts, LCLIP_TOWER_TEXT, &enc->model);
    char *source = NULL;
    if (s == LCLIP_OK)
        s = lclip_vocabulary_open(enc->model, &enc->tokenizer, &source);
    if (s == LCLIP_OK)
        s = describe_encoder(enc, source);
    if (s == LCLIP_OK && source) {
        lclip_logger log = lclip_logger_of(&enc->model->options);
        lclip_log(&log, LCLIP_LOG_INFO, "%s: BPE vocabulary %s", enc->model->directory, source);
    }
    lclip_free(source);
    if (s != LCLIP_OK) {
        lclip_text_encoder_close(enc);
        return s;
    }
    *out = enc;
    return LCLIP_OK;
}

LCLIP_API void lclip_text_encoder_close(lclip_text_encoder *enc)
{
    if (!enc)
        return;
    lclip_tokenizer_close(enc->tokenizer);
    lclip_model_close(enc->model);
    lclip_free(enc->description);
    lclip_free(enc);
}

LCLIP_API size_t lclip_text_encoder_dim(const lclip_text_encoder *enc)
{
    return enc ? (size_t)enc->model->config.embed_dim : 0;
}

LCLIP_API int lclip_text_encoder_context_length(const lclip_text_encoder *enc)
{
    return enc ? enc->model->text.cfg.context_length : 0;
}

LCLIP_API float lclip_text_encoder_logit_scale(const lclip_text_encoder *enc)
{
    return enc ? enc->model->logit_scale : NAN;
}

LCLIP_API const char *lclip_text_encoder_describe(const lclip_text_encoder *enc)
{
    return enc ? enc->description : "";
}

static lclip_status no_vocabulary(const lclip_text_encoder *enc)
{
    return lclip_fail(LCLIP_E_UNSUPPORTED,
                      "%s: no BPE vocabulary: put vocab.json + merges.txt or bpe_simple_vocab_16e6.txt.gz "
                      "beside the weights, or set lclip_options.vocab_path", enc->model->directory);
}

static lclip_status tokenize_into(const lclip_text_encoder *enc, const char *utf8, int32_t *ids, size_t *n_tokens)
{
    const lclip_model *m = enc->model;
    if (!enc->tokenizer)
        return no_vocabulary(enc);
    return lclip_tokenizer_encode(enc->tokenizer, utf8, m->options.max_text_bytes, m->text.cfg.context_length,
                                  m->options.truncate_text, ids, n_tokens);
}

LCLIP_API lclip_status lclip_tokenize(const lclip_text_encoder *enc, const char *utf8, int32_t *tokens,
                                      size_t capacity, size_t *n_tokens)
{
    if (!enc || !utf8 || !tokens)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "lclip_tokenize: NULL argument");
    size_t context = (size_t)enc->model->text.cfg.context_length, count;
    if (capacity < context)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "lclip_tokenize: capacity %zu is below the context length %zu",
                          capacity, context);
    /* Tokenize aside so that a failure leaves the caller's array untouched. */
    int32_t *ids = lclip_malloc_array(context, sizeof *ids);
    if (!ids)
        return lclip_fail(LCLIP_E_NOMEM, "out of memory");
    lclip_status s = tokenize_into(enc, utf8, ids, &count);
    if (s == LCLIP_OK) {
        memcpy(tokens, ids, context * sizeof *ids);
        if (n_tokens)
            *n_tokens = count;
    }
    lclip_free(ids);
    return s;
}

/* What the prepare steps read: the encoder and the caller's texts or ids. */
typedef struct text_job {
    const lclip_text_encoder *enc;
    const void *items;
} text_job;

static lclip_status run_tower(const void *ctx, lclip_team *team, const void *inputs, size_t count, float *out)
{
    const text_job *job = ctx;
    return lclip_text_tower_forward(team, &job->enc->model->text, inputs, (int)count, out);
}

/* prepare writes one text's ids; or ready holds all n texts' ids already.
 * control is the caller's lclip_batch_options (NULL: none). */
static lclip_status encode_job(const text_job *job, size_t n,
                               lclip_status (*prepare)(const void *, size_t, void *), const void *ready,
                               const lclip_batch_options *control, float *out)
{
    const lclip_model *m = job->enc->model;
    size_t context = (size_t)m->text.cfg.context_length, per_pass = LCLIP_MAX_TEXT_ROWS_PER_PASS / context;
    lclip_batch batch = {.n = n,
                         .per_pass = per_pass,
                         .input_bytes = context * sizeof(int32_t),
                         .dim = (size_t)m->config.embed_dim,
                         .options = &m->options,
                         .runs_blas = lclip_gemm_runs_blas(m->gemm),
                         .control = control,
                         .ctx = job,
                         .ready = ready,
                         .prepare = prepare,
                         .run = run_tower};
    return lclip_batch_encode(&batch, out);
}

static lclip_status prepare_string(const void *ctx, size_t i, void *ids)
{
    const text_job *job = ctx;
    const char *const *texts = job->items;
    size_t n_tokens;
    if (!texts[i])
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "text %zu is NULL", i);
    return tokenize_into(job->enc, texts[i], ids, &n_tokens);
}

/* Token ids checked one text at a time, for per-input results (the tower
 * checks a whole pass and fails it). */
static lclip_status prepare_ids(const void *ctx, size_t i, void *ids)
{
    const text_job *job = ctx;
    const lclip_text_tower *t = &job->enc->model->text;
    size_t context = (size_t)t->cfg.context_length;
    const int32_t *text = (const int32_t *)job->items + i * context;
    lclip_status s = lclip_text_check_ids(t, text, i);
    if (s == LCLIP_OK)
        memcpy(ids, text, context * sizeof *text);
    return s;
}

LCLIP_API lclip_status lclip_text_encode_batch_ex(const lclip_text_encoder *enc, const char *const *texts, size_t n,
                                                  float *out, const lclip_batch_options *batch)
{
    if (!enc || ((!texts || !out) && n))
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "lclip_text_encode_batch: NULL argument");
    /* The encoder's failure, not each text's: it fails the call also with
     * per-input results. */
    if (!enc->tokenizer && n)
        return no_vocabulary(enc);
    text_job job = {enc, texts};
    return encode_job(&job, n, prepare_string, NULL, batch, out);
}

LCLIP_API lclip_status lclip_text_encode_batch(const lclip_text_encoder *enc, const char *const *texts, size_t n,
                                               float *out)
{
    return lclip_text_encode_batch_ex(enc, texts, n, out, NULL);
}

LCLIP_API lclip_status lclip_text_encode_tokens_ex(const lclip_text_encoder *enc, const int32_t *tokens, size_t n,
                                                   float *out, const lclip_batch_options *batch)
{
    if (!enc || ((!tokens || !out) && n))
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "lclip_text_encode_tokens: NULL argument");
    text_job job = {enc, tokens};
    lclip_batch_options resolved;
    lclip_status s = lclip_batch_options_resolve(batch, &resolved);
    if (s != LCLIP_OK)
        return s;
    /* Per-input results need each text checked alone, so the ids are copied
     * pass by pass; otherwise they are checked up front (naming the text)
     * and the tower reads them in place. */
    if (lclip_batch_per_input(&resolved))
        return encode_job(&job, n, prepare_ids, NULL, &resolved, out);
    size_t context = (size_t)enc->model->text.cfg.context_length;
    for (size_t i = 0; i < n && s == LCLIP_OK; i++)
        s = lclip_text_check_ids(&enc->model->text, tokens + i * context, i);
    return s == LCLIP_OK ? encode_job(&job, n, NULL, tokens, &resolved, out) : s;
}

LCLIP_API lclip_status lclip_text_encode_tokens(const lclip_text_encoder *enc, const int32_t *tokens, size_t n,
                                                float *out)
{
    return lclip_text_encode_tokens_ex(enc, tokens, n, out, NULL);
}

LCLIP_API lclip_status lclip_text_encode(const lclip_text_encoder *enc, const char *utf8, float *out)
{
    if (!utf8)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "lclip_text_encode: text is NULL");
    return lclip_text_encode_batch(enc, &utf8, 1, out);
}
