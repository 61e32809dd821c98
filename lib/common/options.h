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

/* Applies n_threads (see libclip.h): only a positive value touches BLAS. */
void lclip_apply_thread_option(const lclip_options *resolved);

#endif
