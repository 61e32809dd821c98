/* vocab.json, Hugging Face's token -> id map: one flat JSON object of about
 * 49 000 string keys and integer values. A general JSON tree would allocate
 * for every member (more than half of a text encoder's open went there); this
 * reads exactly that shape in one pass, in place, and rejects anything else. */
#ifndef LCLIP_TEXT_VOCAB_JSON_H
#define LCLIP_TEXT_VOCAB_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "libclip.h"

typedef struct lclip_vocab_json_entry {
    const char *token; /* unescaped UTF-8, NUL-terminated, inside the parsed text */
    uint32_t len;
    int32_t id;
} lclip_vocab_json_entry;

/* Parses text[0..len), unescaping the keys over the text itself. On success *entries
 * (lclip_free) lists the members in file order. Ids must be integer literals
 * in 0..INT32_MAX; keys must not contain U+0000. Errors are LCLIP_E_FORMAT
 * naming path and the byte offset, or LCLIP_E_NOMEM. */
lclip_status lclip_vocab_json_parse(const char *path, char *text, size_t len, lclip_vocab_json_entry **entries,
                                    size_t *count);

#endif
