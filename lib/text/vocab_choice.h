/* Which BPE vocabulary a text encoder uses, in order: vocab_path when set;
 * vocab.json + merges.txt or bpe_simple_vocab_16e6.txt.gz beside the
 * weights; libclip's own copy of OpenAI's (text/builtin_vocab.h) for a model
 * whose embedding table holds CLIP's vocabulary. One that is named or
 * present must load; with none the encoder encodes token ids only, and the
 * log says so. */
#ifndef LCLIP_TEXT_VOCAB_CHOICE_H
#define LCLIP_TEXT_VOCAB_CHOICE_H

#include "load/model.h"
#include "text/tokenizer.h"

/* *tok: the tokenizer, or NULL when there is no vocabulary; *source (to
 * lclip_free) says which was used: "hf:<vocab.json>", "gz:<file>",
 * "builtin:<file>", or NULL for none. */
lclip_status lclip_vocabulary_open(const lclip_model *m, lclip_tokenizer **tok, char **source);

#endif
