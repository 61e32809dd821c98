/* The reference tokenizer's text normalisation before splitting:
 *     whitespace_clean(basic_clean(text)).lower()
 * where basic_clean is ftfy.fix_text (ftfy 6.3.1 defaults), html.unescape
 * twice and strip, and whitespace_clean folds runs of \s into one space. */
#ifndef LCLIP_TEXT_TEXT_CLEAN_H
#define LCLIP_TEXT_TEXT_CLEAN_H

#include <stddef.h>
#include <stdint.h>

#include "libclip.h"
#include "text/codepoints.h"

/* Cleans text[0..n) into out. Fails only with LCLIP_E_NOMEM. */
lclip_status lclip_text_clean(const uint32_t *text, size_t n, lclip_cpbuf *out);

/* ftfy.fix_text alone (exposed for tests). */
lclip_status lclip_ftfy_fix_text(const uint32_t *text, size_t n, lclip_cpbuf *out);

/* White_Space, which \s of the `regex` module matches. */
int lclip_is_regex_space(uint32_t c);

#endif
