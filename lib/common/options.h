/* Caller options, resolved: every field present, defaults applied, values
 * validated. Internal code only ever sees resolved options. The struct_size
 * rules of libclip.h (older callers get defaults, newer ones only with the
 * unknown tail zero) are applied here, for every public option struct. */
#ifndef LCLIP_COMMON_OPTIONS_H
#define LCLIP_COMMON_OPTIONS_H

#include "libclip.h"

/* Pillow's MAX_IMAGE_PIXELS (1024 * 1024 * 1024 // 4 // 3 * 2): the reference
 * refuses larger images too. */
#define LCLIP_DEFAULT_MAX_IMAGE_PIXELS 178956970u

/* Copies the fields that user->struct_size covers over the defaults (user may
 * be NULL) and validates them. */
lclip_status lclip_options_resolve(const lclip_options *user, lclip_options *resolved);
/* The same for a batch call's options (user may be NULL: all unset). */
lclip_status lclip_batch_options_resolve(const lclip_batch_options *user, lclip_batch_options *resolved);

/* lclip_probe_options' defaults, which a field's 0 selects. */
#define LCLIP_PROBE_DEFAULT_C 1.0
#define LCLIP_PROBE_DEFAULT_TOLERANCE 1e-6
#define LCLIP_PROBE_DEFAULT_MAX_ITERATIONS 1000
/* The same for the probe options (user may be NULL: the defaults). */
lclip_status lclip_probe_options_resolve(const lclip_probe_options *user, lclip_probe_options *resolved);

#endif
