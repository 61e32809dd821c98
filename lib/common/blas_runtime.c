/* dladdr and RTLD_NOLOAD; blis.h declares pthread barriers, which strict C11
 * hides. */
#define _GNU_SOURCE

#include "common/blas_runtime.h"

#include <stdio.h>

#if defined(LCLIP_HAVE_OPENBLAS_SET_NUM_THREADS)
#include <cblas.h>
#elif defined(LCLIP_HAVE_BLI_THREAD_SET_NUM_THREADS)
#include <blis.h>
#endif
#if defined(LCLIP_HAVE_OPENBLAS_SET_NUM_THREADS) && !defined(_WIN32)
#include <dlfcn.h>
#include <string.h>
#define LCLIP_FIND_OPENMP 1
#endif

#ifndef LCLIP_BLAS_NAME
#define LCLIP_BLAS_NAME "CBLAS"
#endif

#ifdef LCLIP_FIND_OPENMP
/* The OpenMP runtime OpenBLAS itself was linked with (libgomp, libomp, ...),
 * found through OpenBLAS's own handle, so that it is found also when libclip
 * was loaded with RTLD_LOCAL (Python's ctypes). Looked up per call, not
 * cached: a few microseconds, and no global state. */
static int find_openmp(int (**get)(void), void (**set)(int))
{
    Dl_info info;
    void *symbol = (void *)openblas_get_parallel;
    if (!dladdr(symbol, &info) || !info.dli_fname)
        return 0;
    void *blas = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
    if (!blas)
        return 0;
    void *g = dlsym(blas, "omp_get_max_threads"), *s = dlsym(blas, "omp_set_num_threads");
    dlclose(blas); /* only drops the reference RTLD_NOLOAD added */
    memcpy(get, &g, sizeof g);
    memcpy(set, &s, sizeof s);
    return g && s;
}

static void single_thread_task(void *ctx, int part, int parts)
{
    const lclip_blas_scope *scope = ctx;
    (void)parts;
    if (part > 0) /* the calling thread's count is set (and restored) by lclip_blas_enter */
        scope->omp_set_num_threads(1);
}
#endif

/* A process-wide count: set to 1 unless it is. */
static void set_process_count(const lclip_logger *log)
{
#if defined(LCLIP_HAVE_OPENBLAS_SET_NUM_THREADS)
    int before = openblas_get_num_threads();
    if (before != 1) {
        openblas_set_num_threads(1);
        lclip_log(log, LCLIP_LOG_INFO, "n_threads > 0: OpenBLAS's process-wide thread count set from %d to 1",
                  before);
    }
#elif defined(LCLIP_HAVE_BLI_THREAD_SET_NUM_THREADS)
    long before = (long)bli_thread_get_num_threads();
    if (before != 1) {
        bli_thread_set_num_threads(1);
        lclip_log(log, LCLIP_LOG_INFO, "n_threads > 0: BLIS's process-wide thread count set from %ld to 1", before);
    }
#else
    (void)log;
#endif
}

void lclip_blas_enter(int n_threads, lclip_team *team, const lclip_logger *log, lclip_blas_scope *scope)
{
    scope->omp_set_num_threads = NULL;
    scope->omp_saved = 0;
    if (n_threads <= 0)
        return;
#if defined(LCLIP_HAVE_OPENBLAS_SET_NUM_THREADS)
    int parallel = openblas_get_parallel();
    if (parallel == OPENBLAS_SEQUENTIAL)
        return;
#ifdef LCLIP_FIND_OPENMP
    int (*get)(void);
    if (parallel == OPENBLAS_OPENMP && find_openmp(&get, &scope->omp_set_num_threads)) {
        scope->omp_saved = get();
        scope->omp_set_num_threads(1);
        if (team)
            lclip_team_run(team, single_thread_task, scope);
        return;
    }
    scope->omp_set_num_threads = NULL;
#endif
#endif
    (void)team;
    set_process_count(log);
}

void lclip_blas_leave(const lclip_blas_scope *scope)
{
    if (scope->omp_set_num_threads)
        scope->omp_set_num_threads(scope->omp_saved);
}

void lclip_blas_describe(char *buf, size_t size)
{
#if defined(LCLIP_HAVE_OPENBLAS_SET_NUM_THREADS)
    int parallel = openblas_get_parallel();
    const char *threading = parallel == OPENBLAS_SEQUENTIAL      ? "serial"
                            : parallel == OPENBLAS_THREAD ? "pthreads"
                            : parallel == OPENBLAS_OPENMP   ? "openmp"
                                                              : "unknown";
    snprintf(buf, size, "blas=%s; blas_config=%s; blas_threading=%s", LCLIP_BLAS_NAME, openblas_get_config(),
             threading);
#elif defined(LCLIP_HAVE_BLI_THREAD_SET_NUM_THREADS)
    const char *threading = bli_info_get_enable_openmp()     ? "openmp"
                            : bli_info_get_enable_pthreads() ? "pthreads"
                                                             : "serial";
    snprintf(buf, size, "blas=%s; blas_config=BLIS %s; blas_threading=%s", LCLIP_BLAS_NAME,
             bli_info_get_version_str(), threading);
#else
    snprintf(buf, size, "blas=%s; blas_config=unknown; blas_threading=unknown", LCLIP_BLAS_NAME);
#endif
}
