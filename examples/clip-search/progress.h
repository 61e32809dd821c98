/* A progress display on stderr: count done / total, rate, ETA. On a terminal
 * one line redrawn in place (at most 10 times a second); otherwise, e.g. in
 * a log file, a plain line at every 10% and at least every 30 seconds. */
#ifndef CLIP_SEARCH_PROGRESS_H
#define CLIP_SEARCH_PROGRESS_H

#include <stddef.h>

typedef struct progress {
    size_t total, done;
    int terminal;              /* stderr is a terminal */
    double started, last_shown; /* seconds on the monotonic clock */
    size_t last_shown_done;
} progress;

void progress_start(progress *p, size_t total);

/* n more items are done. */
void progress_advance(progress *p, size_t n);

/* Shows the final state and ends the line. */
void progress_finish(progress *p);

#endif
