/* The image encoder handle: a model with only the vision tower bound.
 * Encoding arrives with the vision tower; this file owns opening, closing and
 * the model's facts. */
#include <math.h>

#include "common/alloc.h"
#include "common/error.h"
#include "load/model.h"

struct lclip_image_encoder {
    lclip_model *model;
};

LCLIP_API lclip_status lclip_image_encoder_open(const char *model_path, const lclip_options *opts,
                                                lclip_image_encoder **out)
{
    if (!out)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "lclip_image_encoder_open: out is NULL");
    *out = NULL;
    lclip_image_encoder *enc = lclip_calloc(1, sizeof *enc);
    if (!enc)
        return lclip_fail(LCLIP_E_NOMEM, "out of memory");
    lclip_status s =
        lclip_model_open("lclip_image_encoder_open", model_path, opts, LCLIP_TOWER_VISION, &enc->model);
    if (s != LCLIP_OK) {
        lclip_free(enc);
        return s;
    }
    *out = enc;
    return LCLIP_OK;
}

LCLIP_API void lclip_image_encoder_close(lclip_image_encoder *enc)
{
    if (!enc)
        return;
    lclip_model_close(enc->model);
    lclip_free(enc);
}

LCLIP_API size_t lclip_image_encoder_dim(const lclip_image_encoder *enc)
{
    return enc ? (size_t)enc->model->config.embed_dim : 0;
}

LCLIP_API int lclip_image_encoder_image_size(const lclip_image_encoder *enc)
{
    return enc ? enc->model->vision.cfg.image_size : 0;
}

LCLIP_API float lclip_image_encoder_logit_scale(const lclip_image_encoder *enc)
{
    return enc ? enc->model->logit_scale : NAN;
}
