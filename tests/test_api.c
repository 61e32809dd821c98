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
    assert_int_equal(lclip_version_number(), LCLIP_VERSION_NUMBER);
    assert_int_equal(LCLIP_VERSION_NUMBER,
                     LCLIP_VERSION_MAJOR * 10000 + LCLIP_VERSION_MINOR * 100 + LCLIP_VERSION_PATCH);
}

/* "key=value; key=value", with the keys libclip.h promises. */
static void test_build_info_names_blas_and_engines(void **state)
{
    (void)state;
    const char *info = lclip_build_info();
    char version[48];
    snprintf(version, sizeof version, "version=%s; ", lclip_version());
    assert_true(strncmp(info, version, strlen(version)) == 0);
    const char *keys[] = {"; blas=", "; blas_config=", "; blas_threading=", "; engines=cblas", "; simd=",
                          "; compiler="};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        assert_non_null(strstr(info, keys[i]));
    const char *threading = strstr(info, "; blas_threading=") + strlen("; blas_threading=");
    assert_true(strncmp(threading, "pthreads;", 9) == 0 || strncmp(threading, "openmp;", 7) == 0 ||
                strncmp(threading, "serial;", 7) == 0 || strncmp(threading, "unknown;", 8) == 0);
    assert_null(strstr(info, "simd=;"));
    char first[1024];
    snprintf(first, sizeof first, "%s", info);
    assert_ptr_equal(lclip_build_info(), info); /* built once, then static */
    assert_string_equal(lclip_build_info(), first);
}

static void test_strerror_covers_every_status(void **state)
{
    (void)state;
    const lclip_status all[] = {LCLIP_OK, LCLIP_E_INVALID_ARGUMENT, LCLIP_E_IO, LCLIP_E_FORMAT,
                                LCLIP_E_UNSUPPORTED, LCLIP_E_NOMEM, LCLIP_E_TOO_LARGE, LCLIP_E_CANCELLED};
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
    assert_int_equal(LCLIP_E_CANCELLED, 7);
    assert_int_equal(LCLIP_LOG_WARNING, 1);
    assert_int_equal(LCLIP_LOG_INFO, 2);
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
    assert_null(opts.log);
    assert_null(opts.log_user);
    (lclip_options_init)(NULL); /* 0.1.0's function: a no-op, no crash */
    assert_int_equal(lclip_options_init_sized(NULL, sizeof opts), LCLIP_E_INVALID_ARGUMENT);
}

/* The sized initialiser writes the caller's size and never beyond it. */
static void test_options_init_sized_stays_inside_the_struct(void **state)
{
    (void)state;
    struct {
        lclip_options opts;
        unsigned char guard[64];
    } buf;
    memset(&buf, 0xab, sizeof buf);
    assert_int_equal(lclip_options_init_sized(&buf.opts, sizeof buf.opts), LCLIP_OK);
    for (size_t i = 0; i < sizeof buf.guard; i++)
        assert_int_equal(buf.guard[i], 0xab);
    /* 0.1.0's size: the fields of 0.1.0 only. */
    size_t size_0_1 = offsetof(lclip_options, log);
    memset(&buf, 0xab, sizeof buf);
    assert_int_equal(lclip_options_init_sized(&buf.opts, size_0_1), LCLIP_OK);
    assert_int_equal(buf.opts.struct_size, size_0_1);
    assert_int_equal(buf.opts.normalize, 1);
    for (size_t i = size_0_1; i < sizeof buf; i++)
        assert_int_equal(((unsigned char *)&buf)[i], 0xab);
    /* 0.2.0's size: up to log_user. */
    size_t size_0_2 = offsetof(lclip_options, engine);
    memset(&buf, 0xab, sizeof buf);
    assert_int_equal(lclip_options_init_sized(&buf.opts, size_0_2), LCLIP_OK);
    assert_null(buf.opts.log_user);
    for (size_t i = size_0_2; i < sizeof buf; i++)
        assert_int_equal(((unsigned char *)&buf)[i], 0xab);
    /* Sizes no release had. */
    assert_int_equal(lclip_options_init_sized(&buf.opts, size_0_1 - 4), LCLIP_E_INVALID_ARGUMENT);
    assert_true(strstr(lclip_last_error(), "not the size of any release") != NULL);
    assert_int_equal(lclip_options_init_sized(&buf.opts, size_0_2 - 8), LCLIP_E_INVALID_ARGUMENT);
    assert_int_equal(lclip_options_init_sized(&buf.opts, 0), LCLIP_E_INVALID_ARGUMENT);
}

