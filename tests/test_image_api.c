/* The image API as an application uses it: files, memory buffers and raw
 * pixels in, the reference's tensors and embeddings out, and a clear error
 * for every kind of broken file, after which the handle still works. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <cmocka.h>

#include "libclip.h"
#include "support/golden.h"
#include "support/test_util.h"

#define N_IMAGES 13
#define EMBED 32
#define PIXELS (3 * 32 * 32)

typedef struct fixture {
    const char *fixtures;
    char **names; /* manifest stems */
    char **paths; /* image files */
    size_t count;
    char *tmp;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->fixtures = fixtures_dir();
    f->tmp = make_temp_dir();
    if (f->fixtures) {
        f->names = golden_image_stems(f->fixtures, &f->count);
        f->paths = golden_image_files(f->fixtures, &f->count);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    golden_free_names(f->paths, f->count);
    golden_free_names(f->names, f->count);
    rm_tree(f->tmp);
    free(f->tmp);
    free(f);
    return 0;
}

static lclip_image_encoder *open_image_threads(const fixture *f, const char *model, int normalize, int threads)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/models/%s", f->fixtures, model);
    lclip_options opts;
    lclip_options_init(&opts);
    opts.normalize = normalize;
    opts.n_threads = threads;
    lclip_image_encoder *enc;
    if (lclip_image_encoder_open(path, &opts, &enc) != LCLIP_OK)
        fail_msg("%s: %s", path, lclip_last_error());
    return enc;
}

static lclip_image_encoder *open_image(const fixture *f, const char *model, int normalize)
{
    return open_image_threads(f, model, normalize, 0);
}

static void test_files_give_reference_tensors_and_embeddings(void **state)
{
    fixture *f = *state;
    if (!f->fixtures)
        skip();
    assert_int_equal(f->count, N_IMAGES);
    const char *models[4] = {"tiny-quickgelu/hf", "tiny-quickgelu/open_clip", "tiny-gelu/hf",
                             "tiny-gelu/open_clip/open_clip_model.safetensors"};
    for (int mi = 0; mi < 4; mi++) {
        lclip_image_encoder *enc = open_image(f, models[mi], 0);
        double worst = 0;
        for (size_t i = 0; i < f->count; i++) {
            float chw[PIXELS];
            char relative[256];
            assert_int_equal(lclip_image_preprocess_file(enc, f->paths[i], chw), LCLIP_OK);
            snprintf(relative, sizeof relative, "golden/preprocess-32/%s.f32", f->names[i]);
            float *ref = golden_read(f->fixtures, relative, PIXELS, sizeof(float));
            for (int p = 0; p < PIXELS; p++)
                worst = fmax(worst, fabs((double)chw[p] - ref[p]));
            free(ref);
        }
        assert_true(worst <= 1e-6);
        float out[N_IMAGES * EMBED];
        assert_int_equal(lclip_image_encode_files(enc, (const char *const *)f->paths, f->count, out), LCLIP_OK);
        char relative[256];
        snprintf(relative, sizeof relative, "golden/%.*s/image_embeds.f32", (int)strcspn(models[mi], "/"),
                 models[mi]);
        float *ref = golden_read(f->fixtures, relative, N_IMAGES * EMBED, sizeof(float));
        assert_embeddings_match(out, ref, N_IMAGES, EMBED, models[mi]);
        print_message("  %s: preprocessing max abs diff %.3g\n", models[mi], worst);
        free(ref);
        lclip_image_encoder_close(enc);
    }
}

static void assert_same(const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        assert_float_equal(a[i], b[i], 1e-6);
}

