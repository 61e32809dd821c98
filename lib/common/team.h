/* A team of threads for one encode call: the calling thread plus n - 1
 * helpers started for the call and joined at its end, so no thread outlives
 * a call and concurrent calls never share one. Each step gives every member
 * the same task and its own part number, and the members divide the work by
 * it (columns of a GEMM, rows of a layer norm, heads of attention).
 * Between steps the helpers poll briefly, then sleep: steps follow each
 * other within microseconds, passes may be milliseconds apart. POSIX
 * threads; a port to Windows threads would replace team.c alone.
 *
 * A NULL team is a valid one-member team: tasks run inline as part 0 of 1. */
#ifndef LCLIP_COMMON_TEAM_H
#define LCLIP_COMMON_TEAM_H

#include <stddef.h>

typedef struct lclip_team lclip_team;

/* Runs this member's share: part in [0, parts). Tasks must not fail: whatever
 * can fail (allocation) happens before the step, on the calling thread. */
typedef void (*lclip_task)(void *ctx, int part, int parts);

/* NULL for n <= 1, and when no helper can be started (out of memory or
 * threads): the call then runs on the calling thread alone, just slower.
 * Helpers block every signal, so that the host's handlers run on its own
 * threads. */
lclip_team *lclip_team_start(int n);
void lclip_team_stop(lclip_team *team);
int lclip_team_size(const lclip_team *team);

/* Runs task on every member and returns when all have finished. */
void lclip_team_run(lclip_team *team, lclip_task task, void *ctx);

/* Part part of parts of [0, count): equal shares, cut at multiples of
 * align (> 0); the last share takes the remainder. */
void lclip_team_share(size_t count, size_t align, int part, int parts, size_t *begin, size_t *end);

#endif
