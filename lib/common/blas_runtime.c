/* dladdr and RTLD_NOLOAD; blis.h declares pthread barriers, which strict C11
 * hides. */
#define _GNU_SOURCE

#include "common/blas_runtime.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#if defined(LCLIP_HAVE_OPENBLAS_SET_NUM_THREADS)
#include <cblas.h>
#elif defined(LCLIP_HAVE_BLI_THREAD_SET_NUM_THREADS)
#include <blis.h>
#endif
#if defined(LCLIP_HAVE_OPENBLAS_SET_NUM_THREADS) && !defined(_WIN32)
#include <dlfcn.h>
#define LCLIP_FIND_OPENMP 1
#endif

#ifndef LCLIP_BLAS_NAME
#define LCLIP_BLAS_NAME "CBLAS"
#endif

/* What the process's BLAS is, found once: it cannot change while libclip is
 * loaded, and finding it calls the dynamic loader and OpenBLAS's
 * openblas_get_config(), which writes a static buffer of its own and so must
 * not run on two threads at once. */
typedef struct blas_facts {
    int openmp;                       /* OpenBLAS built with OpenMP */
    int (*omp_get_max_threads)(void); /* its OpenMP runtime's, or NULL if not found */
    void (*omp_set_num_threads)(int);
    char description[512]; /* "blas=...; blas_config=...; blas_threading=..." */
    char kernels[64];      /* the kernels the BLAS picked for this CPU ("Haswell"), or "unknown" */
} blas_facts;

static blas_facts facts;
static pthread_once_t facts_once = PTHREAD_ONCE_INIT;
/* Serialises changing a process-wide count: the BLAS's setter is not meant
 * for concurrent callers, and the change is logged once. */
static pthread_mutex_t process_count_lock = PTHREAD_MUTEX_INITIALIZER;

#ifdef LCLIP_FIND_OPENMP
/* The OpenMP runtime OpenBLAS itself was linked with (libgomp, libomp, ...),
 * found through OpenBLAS's own handle, so that it is found also when libclip
 * was loaded with RTLD_LOCAL (Python's ctypes). */
static void find_openmp(blas_facts *f)
{
    Dl_info info;
    void *symbol = (void *)openblas_get_parallel;
    if (!dladdr(symbol, &info) || !info.dli_fname)
        return;
    void *blas = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
    if (!blas)
        return;
    void *get = dlsym(blas, "omp_get_max_threads"), *set = dlsym(blas, "omp_set_num_threads");
    dlclose(blas); /* only drops the reference RTLD_NOLOAD added */
    if (get && set) {
        memcpy(&f->omp_get_max_threads, &get, sizeof get);
        memcpy(&f->omp_set_num_threads, &set, sizeof set);
    }
}
#endif

static void find_facts(void)
{
#if defined(LCLIP_HAVE_OPENBLAS_SET_NUM_THREADS)
    int parallel = openblas_get_parallel();
    const char *threading = parallel == OPENBLAS_SEQUENTIAL ? "serial"
                            : parallel == OPENBLAS_THREAD   ? "pthreads"
                            : parallel == OPENBLAS_OPENMP   ? "openmp"
                                                            : "unknown";
    facts.openmp = parallel == OPENBLAS_OPENMP;
#ifdef LCLIP_FIND_OPENMP
    if (facts.openmp)
        find_openmp(&facts);
#endif
    snprintf(facts.description, sizeof facts.description, "blas=%s; blas_config=%s; blas_threading=%s",
             LCLIP_BLAS_NAME, openblas_get_config(), threading);
    snprintf(facts.kernels, sizeof facts.kernels, "%s", openblas_get_corename());
#elif defined(LCLIP_HAVE_BLI_THREAD_SET_NUM_THREADS)
    const char *threading = bli_info_get_enable_openmp()     ? "openmp"
                            : bli_info_get_enable_pthreads() ? "pthreads"
                                                             : "serial";
    snprintf(facts.description, sizeof facts.description, "blas=%s; blas_config=BLIS %s; blas_threading=%s",
             LCLIP_BLAS_NAME, bli_info_get_version_str(), threading);
    snprintf(facts.kernels, sizeof facts.kernels, "%s", bli_arch_string(bli_arch_query_id()));
#else
    snprintf(facts.description, sizeof facts.description, "blas=%s; blas_config=unknown; blas_threading=unknown",
             LCLIP_BLAS_NAME);
    snprintf(facts.kernels, sizeof facts.kernels, "unknown");
#endif
}

static const blas_facts *get_facts(void)
{
    pthread_once(&facts_once, find_facts);
    return &facts;
}

const char *lclip_blas_description(void)
{
    return get_facts()->description;
}

const char *lclip_blas_name(void)
{
    return LCLIP_BLAS_NAME;
}

const char *lclip_blas_kernels(void)
{
    return get_facts()->kernels;
}

/* A process-wide count (pthreads OpenBLAS, BLIS): set to 1 unless it is. */
static void set_process_count(const lclip_logger *log)
{
    pthread_mutex_lock(&process_count_lock);
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
    pthread_mutex_unlock(&process_count_lock);
}

#if defined(LCLIP_HAVE_OPENBLAS_SET_NUM_THREADS)
/* On the team's helpers: their own OpenMP count, through the runtime's
 * setter when it was found, else through OpenBLAS's (which, in an OpenMP
 * build, sets the calling thread's count too). */
static void single_thread_task(void *ctx, int part, int parts)
{
    const blas_facts *f = ctx;
    (void)parts;
    if (part == 0) /* the calling thread: lclip_blas_enter sets it */
        return;
    if (f->omp_set_num_threads)
        f->omp_set_num_threads(1);
    else
        openblas_set_num_threads(1);
}

/* OpenMP OpenBLAS reads the calling thread's OpenMP count on every call. */
static void enter_openmp(const blas_facts *f, lclip_team *team, const lclip_logger *log, lclip_blas_scope *scope)
{
    if (f->omp_get_max_threads) {
        scope->omp_set_num_threads = f->omp_set_num_threads;
        scope->omp_saved = f->omp_get_max_threads();
        f->omp_set_num_threads(1);
    } else {
        /* Without the runtime's own calls (OpenBLAS linked statically, no
         * dladdr) the count can be set but not read back. */
        openblas_set_num_threads(1);
        lclip_log(log, LCLIP_LOG_WARNING, "n_threads > 0: the calling thread's OpenMP thread count was set to 1 "
                  "and cannot be restored (OpenBLAS's OpenMP runtime was not found)");
    }
    if (team)
        lclip_team_run(team, single_thread_task, (void *)f);
}
#endif

void lclip_blas_enter(int n_threads, lclip_team *team, const lclip_logger *log, lclip_blas_scope *scope)
{
    scope->omp_set_num_threads = NULL;
    scope->omp_saved = 0;
    if (n_threads <= 0)
        return;
#if defined(LCLIP_HAVE_OPENBLAS_SET_NUM_THREADS)
    const blas_facts *f = get_facts();
    if (f->openmp) {
        enter_openmp(f, team, log, scope);
        return;
    }
#endif
    (void)team;
    set_process_count(log);
}

void lclip_blas_leave(const lclip_blas_scope *scope)
{
    if (scope->omp_set_num_threads)
        scope->omp_set_num_threads(scope->omp_saved);
}
