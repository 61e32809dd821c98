/* The safetensors container: 8-byte length, JSON header, tensor table. Every
 * tensor the parser accepts must lie inside the buffer with exactly
 * shape x dtype-size bytes, sorted, findable by name and disjoint. */
#include <string.h>

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
        FUZZ_REQUIRE(t->n_bytes == t->n_elements * lclip_dtype_size(t->dtype));
        if (i > 0)
            FUZZ_REQUIRE(strcmp(st->tensors[i - 1].name, t->name) < 0);
        FUZZ_REQUIRE(lclip_safetensors_find(st, t->name) == t);
        /* Touch the span's ends, so that ASan sees any escape from the buffer. */
        volatile unsigned char sink = 0;
        if (t->n_bytes) {
            sink ^= t->data[0];
            sink ^= t->data[t->n_bytes - 1];
        }
        (void)sink;
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
