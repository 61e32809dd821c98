/* Status reporting: every failure path sets the calling thread's detail
 * message and returns its status in one statement:
 *     return lclip_fail(LCLIP_E_FORMAT, "%s: tensor '%s' ...", path, name);
 */
#ifndef LCLIP_COMMON_ERROR_H
#define LCLIP_COMMON_ERROR_H

#include "libclip.h"

#if defined(__GNUC__) || defined(__clang__)
#define LCLIP_PRINTF(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#define LCLIP_PRINTF(fmt_index, first_arg)
#endif

#if defined(_MSC_VER)
#define LCLIP_THREAD_LOCAL __declspec(thread)
#else
#define LCLIP_THREAD_LOCAL _Thread_local
#endif

/* The size of the thread's detail message, terminator included. */
#define LCLIP_ERROR_MESSAGE_MAX 1024

/* Formats the thread's detail message (truncated to fit) and returns status. */
lclip_status lclip_fail(lclip_status status, const char *fmt, ...) LCLIP_PRINTF(2, 3);

#endif
