#include "common/batch.h"

#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/options.h"
#include "common/vector.h"

/* One pass's inputs, prepared by the team (decoding images, tokenizing). */
typedef struct prepare_step {
    const lclip_batch *b;
    size_t first, count;
    unsigned char *inputs;
    lclip_status *status; /* [count] */
} prepare_step;

static void prepare_task(void *ctx, int part, int parts)
{
    const prepare_step *p = ctx;
    size_t begin, end;
    lclip_team_share(p->count, 1, part, parts, &begin, &end);
    for (size_t i = begin; i < end; i++)
        p->status[i] = p->b->prepare(p->b->ctx, p->first + i, p->inputs + i * p->b->input_bytes);
}

/* A member that fails cannot report it: the error detail is thread-local.
 * So the calling thread prepares each input that failed again, in order, and
 * the first to fail again is the pass's error, with its message here. */
static lclip_status prepare_pass(const lclip_batch *b, lclip_team *team, size_t first, size_t count,
                                 unsigned char *inputs, lclip_status *status)
{
    lclip_status s = LCLIP_OK;
    if (!team) {
        for (size_t i = 0; i < count && s == LCLIP_OK; i++)
            s = b->prepare(b->ctx, first + i, inputs + i * b->input_bytes);
        return s;
    }
    prepare_step step = {b, first, count, inputs, status};
    lclip_team_run(team, prepare_task, &step);
    for (size_t i = 0; i < count && s == LCLIP_OK; i++)
        if (status[i] != LCLIP_OK)
            s = b->prepare(b->ctx, first + i, inputs + i * b->input_bytes);
    return s;
}

lclip_status lclip_batch_encode(const lclip_batch *b, float *out)
{
    if (b->n == 0)
        return LCLIP_OK;
    /* Equal passes (32 at 15 per pass: 11 + 11 + 10, not 15 + 15 + 2), so
     * no pass is left with GEMMs too small to run at speed. */
    size_t per_pass = b->per_pass ? b->per_pass : 1;
    size_t passes = (b->n + per_pass - 1) / per_pass, step = (b->n + passes - 1) / passes;
    lclip_apply_thread_option(b->options->n_threads);
    unsigned char *inputs = b->ready ? NULL : lclip_malloc_array(step, b->input_bytes);
    float *rows = lclip_malloc_array(b->n, b->dim * sizeof *rows);
    lclip_status s = (inputs || b->ready) && rows ? LCLIP_OK
                                                  : lclip_fail(LCLIP_E_NOMEM, "out of memory for a batch of %zu", b->n);
    /* One team for all passes, preparing inputs and running the tower. */
    lclip_team *team = s == LCLIP_OK ? lclip_team_start(b->options->n_threads) : NULL;
    lclip_status *status = NULL;
    if (team && !b->ready && !(status = lclip_malloc_array(step, sizeof *status)))
        s = lclip_fail(LCLIP_E_NOMEM, "out of memory for a batch of %zu", b->n);
    for (size_t first = 0; first < b->n && s == LCLIP_OK; first += step) {
        size_t count = b->n - first < step ? b->n - first : step;
        const void *pass = b->ready ? (const unsigned char *)b->ready + first * b->input_bytes : inputs;
        if (!b->ready)
            s = prepare_pass(b, team, first, count, inputs, status);
        if (s == LCLIP_OK)
            s = b->run(b->ctx, team, pass, count, rows + first * b->dim);
    }
    lclip_team_stop(team);
    if (s == LCLIP_OK) {
        if (b->options->normalize)
            lclip_l2_normalize_rows(rows, b->n, b->dim);
        memcpy(out, rows, b->n * b->dim * sizeof *rows);
    }
    lclip_free(status);
    lclip_free(rows);
    lclip_free(inputs);
    return s;
}
