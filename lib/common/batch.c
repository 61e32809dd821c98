#include "common/batch.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/blas_runtime.h"
#include "common/error.h"
#include "common/log.h"
#include "common/options.h"
#include "common/vector.h"

/* One pass's prepared inputs and, with a team, what each input's member
 * got: its status and its message (the member's error detail is
 * thread-local, so it is kept here for the calling thread to report). */
typedef struct pass_buffers {
    unsigned char *inputs; /* NULL for ready inputs */
    lclip_status *status;
    char (*message)[LCLIP_ERROR_MESSAGE_MAX];
} pass_buffers;

/* One call's working state. */
typedef struct batch_run {
    const lclip_batch *b;
    lclip_batch_options control; /* resolved */
    lclip_team *team;
    size_t step;               /* inputs per pass */
    pass_buffers pass;
    lclip_status *item_status; /* [n] with per-input results, else NULL */
    float *rows;               /* [n][dim], copied out on success */
} batch_run;

int lclip_batch_per_input(const lclip_batch_options *resolved)
{
    return resolved->item_status || resolved->on_item_error;
}

/* One pass's inputs, prepared by the team (decoding images, tokenizing). */
typedef struct prepare_step {
    const batch_run *r;
    size_t first, count;
} prepare_step;

static void prepare_task(void *ctx, int part, int parts)
{
    const prepare_step *p = ctx;
    const lclip_batch *b = p->r->b;
    const pass_buffers *pass = &p->r->pass;
    size_t begin, end;
    lclip_team_share(p->count, 1, part, parts, &begin, &end);
    for (size_t i = begin; i < end; i++) {
        pass->status[i] = b->prepare(b->ctx, p->first + i, pass->inputs + i * b->input_bytes);
        if (pass->status[i] != LCLIP_OK)
            snprintf(pass->message[i], sizeof pass->message[i], "%s", lclip_last_error());
    }
}

/* Input index failed with status: the call's error, or with per-input
 * results that input's. member_message is a team member's message (NULL:
 * the failure happened on this thread, whose message is current). */
static lclip_status input_failed(const batch_run *r, size_t index, lclip_status status, const char *member_message)
{
    if (!r->item_status)
        return member_message ? lclip_fail(status, "%s", member_message) : status;
    r->item_status[index] = status;
    if (r->control.on_item_error) {
        /* A copy: the callback may call libclip, which may replace the
         * thread's message while the callback still reads it. */
        char message[LCLIP_ERROR_MESSAGE_MAX];
        snprintf(message, sizeof message, "%s", member_message ? member_message : lclip_last_error());
        r->control.on_item_error(r->control.user, index, status, message);
    }
    return LCLIP_OK;
}

/* Prepares a pass's inputs (on the team when there is one) and reports
 * the failed ones in the caller's order: the first is the call's error,
 * unless the call asked for per-input results. */
static lclip_status prepare_pass(const batch_run *r, size_t first, size_t count)
{
    const lclip_batch *b = r->b;
    if (r->team) {
        prepare_step step = {r, first, count};
        lclip_team_run(r->team, prepare_task, &step);
    }
    lclip_status s = LCLIP_OK;
    for (size_t i = 0; i < count && s == LCLIP_OK; i++) {
        void *input = r->pass.inputs + i * b->input_bytes;
        lclip_status got = r->team ? r->pass.status[i] : b->prepare(b->ctx, first + i, input);
        if (got != LCLIP_OK)
            s = input_failed(r, first + i, got, r->team ? r->pass.message[i] : NULL);
    }
    return s;
}

/* Moves the pass's good inputs to its front; returns how many there are. */
static size_t compact_inputs(const batch_run *r, size_t first, size_t count)
{
    size_t bytes = r->b->input_bytes, good = 0;
    for (size_t i = 0; i < count; i++) {
        if (r->item_status[first + i] != LCLIP_OK)
            continue;
        if (good != i)
            memcpy(r->pass.inputs + good * bytes, r->pass.inputs + i * bytes, bytes);
        good++;
    }
    return good;
}

/* Spreads the good inputs' rows (at the front) back to their inputs' places,
 * last first so that no row is overwritten before it moves; NaN rows for
 * the failed ones. */
static void spread_rows(const batch_run *r, size_t first, size_t count, size_t good)
{
    size_t dim = r->b->dim;
    float *rows = r->rows + first * dim;
    for (size_t i = count; i-- > 0;) {
        float *row = rows + i * dim;
        if (r->item_status[first + i] != LCLIP_OK) {
            for (size_t d = 0; d < dim; d++)
                row[d] = NAN;
        } else if (--good != i) {
            memcpy(row, rows + good * dim, dim * sizeof *row);
        }
    }
}

