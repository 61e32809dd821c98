/* HTML character-reference data generated from CPython's html module by
 * gen_html_entities.py. */
#ifndef LCLIP_TEXT_HTML_ENTITIES_H
#define LCLIP_TEXT_HTML_ENTITIES_H

#include <stddef.h>
#include <stdint.h>

typedef struct lclip_html_entity {
    const char *name; /* without the '&'; ends in ';' when the name does */
    const char *utf8; /* the replacement */
} lclip_html_entity;

typedef struct lclip_charref_fix {
    uint32_t number, replacement;
} lclip_charref_fix;

typedef struct lclip_charref_range {
    uint32_t first, last;
} lclip_charref_range;

/* Sorted by name (bytewise). */
extern const lclip_html_entity lclip_html5_entities[];
extern const size_t lclip_html5_entities_count;
extern const lclip_html_entity lclip_ftfy_upper_entities[];
extern const size_t lclip_ftfy_upper_entities_count;

/* Sorted by number. */
extern const lclip_charref_fix lclip_invalid_charrefs[];
extern const size_t lclip_invalid_charrefs_count;
extern const lclip_charref_range lclip_invalid_codepoints[];
extern const size_t lclip_invalid_codepoints_count;

#endif
