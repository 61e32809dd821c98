#include "report.h"

#include <stdarg.h>
#include <stdio.h>

static int open_line;

void report_set_open_line(int open)
{
    open_line = open;
}

static void vreport(const char *kind, const char *fmt, va_list args) REPORT_PRINTF(2, 0);

static void vreport(const char *kind, const char *fmt, va_list args)
{
    if (open_line) {
        fputs("\r\033[K", stderr); /* carriage return, then erase to the end of the line */
        open_line = 0;
    }
    fprintf(stderr, "clip-search: %s", kind);
    vfprintf(stderr, fmt, args);
    fputc('\n', stderr);
}

void report(const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vreport("", fmt, args);
    va_end(args);
}

void report_warning(const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vreport("warning: ", fmt, args);
    va_end(args);
}
