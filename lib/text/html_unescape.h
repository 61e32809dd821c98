/* HTML character references, decoded the two ways the reference does:
 * Python's html.unescape (HTML5 rules, also names without ';' and longest
 * prefixes) and ftfy's more cautious unescape_html. */
#ifndef LCLIP_TEXT_HTML_UNESCAPE_H
#define LCLIP_TEXT_HTML_UNESCAPE_H

#include <stddef.h>
#include <stdint.h>

#include "text/codepoints.h"

/* Both write the decoded text to out (cleared first); 0, or -1 when out of memory. */
int lclip_html_unescape(const uint32_t *text, size_t n, lclip_cpbuf *out);
int lclip_ftfy_unescape_html(const uint32_t *text, size_t n, lclip_cpbuf *out);

#endif
