#include <stdio.h>

#include "common/blas_runtime.h"
#include "common/error.h"
#include "libclip.h"

#define LCLIP_STR2(x) #x
#define LCLIP_STR(x) LCLIP_STR2(x)
#define VERSION_STRING                                                                                   \
    LCLIP_STR(LCLIP_VERSION_MAJOR) "." LCLIP_STR(LCLIP_VERSION_MINOR) "." LCLIP_STR(LCLIP_VERSION_PATCH)

LCLIP_API const char *lclip_version(void)
{
    return VERSION_STRING;
}

LCLIP_API unsigned lclip_version_number(void)
{
    return LCLIP_VERSION_NUMBER;
}

/* The instruction sets this build's own loops were compiled for (the BLAS
 * picks its kernels itself, see blas_config). */
static const char *simd(void)
{
    return ""
#if defined(__AVX512F__)
           "avx512f,"
#endif
#if defined(__AVX2__)
           "avx2,"
#endif
#if defined(__FMA__)
           "fma,"
#endif
#if defined(__AVX__)
           "avx,"
#endif
#if defined(__SSE4_2__)
           "sse4.2,"
#endif
#if defined(__SSE2__)
           "sse2,"
#endif
#if defined(__ARM_NEON)
           "neon,"
#endif
           "";
}

static const char *compiler(void)
{
#if defined(__clang__)
    return "clang " __clang_version__;
#elif defined(__GNUC__)
    return "gcc " __VERSION__;
#elif defined(_MSC_VER)
    return "msvc " LCLIP_STR(_MSC_VER);
#else
    return "unknown";
#endif
}

/* Per thread, like lclip_last_error: the BLAS part is read at run time
 * (which OpenBLAS the loader picked), and a thread-local buffer needs no
 * lock and no process-wide state. */
LCLIP_API const char *lclip_build_info(void)
{
    static LCLIP_THREAD_LOCAL char info[1024];
    char blas[512];
    lclip_blas_describe(blas, sizeof blas);
    const char *isa = simd();
    int isa_len = 0;
    while (isa[isa_len])
        isa_len++;
    snprintf(info, sizeof info, "version=%s; %s; engines=cblas; simd=%.*s; compiler=%s", VERSION_STRING, blas,
             isa_len > 0 ? isa_len - 1 : 4, isa_len > 0 ? isa : "none", compiler());
    return info;
}