static void test_memory_and_rgb_inputs_equal_files(void **state)
{
    fixture *f = *state;
    if (!f->fixtures)
        skip();
    lclip_image_encoder *enc = open_image(f, "tiny-gelu/hf", 1);
    const char *stem = "photo_chelsea_451x300_q90_420"; /* an RGB JPEG with pinned decoded pixels */
    char path[1024], relative[256];
    snprintf(path, sizeof path, "%s/images/%s.jpg", f->fixtures, stem);
    float from_file[EMBED], from_memory[EMBED], from_rgb[EMBED], from_padded[EMBED];
    assert_int_equal(lclip_image_encode_file(enc, path, from_file), LCLIP_OK);

    size_t len;
    void *bytes = read_whole_file(path, &len);
    assert_int_equal(lclip_image_encode_memory(enc, bytes, len, from_memory), LCLIP_OK);
    assert_same(from_file, from_memory, EMBED);

    int width = 451, height = 300;
    snprintf(relative, sizeof relative, "golden/decoded-rgb8/%s.rgb8", stem);
    uint8_t *rgb = golden_read(f->fixtures, relative, (size_t)width * height * 3, 1);
    assert_int_equal(lclip_image_encode_rgb(enc, rgb, width, height, (size_t)width * 3, from_rgb), LCLIP_OK);
    assert_same(from_file, from_rgb, EMBED);
    size_t stride = (size_t)width * 3 + 13;
    uint8_t *padded = calloc((size_t)height, stride);
    for (int y = 0; y < height; y++)
        memcpy(padded + (size_t)y * stride, rgb + (size_t)y * width * 3, (size_t)width * 3);
    assert_int_equal(lclip_image_encode_rgb(enc, padded, width, height, stride, from_padded), LCLIP_OK);
    assert_same(from_file, from_padded, EMBED);
    assert_int_equal(lclip_image_encode_rgb(enc, rgb, width, height, (size_t)width * 3 - 1, from_rgb),
                     LCLIP_E_INVALID_ARGUMENT);
    assert_int_equal(lclip_image_encode_rgb(enc, rgb, 0, height, 0, from_rgb), LCLIP_E_INVALID_ARGUMENT);
    free(padded);
    free(rgb);
    free(bytes);
    lclip_image_encoder_close(enc);
}

/* Writes a PNG that claims the given size: signature, IHDR with a correct
 * CRC, then an empty IDAT and IEND, the shape of a decompression bomb. */
