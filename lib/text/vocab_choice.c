#include "text/vocab_choice.h"

#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/file.h"
#include "common/log.h"
#include "text/builtin_vocab.h"

/* Sets *given: a vocabulary is named in the options or lies beside the
 * weights, so it must load. Fails only when out of memory
 * (guessing "present" then would turn the shortage into a missing-file error). */
static lclip_status vocabulary_given(const lclip_model *m, int *given)
{
    static const char *const names[] = {"vocab.json", "merges.txt", "bpe_simple_vocab_16e6.txt.gz"};
    *given = m->options.vocab_path != NULL;
    for (size_t i = 0; i < sizeof names / sizeof *names && !*given; i++) {
        char *path = lclip_path_join(m->directory, names[i]);
        if (!path)
            return lclip_fail(LCLIP_E_NOMEM, "out of memory");
        *given = lclip_is_regular_file(path);
        lclip_free(path);
    }
    return LCLIP_OK;
}

static lclip_status open_tokenizer(const lclip_model *m, const char *directory, const char *vocab_path,
                                   lclip_tokenizer **tok)
{
    lclip_status s = lclip_tokenizer_open(directory, vocab_path, tok);
    if (s == LCLIP_OK && m->text.cfg.vocab_size <= LCLIP_TOKEN_END)
        s = lclip_fail(LCLIP_E_FORMAT, "%s: the model's %d-token embedding table is too small for CLIP's "
                       "vocabulary (end token %d)", m->weights->label, m->text.cfg.vocab_size, LCLIP_TOKEN_END);
    return s;
}

/* prefix followed by text, in a new string (NULL when out of memory). */
static char *concat(const char *prefix, const char *text)
{
    size_t p = strlen(prefix), n = strlen(text);
    char *s = lclip_malloc(p + n + 1);
    if (s) {
        memcpy(s, prefix, p);
        memcpy(s + p, text, n + 1);
    }
    return s;
}

/* Without a vocabulary of the checkpoint's or the caller's, libclip's own
 * copy of OpenAI's, for a model whose embedding table holds CLIP's
 * vocabulary (self-made test models hold fewer ids). *source stays NULL
 * when none is used. */
static lclip_status open_builtin_vocabulary(const lclip_model *m, lclip_tokenizer **tok, char **source)
{
    lclip_logger log = lclip_logger_of(&m->options);
    if (m->text.cfg.vocab_size <= LCLIP_TOKEN_END) {
        lclip_log(&log, LCLIP_LOG_WARNING, "%s: no BPE vocabulary beside the weights and no vocab_path, and the "
                  "model's %d-token embedding table is too small for CLIP's: the text encoder encodes token ids "
                  "only", m->directory, m->text.cfg.vocab_size);
        return LCLIP_OK;
    }
    char *builtin;
    lclip_status s = lclip_builtin_vocab_path(&builtin);
    if (s == LCLIP_OK && !builtin)
        lclip_log(&log, LCLIP_LOG_WARNING, "%s: no BPE vocabulary beside the weights, no vocab_path, and libclip's "
                  "own bpe_simple_vocab_16e6.txt.gz is not installed: the text encoder encodes token ids only",
                  m->directory);
    if (s == LCLIP_OK && builtin)
        s = open_tokenizer(m, NULL, builtin, tok);
    if (s == LCLIP_OK && builtin && !(*source = concat("builtin:", builtin)))
        s = lclip_fail(LCLIP_E_NOMEM, "out of memory");
    lclip_free(builtin);
    return s;
}

lclip_status lclip_vocabulary_open(const lclip_model *m, lclip_tokenizer **tok, char **source)
{
    *tok = NULL;
    *source = NULL;
    int given = 0;
    lclip_status s = vocabulary_given(m, &given);
    if (s != LCLIP_OK || !given)
        return s == LCLIP_OK ? open_builtin_vocabulary(m, tok, source) : s;
    s = open_tokenizer(m, m->directory, m->options.vocab_path, tok);
    if (s == LCLIP_OK && !(*source = lclip_strdup(lclip_tokenizer_source(*tok))))
        s = lclip_fail(LCLIP_E_NOMEM, "out of memory");
    return s;
}
