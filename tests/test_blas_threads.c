/* What n_threads > 0 does to the BLAS's own thread count, as libclip.h
 * states it, for whichever BLAS the loader picked (CI runs this test once
 * more with Debian's OpenMP OpenBLAS):
 *  - OpenMP OpenBLAS: the calling thread's OpenMP count is 1 during the call
 *    (seen from the progress callback, which runs on it), and so is a
 *    helper thread's (seen from a log line a helper emits while decoding);
 *    the caller's is restored after the call, also a failed or cancelled one;
 *  - pthreads OpenBLAS, BLIS: the process-wide count is 1 afterwards, and
 *    the log callback says so the first time;
 *  - n_threads = 0 changes nothing;
 *  - the oneDNN engine, which makes no BLAS call, changes nothing either.
 * The BLAS is reached through dlsym, so the test links only libclip.
 * LIBCLIP_EXPECT_BLAS_THREADING names the threading the run must have
 * (CI's OpenMP run sets it, so that a loader path mistake cannot pass). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
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

typedef struct blas_calls {
    int (*get)(void); /* OpenMP's or OpenBLAS's */
    void (*set)(int);
    int64_t (*get_dim)(void); /* BLIS's take and return dim_t (int64_t) */
    void (*set_dim)(int64_t);
    const char *threading; /* "openmp", "pthreads", ... */
} blas_calls;

static int get_count(const blas_calls *b)
{
    return b->get ? b->get() : (int)b->get_dim();
}

static void set_count(const blas_calls *b, int n)
{
    if (b->set)
        b->set(n);
    else
        b->set_dim(n);
}

static void *find(const char *name)
{
    return dlsym(RTLD_DEFAULT, name);
}

/* The thread-count calls of the BLAS libclip reports in lclip_build_info. */
static blas_calls blas_of_this_process(void)
{
    blas_calls b = {NULL, NULL, NULL, NULL, "unknown"};
    const char *info = lclip_build_info(), *t = strstr(info, "blas_threading=");
    static char threading[32];
    if (t)
        sscanf(t + strlen("blas_threading="), "%31[a-z]", threading);
    b.threading = threading;
    if (strcmp(threading, "openmp") == 0 && strstr(info, "blas=OpenBLAS")) {
        b.get = (int (*)(void))find("omp_get_max_threads");
        b.set = (void (*)(int))find("omp_set_num_threads");
    } else if (strstr(info, "blas=OpenBLAS")) {
        b.get = (int (*)(void))find("openblas_get_num_threads");
        b.set = (void (*)(int))find("openblas_set_num_threads");
    } else if (strstr(info, "blas=BLIS")) {
        b.get_dim = (int64_t(*)(void))find("bli_thread_get_num_threads");
        b.set_dim = (void (*)(int64_t))find("bli_thread_set_num_threads");
    }
    return b;
}

typedef struct seen {
    pthread_mutex_t lock; /* the log callback runs on several threads at once */
    const blas_calls *blas;
    int count_during_call; /* the calling thread's count, from the progress callback */
    int process_wide_lines;
    pthread_t caller;
    int helper_count; /* a helper's count, from its JPEG warning; -1: none seen */
} seen;

static int look_during_call(void *user, size_t done, size_t total)
{
    seen *s = user;
    (void)done;
    (void)total;
    s->count_during_call = get_count(s->blas);
    return 0;
}

static void count_lines(void *user, lclip_log_level level, const char *message)
{
    seen *s = user;
    pthread_mutex_lock(&s->lock);
    s->process_wide_lines += level == LCLIP_LOG_INFO && strstr(message, "process-wide thread count set") != NULL;
    if (strstr(message, "JPEG warning") && !pthread_equal(pthread_self(), s->caller))
        s->helper_count = get_count(s->blas);
    pthread_mutex_unlock(&s->lock);
}

/* A text encode on engine; LCLIP_E_UNSUPPORTED where it cannot open. */
static int encode_once(const char *model, int n_threads, lclip_engine engine, seen *s)
{
    lclip_options opts;
    lclip_options_init(&opts);
    opts.n_threads = n_threads;
    opts.engine = engine;
    opts.log = count_lines;
    opts.log_user = s;
    lclip_text_encoder *enc;
    lclip_status opened = lclip_text_encoder_open(model, &opts, &enc);
    if (opened == LCLIP_E_UNSUPPORTED)
        return opened;
    assert_int_equal(opened, LCLIP_OK);
    int32_t ids[4 * 8] = {1, 5, 9, 0, 0, 0, 0, 0, 1, 7, 0, 0, 0, 0, 0, 0};
    float out[2 * 256]; /* dim is far below 256 */
    lclip_batch_options b;
    lclip_batch_options_init(&b);
    b.on_progress = look_during_call;
    b.user = s;
    s->count_during_call = -1;
    lclip_status status = lclip_text_encode_tokens_ex(enc, ids, 2, out, &b);
    lclip_text_encoder_close(enc);
    return status;
}

static int cancel_at_once(void *user, size_t done, size_t total)
{
    (void)user;
    (void)done;
    (void)total;
    return 1;
}

/* A fixture JPEG with 3 stray bytes after its first segment: it decodes
 * with a libjpeg warning. Written to dir/stray.jpg; NULL without fixtures. */
