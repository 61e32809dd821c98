/* Test support: opening a model that must fail. */
#ifndef LCLIP_TESTS_EXPECT_OPEN_H
#define LCLIP_TESTS_EXPECT_OPEN_H

#include "libclip.h"

/* Opens path as an image and as a text encoder with opts (NULL: defaults);
 * both must fail with expected, set the handle to NULL, and mention needle. */
void expect_failure_opts(const char *path, const lclip_options *opts, lclip_status expected, const char *needle);
void expect_failure(const char *path, lclip_status expected, const char *needle);

#endif
