/* Sharded safetensors checkpoints, as Hugging Face saves large models:
 * model.safetensors.index.json maps every tensor name to the shard file that
 * holds it ("weight_map"), and the shards (model-00001-of-00002.safetensors,
 * ...) lie beside it. The index is untrusted input like the shards:
 *  - at most max_header_bytes of JSON, a "weight_map" object of strings,
 *    at most max_tensor_count entries, each tensor named once;
 *  - shard names are plain file names in the index's directory (no '/',
 *    not "." or "..", hence never absolute);
 *  - every shard is opened with the single-file limits; a missing or
 *    unreadable shard is LCLIP_E_IO naming it;
 *  - each shard holds exactly the tensors the index lists for it: a tensor
 *    of a shard that the index does not list, or lists under another shard
 *    (so also a tensor present in two shards), and a listed tensor its shard
 *    lacks are LCLIP_E_FORMAT naming the tensor. A checkpoint that disagrees
 *    with its own index is corrupt or mixed from two downloads; guessing
 *    which copy is meant could load the wrong weights silently.
 * The "metadata" member (total_size) is not used. */
#ifndef LCLIP_LOAD_SHARDED_H
#define LCLIP_LOAD_SHARDED_H

#include "load/safetensors.h"

/* The union of the shards' tensors as one lclip_safetensors (label: the
 * index path), which keeps every shard mapped until it is closed. */
lclip_status lclip_safetensors_open_sharded(const char *index_path, const lclip_safetensors_limits *limits,
                                            lclip_safetensors **out);

#endif
