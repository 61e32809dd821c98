#include "common/batch.h"

#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/options.h"
#include "common/vector.h"

lclip_status lclip_batch_encode(const lclip_batch *b, float *out)
{
    if (b->n == 0)
        return LCLIP_OK;
    /* Equal passes (32 at 15 per pass: 11 + 11 + 10, not 15 + 15 + 2), so
     * no pass is left with GEMMs too small to run at speed. */
    size_t passes = (b->n + b->per_pass - 1) / b->per_pass, step = (b->n + passes - 1) / passes;
    lclip_apply_thread_option(b->n_threads);
    unsigned char *inputs = b->ready ? NULL : lclip_malloc_array(step, b->input_bytes);
    float *rows = lclip_malloc_array(b->n, b->dim * sizeof *rows);
    lclip_status s = (inputs || b->ready) && rows ? LCLIP_OK
                                                  : lclip_fail(LCLIP_E_NOMEM, "out of memory for a batch of %zu", b->n);
    /* One team for all passes; inputs are prepared on the calling thread
     * (the error detail is thread-local) while the helpers wait. */
    lclip_team *team = s == LCLIP_OK ? lclip_team_start(b->n_threads) : NULL;
    for (size_t first = 0; first < b->n && s == LCLIP_OK; first += step) {
        size_t count = b->n - first < step ? b->n - first : step;
        const void *pass = b->ready ? (const unsigned char *)b->ready + first * b->input_bytes : inputs;
        for (size_t i = 0; i < count && s == LCLIP_OK && !b->ready; i++)
            s = b->prepare(b->ctx, first + i, inputs + i * b->input_bytes);
        if (s == LCLIP_OK)
            s = b->run(b->ctx, team, pass, count, rows + first * b->dim);
    }
    lclip_team_stop(team);
    if (s == LCLIP_OK) {
        if (b->normalize)
            lclip_l2_normalize_rows(rows, b->n, b->dim);
        memcpy(out, rows, b->n * b->dim * sizeof *rows);
    }
    lclip_free(rows);
    lclip_free(inputs);
    return s;
}
