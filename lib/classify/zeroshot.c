/* Zero-shot classifiers, the CLIP paper's prompt ensemble: every class name
 * through every template, the normalised embeddings averaged and the mean
 * normalised (openai/CLIP, notebooks/Prompt_Engineering_for_ImageNet.ipynb,
 * zeroshot_classifier). The text goes through the public encode calls: this
 * module sits above the encoders. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "classify/classifier.h"
#include "common/alloc.h"
#include "common/error.h"
#include "common/options.h"

static const char what[] = "lclip_classifier_zeroshot";

static size_t count_slots(const char *template)
{
    size_t n = 0;
    for (const char *at = strstr(template, "{}"); at; at = strstr(at + 2, "{}"))
        n++;
    return n;
}

static lclip_status check_templates(const char *const *templates, size_t n_templates)
{
    if (!templates)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: templates is NULL", what);
    if (n_templates == 0)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: no templates", what);
    for (size_t t = 0; t < n_templates; t++) {
        if (!templates[t])
            return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: template %zu is NULL", what, t);
        if (!lclip_classifier_valid_utf8(templates[t], strlen(templates[t])))
            return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: template %zu is not valid UTF-8", what, t);
        if (count_slots(templates[t]) > 1)
            return lclip_fail(LCLIP_E_INVALID_ARGUMENT,
                              "%s: template %zu (\"%s\") has more than one \"{}\"; it takes one class name", what,
                              t, templates[t]);
    }
    return LCLIP_OK;
}

/* template with its "{}" replaced by name, or " " and name appended when it
 * has none; NULL when memory runs out. */
static char *fill_template(const char *template, const char *name)
{
    const char *slot = strstr(template, "{}");
    size_t head = slot ? (size_t)(slot - template) : strlen(template);
    const char *tail = slot ? slot + 2 : "";
    size_t size = head + 1 + strlen(name) + strlen(tail) + 1;
    char *prompt = lclip_malloc(size);
    if (prompt)
        snprintf(prompt, size, "%.*s%s%s%s", (int)head, template, slot ? "" : " ", name, tail);
    return prompt;
}

/* out[dim] = the normalised mean of the normalised rows of embeds[n][dim]. */
static void ensemble_mean(float *embeds, size_t n, size_t dim, double *sum, float *out)
{
    memset(sum, 0, dim * sizeof *sum);
    for (size_t r = 0; r < n; r++) {
        const float *row = embeds + r * dim;
        double squares = 0.0;
        for (size_t d = 0; d < dim; d++)
            squares += (double)row[d] * row[d];
        double inv = squares > 0.0 ? 1.0 / sqrt(squares) : 0.0;
        for (size_t d = 0; d < dim; d++)
            sum[d] += row[d] * inv;
    }
    double squares = 0.0;
    for (size_t d = 0; d < dim; d++)
        squares += sum[d] * sum[d];
    double inv = squares > 0.0 ? 1.0 / sqrt(squares) : 0.0;
    for (size_t d = 0; d < dim; d++)
        out[d] = (float)(sum[d] * inv);
}

/* Encodes one class's prompts into embeds[n_templates][dim]. */
static lclip_status encode_class(const lclip_text_encoder *enc, const char *name, const char *const *templates,
                                 size_t n_templates, char **prompts, float *embeds)
{
    lclip_status s = LCLIP_OK;
    for (size_t t = 0; t < n_templates; t++)
        prompts[t] = NULL;
    for (size_t t = 0; t < n_templates && s == LCLIP_OK; t++)
        if (!(prompts[t] = fill_template(templates[t], name)))
            s = lclip_fail(LCLIP_E_NOMEM, "%s: out of memory for the prompts of class \"%s\"", what, name);
    if (s == LCLIP_OK && (s = lclip_text_encode_batch(enc, (const char *const *)prompts, n_templates, embeds)) !=
                             LCLIP_OK) {
        char message[LCLIP_ERROR_MESSAGE_MAX]; /* the encoder's, naming what is wrong, and the class */
        snprintf(message, sizeof message, "%s", lclip_last_error());
        s = lclip_fail(s, "%s: the prompts of class \"%s\": %s", what, name, message);
    }
    for (size_t t = 0; t < n_templates; t++)
        lclip_free(prompts[t]);
    return s;
}

LCLIP_AVAILABLE_IN_0_4 lclip_status lclip_classifier_zeroshot(const lclip_text_encoder *enc,
                                                              const char *const *class_names, size_t n_classes,
                                                              const char *const *templates, size_t n_templates,
                                                              const lclip_batch_options *batch,
                                                              lclip_classifier **out)
{
    if (!out)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: out is NULL", what);
    *out = NULL;
    if (!enc)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT, "%s: the text encoder is NULL", what);
    lclip_batch_options options;
    lclip_status s = lclip_batch_options_resolve(batch, &options);
    if (s != LCLIP_OK)
        return s;
    if (options.item_status || options.on_item_error)
        return lclip_fail(LCLIP_E_INVALID_ARGUMENT,
                          "%s: item_status and on_item_error must be NULL: a class cannot fail alone", what);
    if ((s = lclip_classifier_check_names(what, class_names, n_classes)) != LCLIP_OK ||
        (s = check_templates(templates, n_templates)) != LCLIP_OK)
        return s;
    size_t dim = lclip_text_encoder_dim(enc);
    lclip_classifier *cls = lclip_classifier_alloc(LCLIP_CLASSIFIER_ZEROSHOT, class_names, n_classes, dim);
    if (!cls)
        return LCLIP_E_NOMEM;
    cls->logit_scale = lclip_text_encoder_logit_scale(enc);
    char **prompts = lclip_malloc_array(n_templates, sizeof *prompts);
    float *embeds = lclip_malloc_array(n_templates, dim * sizeof *embeds); /* dim is a model's: no overflow */
    double *sum = lclip_malloc_array(dim, sizeof *sum);
    if (!prompts || !embeds || !sum)
        s = lclip_fail(LCLIP_E_NOMEM, "%s: out of memory for %zu templates", what, n_templates);
    for (size_t c = 0; c < n_classes && s == LCLIP_OK; c++) {
        s = encode_class(enc, class_names[c], templates, n_templates, prompts, embeds);
        if (s != LCLIP_OK)
            break;
        ensemble_mean(embeds, n_templates, dim, sum, cls->vectors + c * dim);
        if (options.on_progress && options.on_progress(options.user, c + 1, n_classes) != 0)
            s = lclip_fail(LCLIP_E_CANCELLED, "%s: cancelled by the progress callback after %zu of %zu classes",
                           what, c + 1, n_classes);
    }
    lclip_free(prompts);
    lclip_free(embeds);
    lclip_free(sum);
    if (s != LCLIP_OK) {
        lclip_classifier_free(cls);
        return s;
    }
    *out = cls;
    return LCLIP_OK;
}