static lclip_status run_pass(const batch_run *r, size_t first, size_t count)
{
    const lclip_batch *b = r->b;
    if (b->ready)
        return b->run(b->ctx, r->team, (const unsigned char *)b->ready + first * b->input_bytes, count,
                      r->rows + first * b->dim);
    lclip_status s = prepare_pass(r, first, count);
    size_t good = s == LCLIP_OK && r->item_status ? compact_inputs(r, first, count) : count;
    if (s == LCLIP_OK && good > 0)
        s = b->run(b->ctx, r->team, r->pass.inputs, good, r->rows + first * b->dim);
    if (s == LCLIP_OK && good < count)
        spread_rows(r, first, count, good);
    return s;
}

static lclip_status report_progress(const batch_run *r, size_t done)
{
    const lclip_batch_options *c = &r->control;
    if (!c->on_progress || c->on_progress(c->user, done, r->b->n) == 0)
        return LCLIP_OK;
    return lclip_fail(LCLIP_E_CANCELLED, "cancelled by the progress callback after %zu of %zu inputs", done,
                      r->b->n);
}

/* Equal passes (32 at 15 per pass: 11 + 11 + 10, not 15 + 15 + 2), so no
 * pass is left with GEMMs too small to run at speed. */
static size_t pass_size(const lclip_batch *b)
{
    size_t per_pass = b->per_pass ? b->per_pass : 1;
    size_t passes = (b->n + per_pass - 1) / per_pass;
    return (b->n + passes - 1) / passes;
}

static lclip_status run_passes(batch_run *r)
{
    const lclip_batch *b = r->b;
    lclip_status s = LCLIP_OK;
    for (size_t first = 0; first < b->n && s == LCLIP_OK; first += r->step) {
        size_t count = b->n - first < r->step ? b->n - first : r->step;
        s = run_pass(r, first, count);
        if (s == LCLIP_OK)
            s = report_progress(r, first + count);
    }
    return s;
}

/* The call's buffers and its team (none for n_threads <= 1, or when the
 * system refuses threads: the call then runs on the calling thread). */
static lclip_status batch_run_start(batch_run *r)
{
    const lclip_batch *b = r->b;
    int per_input = lclip_batch_per_input(&r->control), prepared = !b->ready;
    r->step = pass_size(b);
    r->rows = lclip_malloc_array(b->n, b->dim * sizeof *r->rows);
    r->pass.inputs = prepared ? lclip_malloc_array(r->step, b->input_bytes) : NULL;
    r->item_status = per_input ? lclip_malloc_array(b->n, sizeof *r->item_status) : NULL;
    if (!r->rows || (prepared && !r->pass.inputs) || (per_input && !r->item_status))
        return lclip_fail(LCLIP_E_NOMEM, "out of memory for a batch of %zu", b->n);
    for (size_t i = 0; per_input && i < b->n; i++)
        r->item_status[i] = LCLIP_OK;
    r->team = lclip_team_start(b->options->n_threads);
    if (r->team && prepared) {
        r->pass.status = lclip_malloc_array(r->step, sizeof *r->pass.status);
        r->pass.message = lclip_malloc_array(r->step, sizeof *r->pass.message);
        if (!r->pass.status || !r->pass.message)
            return lclip_fail(LCLIP_E_NOMEM, "out of memory for a batch of %zu", b->n);
    }
    return LCLIP_OK;
}

static void batch_run_free(batch_run *r)
{
    lclip_team_stop(r->team);
    lclip_free(r->pass.message);
    lclip_free(r->pass.status);
    lclip_free(r->pass.inputs);
    lclip_free(r->item_status);
    lclip_free(r->rows);
}

lclip_status lclip_batch_encode(const lclip_batch *b, float *out)
{
    batch_run r = {.b = b};
    lclip_status s = lclip_batch_options_resolve(b->control, &r.control);
    if (s != LCLIP_OK || b->n == 0)
        return s;
    s = batch_run_start(&r);
    if (s == LCLIP_OK) {
        lclip_logger log = lclip_logger_of(b->options);
        lclip_blas_scope blas;
        lclip_blas_enter(b->runs_blas ? b->options->n_threads : 0, r.team, &log, &blas);
        s = run_passes(&r);
        lclip_blas_leave(&blas);
    }
    if (s == LCLIP_OK) {
        if (b->options->normalize)
            lclip_l2_normalize_rows(r.rows, b->n, b->dim);
        memcpy(out, r.rows, b->n * b->dim * sizeof *r.rows);
        if (r.control.item_status)
            memcpy(r.control.item_status, r.item_status, b->n * sizeof *r.item_status);
    }
    batch_run_free(&r);
    return s;
}
