#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common/blas_runtime.h"
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
 * picks its kernels itself, see blas_config), each followed by a comma. */
static const char simd_list[] = ""
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
    ;

#if defined(__clang__)
#define COMPILER "clang " LCLIP_STR(__clang_major__) "." LCLIP_STR(__clang_minor__) "." LCLIP_STR(__clang_patchlevel__)
#elif defined(__GNUC__)
#define COMPILER "gcc " __VERSION__
#elif defined(_MSC_VER)
#define COMPILER "msvc " LCLIP_STR(_MSC_VER)
#else
#define COMPILER "unknown"
#endif

#ifdef LCLIP_HAVE_ONEDNN
#define ENGINES "cblas,onednn"
#else
#define ENGINES "cblas"
#endif

/* Built once: the BLAS part is read at run time (which BLAS the loader
 * picked, and its kernels for this CPU), and never changes afterwards. */
static char build_info[1024];
static pthread_once_t build_info_once = PTHREAD_ONCE_INIT;

static void make_build_info(void)
{
    size_t simd_len = strlen(simd_list);
    snprintf(build_info, sizeof build_info, "version=%s; %s; engines=%s; simd=%.*s; compiler=%s", VERSION_STRING,
             lclip_blas_description(), ENGINES, simd_len ? (int)simd_len - 1 : 4, simd_len ? simd_list : "none",
             COMPILER);
}

LCLIP_API const char *lclip_build_info(void)
{
    pthread_once(&build_info_once, make_build_info);
    return build_info;
}