static char *write_warning_jpeg(const char *dir)
{
    const char *fixtures = fixtures_dir();
    if (!fixtures)
        return NULL;
    char *jpg = join_path(fixtures, "images/photo_rocket_640x427_q92_444.jpg");
    size_t len;
    unsigned char *bytes = read_whole_file(jpg, &len);
    assert_true(len > 6 && bytes[0] == 0xff && bytes[1] == 0xd8);
    size_t cut = 4 + ((size_t)bytes[4] << 8 | bytes[5]);
    char *path = join_path(dir, "stray.jpg");
    unsigned char *stray = malloc(len + 3);
    memcpy(stray, bytes, cut);
    memcpy(stray + cut, "\x01\x02\x03", 3);
    memcpy(stray + cut + 3, bytes + cut, len - cut);
    write_bytes_file(path, stray, len + 3);
    free(stray);
    free(bytes);
    free(jpg);
    return path;
}

/* An image batch of two on a team of two: the helper decodes the second
 * file, whose warning tells its count. Then a failed and a cancelled call:
 * the calling thread's count comes back after both (OpenMP). */
static void check_helpers_and_restoring(const char *model, seen *s)
{
    char *stray = write_warning_jpeg(model);
    if (!stray)
        return;
    lclip_options opts;
    lclip_options_init(&opts);
    opts.n_threads = 2;
    opts.engine = LCLIP_ENGINE_CBLAS;
    opts.log = count_lines;
    opts.log_user = s;
    lclip_image_encoder *enc;
    assert_int_equal(lclip_image_encoder_open(model, &opts, &enc), LCLIP_OK);
    const char *files[2] = {stray, stray}, *broken[2] = {stray, "/nonexistent/libclip.png"};
    float out[2 * 256];
    s->caller = pthread_self();
    s->helper_count = -1;
    set_count(s->blas, 2);
    assert_int_equal(lclip_image_encode_files(enc, files, 2, out), LCLIP_OK);
    assert_int_equal(s->helper_count, 1);
    int after = strcmp(s->blas->threading, "openmp") == 0 ? 2 : 1;
    assert_int_equal(get_count(s->blas), after);
    set_count(s->blas, 2);
    assert_int_equal(lclip_image_encode_files(enc, broken, 2, out), LCLIP_E_IO);
    assert_int_equal(get_count(s->blas), after);
    set_count(s->blas, 2);
    lclip_batch_options b;
    lclip_batch_options_init(&b);
    b.on_progress = cancel_at_once;
    assert_int_equal(lclip_image_encode_files_ex(enc, files, 2, out, &b), LCLIP_E_CANCELLED);
    assert_int_equal(get_count(s->blas), after);
    lclip_image_encoder_close(enc);
    free(stray);
}

/* n_threads = 2 on the oneDNN engine (where it runs here): the count is
 * the caller's during the call and after it, and no log line says it
 * changed. */
static void check_onednn_leaves_it(const char *model, seen *s)
{
    if (!strstr(lclip_build_info(), "onednn"))
        return;
    set_count(s->blas, 2);
    s->process_wide_lines = 0;
    lclip_status status = encode_once(model, 2, LCLIP_ENGINE_ONEDNN, s);
    if (status == LCLIP_E_UNSUPPORTED)
        return; /* no oneDNN kernel for this CPU */
    assert_int_equal(status, LCLIP_OK);
    assert_int_equal(s->count_during_call, 2);
    assert_int_equal(get_count(s->blas), 2);
    assert_int_equal(s->process_wide_lines, 0);
}

static void test_n_threads_and_the_blas_count(void **state)
{
    (void)state;
    blas_calls blas = blas_of_this_process();
    const char *expected = getenv("LIBCLIP_EXPECT_BLAS_THREADING");
    if (expected && strcmp(expected, blas.threading) != 0)
        fail_msg("the BLAS runs %s threads, expected %s", blas.threading, expected);
    if ((!(blas.get && blas.set) && !(blas.get_dim && blas.set_dim)) || strcmp(blas.threading, "serial") == 0 ||
        strcmp(blas.threading, "unknown") == 0)
        skip(); /* a serial BLAS, or one without thread-count calls: nothing to check */
    print_message("  BLAS threading: %s\n", blas.threading);
    char *dir = make_temp_dir();
    tiny_spec spec = tiny_spec_default();
    tiny_write_hf(dir, &spec, "F32");

    seen s = {PTHREAD_MUTEX_INITIALIZER, &blas, 0, 0, pthread_self(), -1};
    set_count(&blas, 2);
    assert_int_equal(encode_once(dir, 0, LCLIP_ENGINE_CBLAS, &s), LCLIP_OK);
    assert_int_equal(s.count_during_call, 2); /* n_threads 0 leaves the BLAS alone */
    assert_int_equal(get_count(&blas), 2);
    assert_int_equal(s.process_wide_lines, 0);

    assert_int_equal(encode_once(dir, 2, LCLIP_ENGINE_CBLAS, &s), LCLIP_OK);
    assert_int_equal(s.count_during_call, 1);
    if (strcmp(blas.threading, "openmp") == 0) {
        assert_int_equal(get_count(&blas), 2); /* the calling thread's own count, restored */
        assert_int_equal(s.process_wide_lines, 0);
    } else {
        assert_int_equal(get_count(&blas), 1); /* one count for the process, left at 1 */
        assert_int_equal(s.process_wide_lines, 1);
        assert_int_equal(encode_once(dir, 2, LCLIP_ENGINE_CBLAS, &s), LCLIP_OK);
        assert_int_equal(s.process_wide_lines, 1); /* said once, when it changed */
    }
    check_helpers_and_restoring(dir, &s);
    check_onednn_leaves_it(dir, &s);
    rm_tree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_n_threads_and_the_blas_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
