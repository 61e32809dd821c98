/* The safetensors container: 8-byte length, JSON header, tensor table. Every
 * tensor the parser accepts must lie inside the buffer with exactly
 * shape x dtype-size bytes, sorted, findable by name and disjoint. */

#include "fuzz_support.h"
#include "load/safetensors.h"

static void check_table(const lclip_safetensors *st, const uint8_t *data, size_t size)
{
    const unsigned char *end = data + size;
    for (size_t i = 0; i < st->count; i++) {
        const lclip_tensor_info *t = &st->tensors[i];
        FUZZ_REQUIRE(t->name != NULL);
        FUZZ_REQUIRE(t->ndim >= 0 && t->ndim <= LCLIP_MAX_DIMS);
        FUZZ_REQUIRE(t->data >= data + 8 && t->data <= end && t->n_bytes <= (uint64_t)(end - t->data));
        uint64_t elements = 1;
        for (int d = 0; d < t->ndim; d++)
            elements *= (uint64_t)t->shape[d];
        FUZZ_REQUIRE(elements == t->n_elements);
        fuzz_check_table_entry(st, i);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The defaults, then tight limits, so both refusal paths are reached. */
    static const lclip_safetensors_limits limits[2] = {{100u << 20, 65536}, {4096, 16}};
    for (int i = 0; i < 2; i++) {
        lclip_safetensors *st = NULL;
        lclip_status s = lclip_safetensors_parse(data, size, "fuzz.safetensors", &limits[i], &st);
        fuzz_check_status(s);
        FUZZ_REQUIRE((s == LCLIP_OK) == (st != NULL));
        if (st) {
            FUZZ_REQUIRE(st->count <= limits[i].max_tensor_count);
            check_table(st, data, size);
            lclip_safetensors_close(st);
        }
    }
    return 0;
}
