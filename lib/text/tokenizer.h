/* CLIP's byte-level BPE tokenizer, exactly as the reference clip.tokenize:
 * text cleaning (ftfy-style fixes, HTML unescaping twice, whitespace folding,
 * lower-casing), pre-tokenisation with CLIP's pattern, byte-to-unicode
 * mapping and BPE by merge rank with the "</w>" end-of-word marker. */
#ifndef LCLIP_TEXT_TOKENIZER_H
#define LCLIP_TEXT_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "libclip.h"

#define LCLIP_TOKEN_START 49406 /* <|startoftext|> */
#define LCLIP_TOKEN_END 49407   /* <|endoftext|> */

typedef struct lclip_tokenizer lclip_tokenizer;

/* Loads the vocabulary: vocab_path when not NULL (a bpe_simple_vocab_16e6.txt.gz,
 * or a directory holding vocab.json + merges.txt or that .gz); otherwise
 * vocab.json + merges.txt in directory, else bpe_simple_vocab_16e6.txt.gz in
 * directory. Missing files are LCLIP_E_IO; malformed ones LCLIP_E_FORMAT. */
lclip_status lclip_tokenizer_open(const char *directory, const char *vocab_path, lclip_tokenizer **out);
void lclip_tokenizer_close(lclip_tokenizer *tok);
/* Which files it loaded: "hf:<path of vocab.json>" (merges.txt beside it) or
 * "gz:<path of the .gz>". */
const char *lclip_tokenizer_source(const lclip_tokenizer *tok);

/* Writes context_length ids (start, tokens, end, zero padding) into ids and
 * the count before the padding into *n_tokens. Too long: with truncate, the
 * first context_length - 1 ids then the end token; without, LCLIP_E_TOO_LARGE.
 * Invalid UTF-8 is LCLIP_E_INVALID_ARGUMENT; more than max_bytes bytes is
 * LCLIP_E_TOO_LARGE. Safe to call from several threads at once. */
lclip_status lclip_tokenizer_encode(lclip_tokenizer *tok, const char *utf8, uint64_t max_bytes,
                                    int context_length, int truncate, int32_t *ids, size_t *n_tokens);

#endif
