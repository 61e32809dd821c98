/* blis.h declares pthread barriers, which strict C11 hides. */
#define _POSIX_C_SOURCE 200809L
#include "blas_backend.h"

#if defined(LCLIP_HAVE_OPENBLAS_SET_NUM_THREADS)
#include <cblas.h>

void blas_set_threads(int n) { openblas_set_num_threads(n); }
int blas_threads(void) { return openblas_get_num_threads(); }
const char *blas_name(void) { return "OpenBLAS"; }
const char *blas_core(void) { return openblas_get_corename(); }
const char *blas_config(void) { return openblas_get_config(); }

#elif defined(LCLIP_HAVE_BLI_THREAD_SET_NUM_THREADS)
#include <blis.h>

void blas_set_threads(int n) { bli_thread_set_num_threads(n); }
int blas_threads(void) { return (int)bli_thread_get_num_threads(); }
const char *blas_name(void) { return "BLIS"; }
const char *blas_core(void) { return bli_arch_string(bli_arch_query_id()); }
const char *blas_config(void) { return bli_info_get_version_str(); }

#else
void blas_set_threads(int n) { (void)n; }
int blas_threads(void) { return 0; }
const char *blas_name(void) { return "CBLAS"; }
const char *blas_core(void) { return "unknown"; }
const char *blas_config(void) { return "unknown"; }
#endif
