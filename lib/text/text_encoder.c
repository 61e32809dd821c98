/* The text encoder handle: a model with only the text tower bound.
 * Tokenizing and encoding arrive with the text tower; this file owns opening,
 * closing and the model's facts. */
#include <math.h>

#include "common/alloc.h"
#include "common/error.h"
#include "load/model.h"

struct lclip_text_encoder {
    lclip_model *model;
};

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
    if (s != LCLIP_OK) {
        lclip_free(enc);
        return s;
    }
    *out = enc;
    return LCLIP_OK;
}

LCLIP_API void lclip_text_encoder_close(lclip_text_encoder *enc)
{
    if (!enc)
        return;
    lclip_model_close(enc->model);
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
