/* The BLAS as libclip finds it at run time: its threading, kept out of the
 * way of libclip's own threads, and its description for lclip_build_info.
 * Every #if on the CBLAS vendor's extensions lives in blas_runtime.c.
 *
 * With n_threads > 0 each member of a call's team runs its products
 * single-threaded. Where that count lives depends on the BLAS:
 *  - OpenBLAS built with OpenMP: the OpenMP thread count of the calling
 *    thread (OpenBLAS 0.3.21 reads omp_get_max_threads() on every call).
 *    libclip sets it on its helpers, and on the calling thread for the call
 *    only.
 *  - OpenBLAS with its own pthreads, and BLIS: one process-wide count, set
 *    to 1 and left there (restoring it would race with concurrent calls).
 *  - Serial builds and other CBLAS libraries: nothing to do, or nothing
 *    libclip can do.
 * POSIX threads (pthread_once, a mutex), like team.c. */
#ifndef LCLIP_COMMON_BLAS_RUNTIME_H
#define LCLIP_COMMON_BLAS_RUNTIME_H

#include <stddef.h>

#include "common/log.h"
#include "common/team.h"

typedef struct lclip_blas_scope {
    void (*omp_set_num_threads)(int); /* OpenMP OpenBLAS: the runtime's own setter, else NULL */
    int omp_saved;                    /* the calling thread's count before the call */
} lclip_blas_scope;

/* Makes the BLAS single-threaded for a call with n_threads > 0 (no-op for
 * 0) on the calling thread, and on team's helpers (team may be NULL).
 * log hears about a process-wide change. */
void lclip_blas_enter(int n_threads, lclip_team *team, const lclip_logger *log, lclip_blas_scope *scope);
/* Restores what lclip_blas_enter changed on the calling thread. */
void lclip_blas_leave(const lclip_blas_scope *scope);

/* "blas=...; blas_config=...; blas_threading=...", found once per process. */
const char *lclip_blas_description(void);
/* The CBLAS built against ("OpenBLAS"), and the kernels it picked for this
 * CPU ("Haswell"; "unknown" where it does not say). */
const char *lclip_blas_name(void);
const char *lclip_blas_kernels(void);

#endif
