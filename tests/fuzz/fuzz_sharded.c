/* Sharded checkpoints: the index (model.safetensors.index.json) against two
 * shard files. Every tensor of an accepted checkpoint must lie inside one of
 * the shards with shape x dtype-size bytes, the union table sorted, findable
 * and within the tensor limit; a rejected one leaves no result.
 *
 * Input: bytes 0-3 = little-endian length L1, then L1 bytes of the first
 * shard (model-00001-of-00002.safetensors), bytes of length L2 likewise for
 * the second (model-00002-of-00002.safetensors), then the index's bytes. */

#include "fuzz_support.h"
#include "load/sharded.h"

static const char *const shard_names[2] = {"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"};

static size_t take_length(const uint8_t **data, size_t *size)
{
    if (*size < 4) {
        *size = 0;
        return 0;
    }
    size_t n = (size_t)(*data)[0] | (size_t)(*data)[1] << 8 | (size_t)(*data)[2] << 16 | (size_t)(*data)[3] << 24;
    *data += 4;
    *size -= 4;
    return n < *size ? n : *size;
}

static void write_checkpoint(const uint8_t *data, size_t size)
{
    for (int i = 0; i < 2; i++) {
        size_t n = take_length(&data, &size);
        fuzz_write_file(fuzz_scratch_path(shard_names[i]), data, n);
        data += n;
        size -= n;
    }
    fuzz_write_file(fuzz_scratch_path("model.safetensors.index.json"), data, size);
}

static int inside_a_shard(const lclip_safetensors *st, const lclip_tensor_info *t)
{
    for (size_t i = 0; i < st->n_shards; i++) {
        const lclip_mapped_file *f = &st->shards[i]->file;
        if (t->data >= f->data && t->data <= f->data + f->size && t->n_bytes <= (uint64_t)(f->data + f->size - t->data))
            return 1;
    }
    return 0;
}

static void check_union(const lclip_safetensors *st, uint64_t max_tensors)
{
    FUZZ_REQUIRE(st->count >= 1 && st->count <= max_tensors && st->n_shards >= 1 && st->n_shards <= st->count);
    size_t total = 0;
    for (size_t i = 0; i < st->n_shards; i++)
        total += st->shards[i]->count;
    FUZZ_REQUIRE(total == st->count);
    for (size_t i = 0; i < st->count; i++) {
        const lclip_tensor_info *t = &st->tensors[i];
        FUZZ_REQUIRE(inside_a_shard(st, t));
        fuzz_check_table_entry(st, i);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    write_checkpoint(data, size);
    /* The defaults, then tight limits, so both refusal paths are reached. */
    static const lclip_safetensors_limits limits[2] = {{100u << 20, 65536}, {4096, 16}};
    for (int i = 0; i < 2; i++) {
        lclip_safetensors *st = NULL;
        lclip_status s =
            lclip_safetensors_open_sharded(fuzz_scratch_path("model.safetensors.index.json"), &limits[i], &st);
        fuzz_check_status(s);
        FUZZ_REQUIRE((s == LCLIP_OK) == (st != NULL));
        if (st) {
            check_union(st, limits[i].max_tensor_count);
            lclip_safetensors_close(st);
        }
    }
    return 0;
}
