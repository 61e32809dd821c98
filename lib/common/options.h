/* Caller options, resolved: every field present, defaults applied, values
 * validated. Internal code only ever sees resolved options. */
#ifndef LCLIP_COMMON_OPTIONS_H
#define LCLIP_COMMON_OPTIONS_H

#include "libclip.h"

/* Pillow's MAX_IMAGE_PIXELS (1024 * 1024 * 1024 // 4 // 3 * 2): the reference
 * refuses larger images too. */
#define LCLIP_DEFAULT_MAX_IMAGE_PIXELS 178956970u

/* Copies the fields that user->struct_size covers over the defaults (user may
 * be NULL) and validates them. */
lclip_status lclip_options_resolve(const lclip_options *user, lclip_options *resolved);

/* Applies n_threads (see libclip.h): a positive value means libclip runs its
 * own threads, so the BLAS must run each product on the calling thread. 0
 * leaves the BLAS alone. Called at open and before each encode, in case the
 * host changed the count in between. */
void lclip_apply_thread_option(int n_threads);

#endif
