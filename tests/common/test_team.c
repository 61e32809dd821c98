/* The team every parallel step runs on: each member's part runs exactly
 * once per step, a step is over only when all parts are, helpers that fell
 * asleep between passes wake for the next, and the shares of a range tile
 * it exactly at the requested alignment. */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "common/team.h"

#define MAX_MEMBERS 8

typedef struct tally {
    atomic_int runs[MAX_MEMBERS];
    atomic_int wrong_parts;
    pthread_t threads[MAX_MEMBERS];
} tally;

static void count_task(void *ctx, int part, int parts)
{
    tally *t = ctx;
    if (part < 0 || part >= MAX_MEMBERS || parts < 1 || part >= parts) {
        atomic_fetch_add(&t->wrong_parts, 1);
        return;
    }
    t->threads[part] = pthread_self();
    atomic_fetch_add(&t->runs[part], 1);
}

static void test_no_team_runs_inline(void **state)
{
    (void)state;
    assert_null(lclip_team_start(0));
    assert_null(lclip_team_start(1));
    assert_int_equal(lclip_team_size(NULL), 1);
    tally t = {0};
    lclip_team_run(NULL, count_task, &t);
    assert_int_equal(atomic_load(&t.runs[0]), 1);
    assert_int_equal(atomic_load(&t.wrong_parts), 0);
    assert_true(pthread_equal(t.threads[0], pthread_self()));
    lclip_team_stop(NULL);
}

/* Plain (non-atomic) writes: only the team's own ordering makes them
 * visible to the caller after run, which ThreadSanitizer checks in CI. Two
 * tasks and two contexts alternate, so a member running a stale task or
 * reading the next step's context too early leaves a wrong stamp. */
typedef struct stamp {
    int step;
    int seen[MAX_MEMBERS];
} stamp;

static void stamp_task(void *ctx, int part, int parts)
{
    stamp *s = ctx;
    (void)parts;
    s->seen[part] = s->step;
}

static void negative_stamp_task(void *ctx, int part, int parts)
{
    stamp *s = ctx;
    (void)parts;
    s->seen[part] = -s->step;
}

static void test_every_part_runs_once_per_step(void **state)
{
    (void)state;
    for (int n = 2; n <= MAX_MEMBERS; n += 3) {
        lclip_team *team = lclip_team_start(n);
        assert_non_null(team);
        assert_int_equal(lclip_team_size(team), n);
        tally t = {0};
        stamp stamps[2] = {{0}, {0}};
        for (int step = 1; step <= 3000; step++) {
            lclip_team_run(team, count_task, &t);
            /* run returned, so every part of this step has finished */
            for (int p = 0; p < n; p++)
                if (atomic_load(&t.runs[p]) != step)
                    fail_msg("team of %d, step %d: part %d ran %d times", n, step, p, atomic_load(&t.runs[p]));
            stamp *s = &stamps[step % 2];
            s->step = step;
            lclip_team_run(team, step % 2 ? negative_stamp_task : stamp_task, s);
            for (int p = 0; p < n; p++)
                if (s->seen[p] != (step % 2 ? -step : step))
                    fail_msg("team of %d, step %d: part %d left stamp %d", n, step, p, s->seen[p]);
        }
        assert_int_equal(atomic_load(&t.wrong_parts), 0);
        assert_true(pthread_equal(t.threads[0], pthread_self()));
        for (int p = 0; p < n; p++)
            for (int q = p + 1; q < n; q++)
                assert_false(pthread_equal(t.threads[p], t.threads[q]));
        lclip_team_stop(team);
    }
}

/* Longer than the helpers' spinning, so they sleep and must be woken. */
static void test_helpers_wake_after_a_pause(void **state)
{
    (void)state;
    lclip_team *team = lclip_team_start(3);
    assert_non_null(team);
    tally t = {0};
    for (int step = 1; step <= 5; step++) {
        struct timespec pause = {0, 30 * 1000 * 1000};
        nanosleep(&pause, NULL);
        lclip_team_run(team, count_task, &t);
        for (int p = 0; p < 3; p++)
            assert_int_equal(atomic_load(&t.runs[p]), step);
    }
    lclip_team_stop(team);
    /* a team that never ran a step stops as cleanly */
    lclip_team_stop(lclip_team_start(4));
}

static void test_shares_tile_the_range(void **state)
{
    (void)state;
    static const size_t aligns[] = {1, 16};
    for (size_t a = 0; a < 2; a++)
        for (size_t count = 0; count <= 300; count++)
            for (int parts = 1; parts <= 9; parts++) {
                size_t expected = 0, smallest = SIZE_MAX, largest = 0;
                for (int part = 0; part < parts; part++) {
                    size_t begin, end;
                    lclip_team_share(count, aligns[a], part, parts, &begin, &end);
                    if (begin != expected || end < begin || end > count ||
                        (begin % aligns[a] != 0 && begin != count))
                        fail_msg("count %zu align %zu: part %d of %d is [%zu, %zu), expected to start at %zu",
                                 count, aligns[a], part, parts, begin, end, expected);
                    expected = end;
                    if (end != count) { /* the last share holds the remainder */
                        smallest = end - begin < smallest ? end - begin : smallest;
                        largest = end - begin > largest ? end - begin : largest;
                    }
                }
                assert_int_equal(expected, count);
                if (largest > 0 && largest - smallest > aligns[a])
                    fail_msg("count %zu align %zu parts %d: shares of %zu and %zu", count, aligns[a], parts,
                             smallest, largest);
            }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_team_runs_inline),
        cmocka_unit_test(test_every_part_runs_once_per_step),
        cmocka_unit_test(test_helpers_wake_after_a_pause),
        cmocka_unit_test(test_shares_tile_the_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
