#include "common/batch.h"

#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/vector.h"

lclip_status lclip_batch_encode(const lclip_batch *b, float *out)
{
    if (b->n == 0)
        return LCLIP_OK;
    size_t step = b->n < b->per_pass ? b->n : b->per_pass;
    unsigned char *inputs = lclip_malloc_array(step, b->input_bytes);
    float *rows = lclip_malloc_array(b->n, b->dim * sizeof *rows);
    lclip_status s = inputs && rows ? LCLIP_OK : lclip_fail(LCLIP_E_NOMEM, "out of memory for a batch of %zu", b->n);
    for (size_t first = 0; first < b->n && s == LCLIP_OK; first += step) {
        size_t count = b->n - first < step ? b->n - first : step;
        for (size_t i = 0; i < count && s == LCLIP_OK; i++)
            s = b->prepare(b->ctx, first + i, inputs + i * b->input_bytes);
        if (s == LCLIP_OK)
            s = b->run(b->ctx, inputs, count, rows + first * b->dim);
    }
    if (s == LCLIP_OK) {
        if (b->normalize)
            lclip_l2_normalize_rows(rows, b->n, b->dim);
        memcpy(out, rows, b->n * b->dim * sizeof *rows);
    }
    lclip_free(rows);
    lclip_free(inputs);
    return s;
}
