/* The optional log callback of lclip_options: diagnostics that are not
 * errors reach it, formatted into one line; without one they are dropped
 * (a library prints nothing). */
#ifndef LCLIP_COMMON_LOG_H
#define LCLIP_COMMON_LOG_H

#include "common/error.h"
#include "libclip.h"

typedef struct lclip_logger {
    lclip_log_fn fn; /* NULL: drop */
    void *user;
} lclip_logger;

/* The logger of resolved options. */
lclip_logger lclip_logger_of(const lclip_options *options);

/* Formats (truncated to a line of 1 KiB) and calls log->fn; log may be NULL. */
void lclip_log(const lclip_logger *log, lclip_log_level level, const char *fmt, ...) LCLIP_PRINTF(3, 4);

#endif
