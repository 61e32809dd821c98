#include "common/batch.h"

#include <math.h>
#include <string.h>

#include "common/alloc.h"
#include "common/blas_runtime.h"
#include "common/error.h"
#include "common/log.h"
#include "common/options.h"
#include "common/vector.h"

/* One call's working state. */
typedef struct batch_run {
    const lclip_batch *b;
    lclip_batch_options control; /* resolved */
    lclip_team *team;
    unsigned char *inputs;     /* one pass's prepared inputs; NULL for ready ones */
    lclip_status *pass_status; /* [pass size], what the team's members got */
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
    size_t begin, end;
    lclip_team_share(p->count, 1, part, parts, &begin, &end);
    for (size_t i = begin; i < end; i++)
        p->r->pass_status[i] = b->prepare(b->ctx, p->first + i, p->r->inputs + i * b->input_bytes, 0);
}

/* A member that fails cannot report it: the error detail is thread-local.
 * So the calling thread prepares each input that failed again, in order;
 * the first to fail again is the call's error, or with per-input results
 * that input's, with its message here. */
static lclip_status prepare_pass(const batch_run *r, size_t first, size_t count)
{
    const lclip_batch *b = r->b;
    if (r->team) {
        prepare_step step = {r, first, count};
        lclip_team_run(r->team, prepare_task, &step);
    }
    for (size_t i = 0; i < count; i++) {
        void *input = r->inputs + i * b->input_bytes;
        lclip_status s = r->team ? r->pass_status[i] : b->prepare(b->ctx, first + i, input, 0);
        if (s != LCLIP_OK && r->team)
            s = b->prepare(b->ctx, first + i, input, 1);
        if (s == LCLIP_OK)
            continue;
        if (!r->item_status)
            return s;
        r->item_status[first + i] = s;
        if (r->control.on_item_error)
            r->control.on_item_error(r->control.user, first + i, s, lclip_last_error());
    }
    return LCLIP_OK;
}

/* Moves the pass's good inputs to its front; returns how many there are. */
static size_t compact_inputs(const batch_run *r, size_t first, size_t count)
{
    size_t bytes = r->b->input_bytes, good = 0;
    for (size_t i = 0; i < count; i++) {
        if (r->item_status[first + i] != LCLIP_OK)
            continue;
        if (good != i)
            memcpy(r->inputs + good * bytes, r->inputs + i * bytes, bytes);
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
        s = b->run(b->ctx, r->team, r->inputs, good, r->rows + first * b->dim);
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

static lclip_status run_passes(batch_run *r, size_t step)
{
    const lclip_batch *b = r->b;
    lclip_status s = LCLIP_OK;
    for (size_t first = 0; first < b->n && s == LCLIP_OK; first += step) {
        size_t count = b->n - first < step ? b->n - first : step;
        s = run_pass(r, first, count);
        if (s == LCLIP_OK)
            s = report_progress(r, first + count);
    }
    return s;
}

lclip_status lclip_batch_encode(const lclip_batch *b, float *out)
{
    batch_run r = {.b = b};
    lclip_status s = lclip_batch_options_resolve(b->control, &r.control);
    if (s != LCLIP_OK || b->n == 0)
        return s;
    size_t step = pass_size(b);
    int per_input = lclip_batch_per_input(&r.control);
    r.rows = lclip_malloc_array(b->n, b->dim * sizeof *r.rows);
    if (!b->ready)
        r.inputs = lclip_malloc_array(step, b->input_bytes);
    if (per_input)
        r.item_status = lclip_malloc_array(b->n, sizeof *r.item_status);
    if (!r.rows || !(r.inputs || b->ready) || !(r.item_status || !per_input))
        s = lclip_fail(LCLIP_E_NOMEM, "out of memory for a batch of %zu", b->n);
    for (size_t i = 0; r.item_status && i < b->n; i++)
        r.item_status[i] = LCLIP_OK;
    /* One team for all passes, preparing inputs and running the tower. */
    r.team = s == LCLIP_OK ? lclip_team_start(b->options->n_threads) : NULL;
    if (r.team && !b->ready && !(r.pass_status = lclip_malloc_array(step, sizeof *r.pass_status)))
        s = lclip_fail(LCLIP_E_NOMEM, "out of memory for a batch of %zu", b->n);
    lclip_logger log = lclip_logger_of(b->options);
    lclip_blas_scope blas;
    lclip_blas_enter(s == LCLIP_OK ? b->options->n_threads : 0, r.team, &log, &blas);
    if (s == LCLIP_OK)
        s = run_passes(&r, step);
    lclip_team_stop(r.team);
    lclip_blas_leave(&blas);
    if (s == LCLIP_OK) {
        if (b->options->normalize)
            lclip_l2_normalize_rows(r.rows, b->n, b->dim);
        memcpy(out, r.rows, b->n * b->dim * sizeof *r.rows);
        if (r.control.item_status)
            memcpy(r.control.item_status, r.item_status, b->n * sizeof *r.item_status);
    }
    lclip_free(r.item_status);
    lclip_free(r.pass_status);
    lclip_free(r.rows);
    lclip_free(r.inputs);
    return s;
}
