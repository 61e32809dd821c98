#include "expect_open.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

void expect_failure_opts(const char *path, const lclip_options *opts, lclip_status expected, const char *needle)
{
    lclip_image_encoder *image = (lclip_image_encoder *)&image;
    lclip_text_encoder *text = (lclip_text_encoder *)&text;
    lclip_status s = lclip_image_encoder_open(path, opts, &image);
    if (s != expected || !strstr(lclip_last_error(), needle))
        fail_msg("image encoder: got %s (%s), expected %s mentioning \"%s\"", lclip_strerror(s),
                 lclip_last_error(), lclip_strerror(expected), needle);
    assert_null(image);
    s = lclip_text_encoder_open(path, opts, &text);
    if (s != expected || !strstr(lclip_last_error(), needle))
        fail_msg("text encoder: got %s (%s), expected %s mentioning \"%s\"", lclip_strerror(s),
                 lclip_last_error(), lclip_strerror(expected), needle);
    assert_null(text);
}

void expect_failure(const char *path, lclip_status expected, const char *needle)
{
    expect_failure_opts(path, NULL, expected, needle);
}
