/* The CBLAS lclip-bench was built against: its thread count and what it
 * reports about itself (OpenBLAS, BLIS, or anything else behind cblas.h). */
#ifndef LCLIP_BENCH_BLAS_BACKEND_H
#define LCLIP_BENCH_BLAS_BACKEND_H

void blas_set_threads(int n);
int blas_threads(void);      /* 0: this CBLAS does not say */
const char *blas_name(void); /* "OpenBLAS", "BLIS" or "CBLAS" */
const char *blas_core(void); /* kernel set in use: OpenBLAS's core, BLIS's sub-configuration */
const char *blas_config(void);

#endif