static void write_png_header(const char *path, uint32_t width, uint32_t height)
{
    unsigned char png[57] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
    static const unsigned char tail[24] = {0, 0, 0, 0, 'I', 'D', 'A', 'T', 0x35, 0xaf, 0x06, 0x1e,
                                           0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
    for (int i = 0; i < 4; i++) {
        png[16 + i] = (unsigned char)(width >> (24 - 8 * i));
        png[20 + i] = (unsigned char)(height >> (24 - 8 * i));
    }
    png[24] = 8; /* bit depth */
    png[25] = 2; /* RGB */
    uLong crc = crc32(0L, png + 12, 17);
    for (int i = 0; i < 4; i++)
        png[29 + i] = (unsigned char)(crc >> (24 - 8 * i));
    memcpy(png + 33, tail, sizeof tail);
    write_bytes_file(path, png, sizeof png);
}

static void expect(lclip_image_encoder *enc, const char *path, lclip_status status, const char *needle)
{
    float out[EMBED];
    lclip_status s = lclip_image_encode_file(enc, path, out);
    if (s != status || !strstr(lclip_last_error(), needle))
        fail_msg("%s: got %s (%s), expected %s mentioning \"%s\"", path, lclip_strerror(s), lclip_last_error(),
                 lclip_strerror(status), needle);
}

static void test_broken_files_give_clear_errors(void **state)
{
    fixture *f = *state;
    if (!f->fixtures)
        skip();
    lclip_image_encoder *enc = open_image(f, "tiny-gelu/hf", 1);
    char png[1024], jpg[1024];
    snprintf(png, sizeof png, "%s/images/photo_rocket_panorama_1000x120.png", f->fixtures);
    snprintf(jpg, sizeof jpg, "%s/images/photo_rocket_640x427_q92_444.jpg", f->fixtures);
    size_t png_len, jpg_len;
    unsigned char *png_bytes = read_whole_file(png, &png_len), *jpg_bytes = read_whole_file(jpg, &jpg_len);
    char *path = join_path(f->tmp, "broken");

    write_bytes_file(path, png_bytes, png_len / 2);
    expect(enc, path, LCLIP_E_FORMAT, path); /* truncated PNG */
    write_bytes_file(path, jpg_bytes, jpg_len / 2);
    expect(enc, path, LCLIP_E_FORMAT, path); /* truncated JPEG */
    png_bytes[29] ^= 0xff;                   /* IHDR CRC */
    write_bytes_file(path, png_bytes, png_len);
    expect(enc, path, LCLIP_E_FORMAT, path);
    write_png_header(path, 100000, 100000); /* 10 gigapixels */
    expect(enc, path, LCLIP_E_TOO_LARGE, path);
    write_png_header(path, 0, 10);
    expect(enc, path, LCLIP_E_FORMAT, path);
    write_bytes_file(path, "", 0);
    expect(enc, path, LCLIP_E_FORMAT, path);
    char *text_jpg = join_path(f->tmp, "notes.jpg");
    write_text_file(text_jpg, "this is a text file, not a JPEG\n");
    expect(enc, text_jpg, LCLIP_E_UNSUPPORTED, "not a PNG, JPEG, WebP, GIF or BMP image");
    char *missing = join_path(f->tmp, "missing.png");
    expect(enc, missing, LCLIP_E_IO, missing);
    float out[EMBED];
    assert_int_equal(lclip_image_encode_memory(enc, jpg_bytes, 0, out), LCLIP_E_FORMAT);
    assert_int_equal(lclip_image_encode_file(enc, NULL, out), LCLIP_E_INVALID_ARGUMENT);

    /* the handle still works, and a batch with one bad file fails as a whole */
    assert_int_equal(lclip_image_encode_file(enc, jpg, out), LCLIP_OK);
    const char *batch[2] = {jpg, text_jpg};
    float two[2 * EMBED];
    for (int i = 0; i < 2 * EMBED; i++)
        two[i] = 42.0f;
    assert_int_equal(lclip_image_encode_files(enc, batch, 2, two), LCLIP_E_UNSUPPORTED);
    for (int i = 0; i < 2 * EMBED; i++)
        assert_float_equal(two[i], 42.0f, 0.0); /* no partial output */
    lclip_image_encoder_close(enc);

    /* the pixel limit is an option */
    char model[1024];
    snprintf(model, sizeof model, "%s/models/tiny-gelu/hf", f->fixtures);
    lclip_options opts;
    lclip_options_init(&opts);
    opts.max_image_pixels = 640 * 427 - 1;
    assert_int_equal(lclip_image_encoder_open(model, &opts, &enc), LCLIP_OK);
    expect(enc, jpg, LCLIP_E_TOO_LARGE, jpg);
    lclip_image_encoder_close(enc);

    free(missing);
    free(text_jpg);
    free(path);
    free(jpg_bytes);
    free(png_bytes);
}

/* With n_threads > 1 the team decodes a pass's files at once; errors must
 * still name the first bad file in the caller's order, from the caller's
 * lclip_last_error(). */
static void test_team_decodes_files_and_reports_the_first_bad_one(void **state)
{
    fixture *f = *state;
    if (!f->fixtures)
        skip();
    lclip_image_encoder *serial = open_image(f, "tiny-quickgelu/hf", 1);
    lclip_image_encoder *team = open_image_threads(f, "tiny-quickgelu/hf", 1, 3);
    float want[N_IMAGES * EMBED], got[N_IMAGES * EMBED];
    assert_int_equal(lclip_image_encode_files(serial, (const char *const *)f->paths, f->count, want), LCLIP_OK);
    assert_int_equal(lclip_image_encode_files(team, (const char *const *)f->paths, f->count, got), LCLIP_OK);
    assert_same(want, got, N_IMAGES * EMBED);

    char *missing = join_path(f->tmp, "missing.png"), *text_jpg = join_path(f->tmp, "words.jpg");
    write_text_file(text_jpg, "not an image\n");
    const char *paths[N_IMAGES];
    for (size_t i = 0; i < N_IMAGES; i++)
        paths[i] = f->paths[i];
    paths[4] = missing;   /* the first bad one: LCLIP_E_IO */
    paths[9] = text_jpg;  /* a later one, likely prepared by another member */
    for (size_t i = 0; i < N_IMAGES * EMBED; i++)
        got[i] = 42.0f;
    assert_int_equal(lclip_image_encode_files(team, paths, N_IMAGES, got), LCLIP_E_IO);
    if (!strstr(lclip_last_error(), missing))
        fail_msg("the error does not name %s: %s", missing, lclip_last_error());
    for (size_t i = 0; i < N_IMAGES * EMBED; i++)
        assert_float_equal(got[i], 42.0f, 0.0);
    paths[4] = f->paths[4];
    assert_int_equal(lclip_image_encode_files(team, paths, N_IMAGES, got), LCLIP_E_UNSUPPORTED);
    assert_non_null(strstr(lclip_last_error(), "not a PNG, JPEG, WebP, GIF or BMP image"));
    free(text_jpg);
    free(missing);
    lclip_image_encoder_close(team);
    lclip_image_encoder_close(serial);
}

/* What the batch callbacks saw. */
typedef struct batch_report {
    size_t errors, error_index[N_IMAGES];
    lclip_status error_status[N_IMAGES];
    char error_message[N_IMAGES][512];
    size_t progress_calls, done[64], total;
    size_t cancel_at; /* progress call (1-based) that cancels; 0: none */
} batch_report;

static void on_item_error(void *user, size_t index, lclip_status status, const char *message)
{
    batch_report *r = user;
    assert_true(r->errors < N_IMAGES);
    r->error_index[r->errors] = index;
    r->error_status[r->errors] = status;
    snprintf(r->error_message[r->errors], sizeof r->error_message[0], "%s", message);
    r->errors++;
}

static int on_progress(void *user, size_t done, size_t total)
{
    batch_report *r = user;
    assert_true(r->progress_calls < 64);
    r->done[r->progress_calls++] = done;
    r->total = total;
    return r->cancel_at == r->progress_calls;
}

static lclip_batch_options batch_options(batch_report *r, lclip_status *item_status)
{
    lclip_batch_options b;
    assert_int_equal(lclip_batch_options_init(&b), LCLIP_OK);
    b.item_status = item_status;
    b.on_item_error = on_item_error;
    b.on_progress = on_progress;
    b.user = r;
    memset(r, 0, sizeof *r);
    return b;
}

/* A photo indexer's batch: the bad files are reported one by one, with the
 * message the plain call would give, and every other file is encoded as if
 * the bad ones were not there. */
static void test_per_input_results_skip_bad_files(void **state)
{
    fixture *f = *state;
    if (!f->fixtures)
        skip();
    char *missing = join_path(f->tmp, "missing.png"), *text_jpg = join_path(f->tmp, "words.jpg");
    write_text_file(text_jpg, "not an image\n");
    for (int threads = 0; threads <= 3; threads += 3) {
        lclip_image_encoder *enc = open_image_threads(f, "tiny-quickgelu/hf", 1, threads);
        float want[N_IMAGES * EMBED], got[N_IMAGES * EMBED];
        assert_int_equal(lclip_image_encode_files(enc, (const char *const *)f->paths, f->count, want), LCLIP_OK);
        const char *paths[N_IMAGES];
        for (size_t i = 0; i < N_IMAGES; i++)
            paths[i] = f->paths[i];
        paths[4] = missing;
        paths[9] = text_jpg;
        lclip_status status[N_IMAGES];
        batch_report r;
        lclip_batch_options b = batch_options(&r, status);
        assert_int_equal(lclip_image_encode_files_ex(enc, paths, N_IMAGES, got, &b), LCLIP_OK);
        for (size_t i = 0; i < N_IMAGES; i++) {
            lclip_status expected = i == 4 ? LCLIP_E_IO : i == 9 ? LCLIP_E_UNSUPPORTED : LCLIP_OK;
            assert_int_equal(status[i], expected);
            for (size_t d = 0; d < EMBED; d++) {
                if (expected != LCLIP_OK)
                    assert_true(isnan(got[i * EMBED + d]));
                else
                    assert_float_equal(got[i * EMBED + d], want[i * EMBED + d], 1e-5);
            }
        }
        assert_int_equal(r.errors, 2);
        assert_int_equal(r.error_index[0], 4);
        assert_int_equal(r.error_status[0], LCLIP_E_IO);
        assert_non_null(strstr(r.error_message[0], missing));
        assert_int_equal(r.error_index[1], 9);
        assert_non_null(strstr(r.error_message[1], "not a PNG, JPEG, WebP, GIF or BMP image"));
        assert_int_equal(r.progress_calls, 1);
        assert_int_equal(r.done[0], N_IMAGES);

        /* Only bad files: still a successful call, every row NaN. */
        const char *bad[2] = {missing, text_jpg};
        b = batch_options(&r, status);
        assert_int_equal(lclip_image_encode_files_ex(enc, bad, 2, got, &b), LCLIP_OK);
        assert_int_equal(r.errors, 2);
        for (size_t d = 0; d < 2 * EMBED; d++)
            assert_true(isnan(got[d]));
        /* The message alone (no status array) is enough to ask for it. */
        b = batch_options(&r, NULL);
        assert_int_equal(lclip_image_encode_files_ex(enc, paths, N_IMAGES, got, &b), LCLIP_OK);
        assert_int_equal(r.errors, 2);
        assert_true(isnan(got[4 * EMBED]) && !isnan(got[5 * EMBED]));
        /* Without per-input results the batch fails as a whole, as before. */
        b.on_item_error = NULL;
        assert_int_equal(lclip_image_encode_files_ex(enc, paths, N_IMAGES, got, &b), LCLIP_E_IO);
        lclip_image_encoder_close(enc);
    }
    free(text_jpg);
    free(missing);
}

/* Failed inputs at the edges of passes and a run of them across two passes:
 * each good input's row lands in its own place (three passes of 34). */
static void test_per_input_results_across_passes(void **state)
{
    fixture *f = *state;
    if (!f->fixtures)
        skip();
    enum { N = 100 };
    char *missing = join_path(f->tmp, "missing.png");
    const char *paths[N];
    int bad[N] = {0};
    const int edges[] = {0, 33, 34, 67, 68, 99};
    for (size_t i = 0; i < sizeof edges / sizeof *edges; i++)
        bad[edges[i]] = 1;
    for (int i = 60; i < 70; i++)
        bad[i] = 1;
    for (size_t i = 0; i < N; i++)
        paths[i] = bad[i] ? missing : f->paths[i % N_IMAGES];
    static float want[N_IMAGES * EMBED], got[N * EMBED];
    static lclip_status status[N];
    for (int threads = 0; threads <= 3; threads += 3) {
        lclip_image_encoder *enc = open_image_threads(f, "tiny-quickgelu/hf", 1, threads);
        assert_int_equal(lclip_image_encode_files(enc, (const char *const *)f->paths, N_IMAGES, want), LCLIP_OK);
        lclip_batch_options b;
        lclip_batch_options_init(&b);
        b.item_status = status;
        assert_int_equal(lclip_image_encode_files_ex(enc, paths, N, got, &b), LCLIP_OK);
        for (size_t i = 0; i < N; i++) {
            assert_int_equal(status[i], bad[i] ? LCLIP_E_IO : LCLIP_OK);
            for (size_t d = 0; d < EMBED; d++) {
                float v = got[i * EMBED + d];
                if (bad[i])
                    assert_true(isnan(v));
                else
                    assert_float_equal(v, want[(i % N_IMAGES) * EMBED + d], 1e-5);
            }
        }
        lclip_image_encoder_close(enc);
    }
    free(missing);
}

/* Progress after every pass, in order, ending at n; returning non-zero stops
 * the call before the next pass and writes nothing. */
static void test_progress_and_cancellation(void **state)
{
    fixture *f = *state;
    if (!f->fixtures)
        skip();
    enum { N = 4 * N_IMAGES }; /* two passes of the tiny model (45 images per pass) */
    const char *paths[N];
    for (size_t i = 0; i < N; i++)
        paths[i] = f->paths[i % N_IMAGES];
    lclip_image_encoder *enc = open_image_threads(f, "tiny-gelu/hf", 1, 2);
    static float out[N * EMBED], pixels[N * PIXELS];
    lclip_status status[N];
    batch_report r;
    lclip_batch_options b = batch_options(&r, NULL);
    assert_int_equal(lclip_image_encode_files_ex(enc, paths, N, out, &b), LCLIP_OK);
    assert_int_equal(r.progress_calls, 2);
    assert_true(r.done[0] > 0 && r.done[0] < N);
    assert_int_equal(r.done[1], N);
    assert_int_equal(r.total, N);

    for (size_t i = 0; i < N * EMBED; i++)
        out[i] = 42.0f;
    for (size_t i = 0; i < N; i++)
        status[i] = (lclip_status)99;
    b = batch_options(&r, status);
    r.cancel_at = 1;
    assert_int_equal(lclip_image_encode_files_ex(enc, paths, N, out, &b), LCLIP_E_CANCELLED);
    assert_int_equal(r.progress_calls, 1);
    assert_non_null(strstr(lclip_last_error(), "cancelled"));
    for (size_t i = 0; i < N * EMBED; i++)
        assert_float_equal(out[i], 42.0f, 0.0);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(status[i], 99);

    /* Tensors: progress and cancellation too. */
    for (size_t i = 0; i < N; i++)
        assert_int_equal(lclip_image_preprocess_file(enc, paths[i], pixels + i * PIXELS), LCLIP_OK);
    b = batch_options(&r, NULL);
    assert_int_equal(lclip_image_encode_pixels_ex(enc, pixels, N, out, &b), LCLIP_OK);
    assert_int_equal(r.progress_calls, 2);
    b = batch_options(&r, NULL);
    r.cancel_at = 2; /* after the last pass: the call still writes nothing */
    for (size_t i = 0; i < N * EMBED; i++)
        out[i] = 42.0f;
    assert_int_equal(lclip_image_encode_pixels_ex(enc, pixels, N, out, &b), LCLIP_E_CANCELLED);
    assert_float_equal(out[N * EMBED - 1], 42.0f, 0.0);
    lclip_image_encoder_close(enc);
}

/* Log lines, gathered from whichever thread decodes. */
typedef struct log_capture {
    pthread_mutex_t lock;
    int warnings, infos;
    char first_warning[512];
} log_capture;

static void capture_log(void *user, lclip_log_level level, const char *message)
{
    log_capture *c = user;
    pthread_mutex_lock(&c->lock);
    if (level == LCLIP_LOG_WARNING && c->warnings++ == 0)
        snprintf(c->first_warning, sizeof c->first_warning, "%s", message);
    c->infos += level == LCLIP_LOG_INFO;
    pthread_mutex_unlock(&c->lock);
}

/* A JPEG with stray bytes between two header segments decodes (as in
 * Pillow) to the same pixels; libjpeg's warning reaches the log callback
 * instead of vanishing, once, also when a helper thread decodes. */
static void test_decoder_warnings_reach_the_log(void **state)
{
    fixture *f = *state;
    if (!f->fixtures)
        skip();
    char jpg[1024], model[1024];
    snprintf(jpg, sizeof jpg, "%s/images/photo_rocket_640x427_q92_444.jpg", f->fixtures);
    snprintf(model, sizeof model, "%s/models/tiny-gelu/hf", f->fixtures);
    size_t len;
    unsigned char *bytes = read_whole_file(jpg, &len);
    /* SOI, then the first segment: marker, 2-byte big-endian length. */
    assert_true(len > 6 && bytes[0] == 0xff && bytes[1] == 0xd8 && bytes[2] == 0xff);
    size_t cut = 4 + ((size_t)bytes[4] << 8 | bytes[5]);
    unsigned char *stray = malloc(len + 3);
    memcpy(stray, bytes, cut);
    memcpy(stray + cut, "\x01\x02\x03", 3);
    memcpy(stray + cut + 3, bytes + cut, len - cut);
    char *path = join_path(f->tmp, "stray.jpg");
    write_bytes_file(path, stray, len + 3);
    for (int threads = 0; threads <= 2; threads += 2) {
        log_capture c = {.warnings = 0};
        pthread_mutex_init(&c.lock, NULL);
        lclip_options opts;
        lclip_options_init(&opts);
        opts.n_threads = threads;
        opts.log = capture_log;
        opts.log_user = &c;
        lclip_image_encoder *enc;
        assert_int_equal(lclip_image_encoder_open(model, &opts, &enc), LCLIP_OK);
        float clean[2 * EMBED], warned[2 * EMBED];
        const char *clean_paths[2] = {jpg, jpg}, *warned_paths[2] = {jpg, path};
        assert_int_equal(lclip_image_encode_files(enc, clean_paths, 2, clean), LCLIP_OK);
        assert_int_equal(c.warnings, 0);
        assert_int_equal(lclip_image_encode_files(enc, warned_paths, 2, warned), LCLIP_OK);
        assert_int_equal(c.warnings, 1);
        assert_non_null(strstr(c.first_warning, path));
        assert_non_null(strstr(c.first_warning, "JPEG warning: Corrupt JPEG data: 3 extraneous bytes"));
        assert_same(clean, warned, 2 * EMBED);
        lclip_image_encoder_close(enc);
        pthread_mutex_destroy(&c.lock);
    }
    free(path);
    free(stray);
    free(bytes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_files_give_reference_tensors_and_embeddings),
        cmocka_unit_test(test_memory_and_rgb_inputs_equal_files),
        cmocka_unit_test(test_broken_files_give_clear_errors),
        cmocka_unit_test(test_team_decodes_files_and_reports_the_first_bad_one),
        cmocka_unit_test(test_per_input_results_skip_bad_files),
        cmocka_unit_test(test_per_input_results_across_passes),
        cmocka_unit_test(test_progress_and_cancellation),
        cmocka_unit_test(test_decoder_warnings_reach_the_log),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
