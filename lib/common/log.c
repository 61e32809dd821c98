#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>

lclip_logger lclip_logger_of(const lclip_options *options)
{
    lclip_logger log = {options->log, options->log_user};
    return log;
}

void lclip_log(const lclip_logger *log, lclip_log_level level, const char *fmt, ...)
{
    if (!log || !log->fn)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    log->fn(log->user, level, line);
}
