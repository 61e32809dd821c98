/* A program built against a later release's libclip.h, run on this library:
 * compiled with a header generated from include/libclip.h with fields
 * appended to lclip_options (future_a, future_b) and lclip_batch_options
 * (later), as the next release will append its own. The library must accept
 * those fields at their default (zero) and refuse, naming the byte, any it
 * cannot honour: never ignore a setting, never write past the struct. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "libclip.h"
#include "support/test_util.h"
#include "support/tiny_model.h"

#ifndef LCLIP_TEST_FUTURE_HEADER
#error "this test must see the generated header (tests/abi/make_future_header.cmake), not include/libclip.h"
#endif

#define DIM 16 /* tiny_spec_default().embed_dim */
#define SIZE 16

typedef struct fixture {
    char *dir;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = make_temp_dir();
    tiny_spec spec = tiny_spec_default();
    tiny_write_hf(f->dir, &spec, "F32");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    rm_tree(f->dir);
    free(f->dir);
    free(f);
    return 0;
}

/* "byte N is set" for the first byte of field offset N. */
static void assert_error_names_byte(size_t offset)
{
    char expected[32];
    snprintf(expected, sizeof expected, "byte %zu ", offset);
    if (!strstr(lclip_last_error(), expected))
        fail_msg("expected '%s' in: %s", expected, lclip_last_error());
}

/* The initialiser macro passes the larger size: the library fills what it
 * knows, zeroes the rest, and stops at the end of the caller's struct. */
static void test_init_zeroes_the_unknown_fields(void **state)
{
    (void)state;
    struct {
        lclip_options opts;
        unsigned char guard[64];
    } buf;
    memset(&buf, 0xa5, sizeof buf);
    assert_int_equal(lclip_options_init(&buf.opts), LCLIP_OK);
    assert_int_equal(buf.opts.struct_size, sizeof buf.opts);
#if UINTPTR_MAX == UINT64_MAX && LCLIP_VERSION_NUMBER == 300
    assert_int_equal(offsetof(lclip_options, future_a), 96); /* 0.3.0's size, where the new fields start */
    assert_int_equal(sizeof buf.opts, 104);
#endif
    assert_int_equal(buf.opts.future_a, 0);
    assert_int_equal(buf.opts.future_b, 0);
    assert_int_equal(buf.opts.normalize, 1);
    for (size_t i = 0; i < sizeof buf.guard; i++)
        assert_int_equal(buf.guard[i], 0xa5);

    struct {
        lclip_batch_options batch;
        unsigned char guard[64];
    } bbuf;
    memset(&bbuf, 0xa5, sizeof bbuf);
    assert_int_equal(lclip_batch_options_init(&bbuf.batch), LCLIP_OK);
    assert_int_equal(bbuf.batch.struct_size, sizeof bbuf.batch);
    assert_null(bbuf.batch.later);
    for (size_t i = 0; i < sizeof bbuf.guard; i++)
        assert_int_equal(bbuf.guard[i], 0xa5);
}

/* At their defaults the new fields change nothing: both encoders open. */
static void test_open_with_the_new_fields_at_default(void **state)
{
    fixture *f = *state;
    lclip_options opts;
    lclip_options_init(&opts);
    lclip_image_encoder *image;
    lclip_text_encoder *text;
    assert_int_equal(lclip_image_encoder_open(f->dir, &opts, &image), LCLIP_OK);
    assert_int_equal(lclip_text_encoder_open(f->dir, &opts, &text), LCLIP_OK);
    assert_int_equal(lclip_image_encoder_dim(image), DIM);
    lclip_text_encoder_close(text);
    lclip_image_encoder_close(image);
}

/* A setting this library cannot honour fails the open with the byte it
 * starts at, whichever of the new fields it is. */
static void test_a_new_field_set_fails_the_open(void **state)
{
    fixture *f = *state;
    lclip_options opts;
    lclip_options_init(&opts);
    opts.future_a = -1; /* every byte set, whatever the byte order */
    lclip_image_encoder *image = (lclip_image_encoder *)&image;
    assert_int_equal(lclip_image_encoder_open(f->dir, &opts, &image), LCLIP_E_INVALID_ARGUMENT);
    assert_null(image);
    assert_error_names_byte(offsetof(lclip_options, future_a));
    assert_non_null(strstr(lclip_last_error(), "lclip_options"));

    opts.future_a = 0;
    opts.future_b = -1;
    lclip_text_encoder *text = (lclip_text_encoder *)&text;
    assert_int_equal(lclip_text_encoder_open(f->dir, &opts, &text), LCLIP_E_INVALID_ARGUMENT);
    assert_null(text);
    assert_error_names_byte(offsetof(lclip_options, future_b));
}

/* The same for the batch options: refused before anything is written. */
static void test_a_new_batch_field_set_fails_the_call(void **state)
{
    fixture *f = *state;
    lclip_image_encoder *image;
    assert_int_equal(lclip_image_encoder_open(f->dir, NULL, &image), LCLIP_OK);
    float pixels[3 * SIZE * SIZE] = {0}, out[DIM];
    lclip_batch_options batch;
    lclip_batch_options_init(&batch);
    assert_int_equal(lclip_image_encode_pixels_ex(image, pixels, 1, out, &batch), LCLIP_OK);
    memset(&batch.later, 0xff, sizeof batch.later); /* every byte set */
    for (int d = 0; d < DIM; d++)
        out[d] = -7.0f;
    assert_int_equal(lclip_image_encode_pixels_ex(image, pixels, 1, out, &batch), LCLIP_E_INVALID_ARGUMENT);
    assert_error_names_byte(offsetof(lclip_batch_options, later));
    assert_non_null(strstr(lclip_last_error(), "lclip_batch_options"));
    for (int d = 0; d < DIM; d++)
        assert_true(out[d] == -7.0f);
    lclip_image_encoder_close(image);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_zeroes_the_unknown_fields),
        cmocka_unit_test(test_open_with_the_new_fields_at_default),
        cmocka_unit_test(test_a_new_field_set_fails_the_open),
        cmocka_unit_test(test_a_new_batch_field_set_fails_the_call),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
