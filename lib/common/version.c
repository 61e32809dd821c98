#include "libclip.h"

#define LCLIP_STR2(x) #x
#define LCLIP_STR(x) LCLIP_STR2(x)

LCLIP_API const char *lclip_version(void)
{
    return LCLIP_STR(LCLIP_VERSION_MAJOR) "." LCLIP_STR(LCLIP_VERSION_MINOR) "." LCLIP_STR(
        LCLIP_VERSION_PATCH);
}
