#include "common/error.h"

#include <stdarg.h>
#include <stdio.h>

/* One message per thread, so concurrent callers never see each other's
 * errors (libclip.h lists the library's other state). */
static LCLIP_THREAD_LOCAL char last_error[LCLIP_ERROR_MESSAGE_MAX];

lclip_status lclip_fail(lclip_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}

LCLIP_API const char *lclip_last_error(void)
{
    return last_error;
}

LCLIP_API const char *lclip_strerror(lclip_status status)
{
    switch (status) {
    case LCLIP_OK: return "success";
    case LCLIP_E_INVALID_ARGUMENT: return "invalid argument";
    case LCLIP_E_IO: return "I/O error";
    case LCLIP_E_FORMAT: return "malformed input";
    case LCLIP_E_UNSUPPORTED: return "unsupported model or input variant";
    case LCLIP_E_NOMEM: return "out of memory";
    case LCLIP_E_TOO_LARGE: return "input exceeds a resource limit";
    case LCLIP_E_CANCELLED: return "cancelled by the caller";
    }
    return "unknown status";
}
