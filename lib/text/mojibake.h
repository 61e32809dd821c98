/* ftfy 6.3.1's mojibake detection and repair (its `fix_encoding`): text that
 * was UTF-8 but got decoded as Latin-1, Windows-125x, MacRoman or cp437,
 * possibly several times or only in parts, is turned back into what it was. */
#ifndef LCLIP_TEXT_MOJIBAKE_H
#define LCLIP_TEXT_MOJIBAKE_H

#include <stddef.h>
#include <stdint.h>

#include "text/codepoints.h"

/* ftfy's is_bad: does the text hold a character sequence typical of mojibake? */
int lclip_ftfy_is_bad(const uint32_t *text, size_t n);

/* ftfy's fix_encoding, in place. Returns 0, or -1 when out of memory. */
int lclip_ftfy_fix_encoding(lclip_cpbuf *text);

/* ftfy's fix_c1_controls: U+0080-U+009F read as (sloppy) Windows-1252. */
void lclip_ftfy_fix_c1_controls(uint32_t *text, size_t n);

#endif
