#define _POSIX_C_SOURCE 200809L

#include "progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

enum { BAR_WIDTH = 24 };
static const double redraw_interval = 0.1, log_interval = 30.0;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* "m:ss" or "h:mm:ss"; "?" before there is a rate to estimate from. */
static void format_eta(char *out, size_t size, double seconds)
{
    if (seconds < 0 || seconds > 1e8) {
        snprintf(out, size, "?");
        return;
    }
    long s = (long)(seconds + 0.5);
    if (s >= 3600)
        snprintf(out, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(out, size, "%ld:%02ld", s / 60, s % 60);
}

static void show(progress *p, double t)
{
    double elapsed = t - p->started, rate = elapsed > 0 ? (double)p->done / elapsed : 0;
    char eta[32];
    format_eta(eta, sizeof eta, rate > 0 ? (double)(p->total - p->done) / rate : -1);
    int percent = p->total ? (int)(100 * p->done / p->total) : 100;
    if (p->terminal) {
        char bar[BAR_WIDTH + 1];
        size_t filled = p->total ? BAR_WIDTH * p->done / p->total : BAR_WIDTH;
        for (size_t i = 0; i < BAR_WIDTH; i++)
            bar[i] = i < filled ? '#' : '.';
        bar[BAR_WIDTH] = '\0';
        fprintf(stderr, "\r[%s] %zu/%zu %3d%%  %.1f images/s  ETA %s\033[K", bar, p->done, p->total, percent,
                rate, eta);
        report_set_open_line(1);
    } else {
        fprintf(stderr, "clip-search: %zu/%zu images (%d%%), %.1f images/s, ETA %s\n", p->done, p->total,
                percent, rate, eta);
    }
    fflush(stderr);
    p->last_shown = t;
    p->last_shown_done = p->done;
}

/* How many tenths of the total `done` is: a plain line is due at each new one. */
static size_t tenths(const progress *p, size_t done)
{
    return p->total ? 10 * done / p->total : 10;
}

void progress_start(progress *p, size_t total)
{
    p->total = total;
    p->done = 0;
    p->terminal = isatty(STDERR_FILENO);
    p->started = p->last_shown = now();
    p->last_shown_done = 0;
    if (p->terminal)
        show(p, p->started);
}

void progress_advance(progress *p, size_t n)
{
    p->done += n;
    double t = now();
    int due = p->terminal ? t - p->last_shown >= redraw_interval
                          : tenths(p, p->done) > tenths(p, p->last_shown_done) || t - p->last_shown >= log_interval;
    if (due && p->done < p->total)
        show(p, t);
}

void progress_finish(progress *p)
{
    if (p->terminal || p->last_shown_done != p->done)
        show(p, now());
    if (p->terminal) {
        fputc('\n', stderr);
        report_set_open_line(0);
    }
}
