/* Byte-pair encoding of one pre-tokenised piece, exactly as the reference's
 * bpe(): the piece's bytes become byte symbols (the last one marked "</w>"),
 * then the lowest-ranked adjacent pair is merged everywhere, left to right,
 * until no pair has a rank. O(n log n) in the piece length. */
#ifndef LCLIP_TEXT_BPE_H
#define LCLIP_TEXT_BPE_H

#include <stddef.h>
#include <stdint.h>

#include "libclip.h"
#include "text/vocab.h"

/* Writes the piece's token ids to ids (room for n, n >= 1) and their count
 * to *count. LCLIP_E_NOMEM or LCLIP_E_TOO_LARGE (n >= 2^31) on failure. */
lclip_status lclip_bpe_encode(const lclip_bpe_vocab *v, const unsigned char *bytes, size_t n, int32_t *ids,
                              size_t *count);

#endif
