/* Caller options, resolved: every field present, defaults applied, values
 * validated. Internal code only ever sees resolved options. */
#ifndef LCLIP_COMMON_OPTIONS_H
#define LCLIP_COMMON_OPTIONS_H

#include "libclip.h"

/* Copies the fields that user->struct_size covers over the defaults (user may
 * be NULL) and validates them. */
lclip_status lclip_options_resolve(const lclip_options *user, lclip_options *resolved);

/* Applies n_threads (see libclip.h): only a positive value touches BLAS. */
void lclip_apply_thread_option(const lclip_options *resolved);

#endif
