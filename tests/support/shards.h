/* Test support: splits a safetensors file into a sharded checkpoint as
 * transformers' save_pretrained(max_shard_size=...) writes one:
 * model-0000K-of-0000N.safetensors files, each a run of the tensors in the
 * original header's order, and model.safetensors.index.json. */
#ifndef LCLIP_TESTS_SHARDS_H
#define LCLIP_TESTS_SHARDS_H

typedef enum shard_flaw {
    SHARD_EXACT,              /* a faithful split */
    SHARD_FIRST_ALSO_IN_LAST, /* the first tensor is written into the last shard too */
    SHARD_FIRST_UNLISTED      /* the index leaves the first tensor out */
} shard_flaw;

/* Writes the n shards of src and their index into dir; returns the first
 * tensor's name (to free). */
char *shard_safetensors(const char *src, const char *dir, int n, shard_flaw flaw);

/* "model-0000k-of-0000n.safetensors" (k from 1) in a static buffer. */
const char *shard_name(int k, int n);

#endif
