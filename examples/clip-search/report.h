/* Messages to stderr, each prefixed "clip-search: ". */
#ifndef CLIP_SEARCH_REPORT_H
#define CLIP_SEARCH_REPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define REPORT_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define REPORT_PRINTF(fmt, args)
#endif

/* One line: "clip-search: MESSAGE\n". */
void report(const char *fmt, ...) REPORT_PRINTF(1, 2);

/* One line: "clip-search: warning: MESSAGE\n". */
void report_warning(const char *fmt, ...) REPORT_PRINTF(1, 2);

/* The progress bar sets this while it occupies the terminal's last line
 * without a newline; the next message then erases that line first, so that
 * messages never end up glued to the bar. */
void report_set_open_line(int open);

#endif
