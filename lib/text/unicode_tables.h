/* Character data generated from CPython by gen_unicode_tables.py (see there
 * for what each table is and why it is taken from Python). */
#ifndef LCLIP_TEXT_UNICODE_TABLES_H
#define LCLIP_TEXT_UNICODE_TABLES_H

#include <stddef.h>
#include <stdint.h>

#define LCLIP_CHARMAP_COUNT 10

typedef struct lclip_charmap_entry {
    uint16_t codepoint;
    uint8_t byte;
} lclip_charmap_entry;

typedef struct lclip_charmap {
    const char *name;
    int sloppy;                          /* byte 0x1A <-> U+FFFD, undefined bytes as Latin-1 */
    uint16_t high[128];                  /* bytes 0x80-0xFF decoded */
    lclip_charmap_entry reverse[129];    /* non-ASCII characters by code point */
    int reverse_count;
} lclip_charmap;

typedef struct lclip_cp_range {
    uint32_t first, last;
} lclip_cp_range;

typedef struct lclip_cp_string {
    uint32_t codepoint;
    const char *utf8;
} lclip_cp_string;

/* In ftfy's order: latin-1, sloppy windows-1252/1251/1250/1253/1254/1257,
 * iso-8859-2, macroman, cp437. */
extern const lclip_charmap lclip_charmaps[LCLIP_CHARMAP_COUNT];

/* Sorted code points. */
extern const uint16_t lclip_utf8_clue_first_of_2[], lclip_utf8_clue_first_of_3[],
    lclip_utf8_clue_first_of_4[], lclip_utf8_clue_continuation[], lclip_utf8_clue_continuation_strict[];
extern const size_t lclip_utf8_clue_first_of_2_count, lclip_utf8_clue_first_of_3_count,
    lclip_utf8_clue_first_of_4_count, lclip_utf8_clue_continuation_count,
    lclip_utf8_clue_continuation_strict_count;

/* Sorted, disjoint. */
extern const lclip_cp_range lclip_cased_ranges[], lclip_case_ignorable_ranges[];
extern const size_t lclip_cased_ranges_count, lclip_case_ignorable_ranges_count;

/* Sorted by code point. */
extern const lclip_cp_string lclip_width_map[];
extern const size_t lclip_width_map_count;

#endif
