/* The public API's contract without any model: version, status strings,
 * options, NULL handling. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "libclip.h"

static void test_version_matches_header(void **state)
{
    (void)state;
    char expected[32];
    snprintf(expected, sizeof expected, "%d.%d.%d", LCLIP_VERSION_MAJOR, LCLIP_VERSION_MINOR,
             LCLIP_VERSION_PATCH);
    assert_string_equal(lclip_version(), expected);
}

static void test_strerror_covers_every_status(void **state)
{
    (void)state;
    const lclip_status all[] = {LCLIP_OK, LCLIP_E_INVALID_ARGUMENT, LCLIP_E_IO, LCLIP_E_FORMAT,
                                LCLIP_E_UNSUPPORTED, LCLIP_E_NOMEM, LCLIP_E_TOO_LARGE};
    const char *unknown = lclip_strerror((lclip_status)9999);
    assert_string_equal(unknown, "unknown status");
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        const char *text = lclip_strerror(all[i]);
        assert_non_null(text);
        assert_string_not_equal(text, unknown);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(text, lclip_strerror(all[j]));
    }
}

static void test_status_values_are_stable(void **state)
{
    (void)state;
    /* Released numbers never change: bindings hard-code them. */
    assert_int_equal(LCLIP_OK, 0);
    assert_int_equal(LCLIP_E_INVALID_ARGUMENT, 1);
    assert_int_equal(LCLIP_E_IO, 2);
    assert_int_equal(LCLIP_E_FORMAT, 3);
    assert_int_equal(LCLIP_E_UNSUPPORTED, 4);
    assert_int_equal(LCLIP_E_NOMEM, 5);
    assert_int_equal(LCLIP_E_TOO_LARGE, 6);
}

static void test_options_init_sets_size_and_defaults(void **state)
{
    (void)state;
    lclip_options opts;
    memset(&opts, 0xab, sizeof opts);
    lclip_options_init(&opts);
    assert_int_equal(opts.struct_size, sizeof opts);
    assert_int_equal(opts.n_threads, 0);
    assert_int_equal(opts.normalize, 1);
    assert_true(opts.max_header_bytes > 0);
    assert_true(opts.max_tensor_count > 0);
    lclip_options_init(NULL); /* no-op, no crash */
}

static void test_null_arguments(void **state)
{
    (void)state;
    lclip_image_encoder *image = (lclip_image_encoder *)&image;
    lclip_text_encoder *text = (lclip_text_encoder *)&text;
    assert_int_equal(lclip_image_encoder_open(NULL, NULL, &image), LCLIP_E_INVALID_ARGUMENT);
    assert_null(image);
    assert_true(strstr(lclip_last_error(), "model_path") != NULL);
    assert_int_equal(lclip_text_encoder_open(NULL, NULL, &text), LCLIP_E_INVALID_ARGUMENT);
    assert_null(text);
    assert_int_equal(lclip_image_encoder_open("x", NULL, NULL), LCLIP_E_INVALID_ARGUMENT);
    assert_int_equal(lclip_text_encoder_open("x", NULL, NULL), LCLIP_E_INVALID_ARGUMENT);
    assert_true(strstr(lclip_last_error(), "out is NULL") != NULL);

    lclip_image_encoder_close(NULL);
    lclip_text_encoder_close(NULL);
    assert_int_equal(lclip_image_encoder_dim(NULL), 0);
    assert_int_equal(lclip_image_encoder_image_size(NULL), 0);
    assert_true(isnan(lclip_image_encoder_logit_scale(NULL)));
    assert_int_equal(lclip_text_encoder_dim(NULL), 0);
    assert_int_equal(lclip_text_encoder_context_length(NULL), 0);
    assert_true(isnan(lclip_text_encoder_logit_scale(NULL)));
}

static void test_bad_options_are_rejected(void **state)
{
    (void)state;
    lclip_image_encoder *enc;
    lclip_options opts;
    lclip_options_init(&opts);
    opts.struct_size = 0;
    assert_int_equal(lclip_image_encoder_open("x", &opts, &enc), LCLIP_E_INVALID_ARGUMENT);
    assert_true(strstr(lclip_last_error(), "struct_size") != NULL);
    lclip_options_init(&opts);
    opts.n_threads = -1;
    assert_int_equal(lclip_image_encoder_open("x", &opts, &enc), LCLIP_E_INVALID_ARGUMENT);
    assert_true(strstr(lclip_last_error(), "n_threads") != NULL);
    opts.n_threads = LCLIP_MAX_THREADS + 1;
    assert_int_equal(lclip_image_encoder_open("x", &opts, &enc), LCLIP_E_INVALID_ARGUMENT);
    assert_true(strstr(lclip_last_error(), "n_threads 257 is outside 0..256") != NULL);
    lclip_options_init(&opts);
    opts.normalize = 7;
    assert_int_equal(lclip_image_encoder_open("x", &opts, &enc), LCLIP_E_INVALID_ARGUMENT);
    assert_null(enc);
}

static void test_missing_path_is_io_error(void **state)
{
    (void)state;
    lclip_image_encoder *enc;
    assert_int_equal(lclip_image_encoder_open("/nonexistent/libclip/model", NULL, &enc), LCLIP_E_IO);
    assert_null(enc);
    assert_true(strstr(lclip_last_error(), "/nonexistent/libclip/model") != NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_matches_header),
        cmocka_unit_test(test_strerror_covers_every_status),
        cmocka_unit_test(test_status_values_are_stable),
        cmocka_unit_test(test_options_init_sets_size_and_defaults),
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_bad_options_are_rejected),
        cmocka_unit_test(test_missing_path_is_io_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