/* A caller built against a newer header: the tail this library does not know
 * is zeroed by the initialiser and accepted while zero, refused (naming the
 * byte) once set. */
static void test_options_from_a_newer_header(void **state)
{
    (void)state;
    struct {
        lclip_options known;
        int64_t future_field;
        int32_t another;
        int32_t pad;
    } newer;
    memset(&newer, 0xab, sizeof newer);
    assert_int_equal(lclip_options_init_sized(&newer.known, sizeof newer), LCLIP_OK);
    assert_int_equal(newer.known.struct_size, sizeof newer);
    assert_int_equal(newer.future_field, 0);
    assert_int_equal(newer.another, 0);
    lclip_image_encoder *enc = (lclip_image_encoder *)&enc;
    /* Accepted: the open goes on to the path, which does not exist. */
    assert_int_equal(lclip_image_encoder_open("/nonexistent/libclip/model", &newer.known, &enc), LCLIP_E_IO);
    newer.another = 3;
    assert_int_equal(lclip_image_encoder_open("/nonexistent/libclip/model", &newer.known, &enc),
                     LCLIP_E_INVALID_ARGUMENT);
    assert_null(enc);
    char expected[64];
    snprintf(expected, sizeof expected, "byte %zu is set", sizeof newer.known + 8);
    assert_non_null(strstr(lclip_last_error(), expected));
    assert_non_null(strstr(lclip_last_error(), "needs a newer libclip"));
    /* An uninitialised struct_size is not read as a size. */
    newer.known.struct_size = (size_t)1 << 40;
    assert_int_equal(lclip_image_encoder_open("x", &newer.known, &enc), LCLIP_E_INVALID_ARGUMENT);
    assert_non_null(strstr(lclip_last_error(), "implausible"));
}

static void test_batch_options_init(void **state)
{
    (void)state;
    struct {
        lclip_batch_options batch;
        unsigned char guard[16];
    } buf;
    memset(&buf, 0xab, sizeof buf);
    assert_int_equal(lclip_batch_options_init(&buf.batch), LCLIP_OK);
    assert_int_equal(buf.batch.struct_size, sizeof buf.batch);
    assert_null(buf.batch.item_status);
    assert_null(buf.batch.on_item_error);
    assert_null(buf.batch.on_progress);
    assert_null(buf.batch.user);
    for (size_t i = 0; i < sizeof buf.guard; i++)
        assert_int_equal(buf.guard[i], 0xab);
    assert_int_equal(lclip_batch_options_init_sized(NULL, sizeof buf.batch), LCLIP_E_INVALID_ARGUMENT);
    assert_int_equal(lclip_batch_options_init_sized(&buf.batch, 8), LCLIP_E_INVALID_ARGUMENT);
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
        cmocka_unit_test(test_build_info_names_blas_and_engines),
        cmocka_unit_test(test_options_init_sets_size_and_defaults),
        cmocka_unit_test(test_options_init_sized_stays_inside_the_struct),
        cmocka_unit_test(test_options_from_a_newer_header),
        cmocka_unit_test(test_batch_options_init),
        cmocka_unit_test(test_null_arguments),
        cmocka_unit_test(test_bad_options_are_rejected),
        cmocka_unit_test(test_missing_path_is_io_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
