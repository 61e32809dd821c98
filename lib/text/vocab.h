/* The BPE vocabulary: token ids of the 256 byte symbols (with and without
 * the "</w>" end-of-word mark), the special tokens, and the merge table
 * mapping a pair of adjacent token ids to its rank and merged id. Loaded
 * from OpenAI's bpe_simple_vocab_16e6.txt.gz or an HF vocab.json +
 * merges.txt; both files are untrusted. */
#ifndef LCLIP_TEXT_VOCAB_H
#define LCLIP_TEXT_VOCAB_H

#include <stddef.h>
#include <stdint.h>

#include "libclip.h"

/* Merges the reference uses: 49152 - 256 - 2. */
#define LCLIP_BPE_MERGES 48894

typedef struct lclip_bpe_vocab {
    int32_t byte_id[256];     /* byte b inside a word */
    int32_t byte_end_id[256]; /* byte b ending a word */
    int32_t start_id, end_id; /* <|startoftext|>, <|endoftext|> */
    size_t n_tokens;
    /* Open addressing, power-of-two size; empty slots hold EMPTY_PAIR. */
    uint64_t *merge_pairs; /* left << 32 | right */
    uint32_t *merge_ranks;
    int32_t *merge_results;
    size_t merge_mask;
} lclip_bpe_vocab;

/* gz_path: the merges file; its errors name the path. */
lclip_status lclip_bpe_vocab_load_gz(const char *gz_path, lclip_bpe_vocab *out);
lclip_status lclip_bpe_vocab_load_hf(const char *vocab_json_path, const char *merges_path, lclip_bpe_vocab *out);
void lclip_bpe_vocab_free(lclip_bpe_vocab *v);

/* 1 and the merge's rank and result id if (left, right) merges, else 0. */
int lclip_bpe_vocab_merge(const lclip_bpe_vocab *v, int32_t left, int32_t right, uint32_t *rank, int32_t *result);

#endif
