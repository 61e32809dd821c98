/* Loops that run on every activation (activations, layer norms, softmax,
 * residual sums, BF16 rounding) are compiled for three x86-64 levels and
 * the loader picks one for the CPU at hand (GCC's and clang's function
 * multiversioning, through glibc's ifunc): the distributed library stays
 * baseline x86-64, yet gets AVX2 or AVX-512 loops where the CPU has them.
 * With the oneDNN engine they are a large share of an encode: multiversioned,
 * ViT-B/32 bf16 image encodes measured 6-12% faster on a Zen 5. The
 * results may differ from the baseline build's in the last bits, as any
 * other machine's do; on one machine they repeat exactly. Elsewhere (other
 * CPUs, C libraries without ifunc, other compilers) plain functions.
 * Only static functions get it: clang 14 emits no symbol other files can
 * call for an external multiversioned function. */
#ifndef LCLIP_COMMON_MULTIVERSION_H
#define LCLIP_COMMON_MULTIVERSION_H

#if defined(__linux__)
#include <features.h> /* __GLIBC__ */
#endif

/* ThreadSanitizer's runtime is not up yet when the loader runs ifunc
 * resolvers, and its instrumented programs crash there: plain functions. */
#if defined(__SANITIZE_THREAD__)
#define LCLIP_NO_MULTIVERSION 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LCLIP_NO_MULTIVERSION 1
#endif
#endif

#if defined(__x86_64__) && defined(__GLIBC__) && (defined(__GNUC__) || defined(__clang__)) && \
    !defined(LCLIP_NO_MULTIVERSION)
#define LCLIP_MULTIVERSION __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define LCLIP_MULTIVERSION
#endif

#endif
