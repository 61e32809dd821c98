/* The reference's pre-tokenisation pattern, matched on cleaned, lower-cased
 * text (compiled with IGNORECASE in the `regex` module):
 *   <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|
 *   [\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
 * Each match is one piece for BPE; unmatched characters (spaces) are skipped. */
#ifndef LCLIP_TEXT_PRETOKENIZE_H
#define LCLIP_TEXT_PRETOKENIZE_H

#include <stddef.h>
#include <stdint.h>

typedef enum lclip_piece_kind {
    LCLIP_PIECE_TEXT = 0,
    LCLIP_PIECE_START, /* the literal <|startoftext|> */
    LCLIP_PIECE_END    /* the literal <|endoftext|> */
} lclip_piece_kind;

/* Finds the first piece at or after *pos: returns 1 with its bounds
 * [*start, *pos) and kind, or 0 at the end of the text. */
int lclip_next_piece(const uint32_t *text, size_t n, size_t *pos, size_t *start, lclip_piece_kind *kind);

#endif
