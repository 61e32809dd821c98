/* Classifiers as an application uses them: zero-shot against the reference's
 * prompt ensemble, apply, the file (round trip, every truncation and
 * corruption refused, nothing written on error), and bad input. */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <pthread.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <zlib.h>

#include "libclip.h"
#include "support/golden.h"
#include "support/test_util.h"
#include "support/tiny_model.h"

#define EMBED 32

static const char *const models[2] = {"tiny-quickgelu", "tiny-gelu"};

/* ---- helpers ----------------------------------------------------------- */

static char **read_lines(const char *path, size_t *count)
{
    size_t len;
    char *text = read_whole_file(path, &len);
    assert_non_null(text);
    char **lines = calloc(len + 1, sizeof *lines);
    size_t n = 0, start = 0;
    for (size_t i = 0; i < len; i++)
        if (text[i] == '\n') {
            lines[n] = strndup(text + start, i - start);
            n++;
            start = i + 1;
        }
    if (start < len)
        lines[n++] = strndup(text + start, len - start);
    free(text);
    *count = n;
    return lines;
}

static void free_lines(char **lines, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(lines[i]);
    free(lines);
}

static cJSON *read_json(const char *fixtures, const char *relative)
{
    char *path = join_path(fixtures, relative);
    size_t len;
    char *text = read_whole_file(path, &len);
    assert_non_null(text);
    cJSON *json = cJSON_ParseWithLength(text, len);
    assert_non_null(json);
    free(text);
    free(path);
    return json;
}

/* A small classifier with non-ASCII names and irregular values. */
static lclip_classifier *make_small(size_t n_classes, size_t dim)
{
    const char *names[4] = {"cat", "Ærøskøbing harbour", "cup of coffee", "rocket"};
    float *vectors = malloc(n_classes * dim * sizeof *vectors), bias[4];
    for (size_t i = 0; i < n_classes * dim; i++)
        vectors[i] = sinf((float)i * 0.7f + 0.1f) / 3.0f;
    for (size_t c = 0; c < n_classes; c++)
        bias[c] = 0.25f * (float)c - 0.3f;
    lclip_classifier *cls = NULL;
    assert_int_equal(lclip_classifier_create(vectors, bias, names, n_classes, dim, 12.5f, &cls), LCLIP_OK);
    free(vectors);
    return cls;
}

static unsigned char *saved_bytes(const lclip_classifier *cls, size_t *size)
{
    char *dir = make_temp_dir(), *path = join_path(dir, "c.lclip");
    assert_int_equal(lclip_classifier_save(cls, path), LCLIP_OK);
    unsigned char *bytes = read_whole_file(path, size);
    assert_non_null(bytes);
    rm_tree(dir);
    free(path);
    free(dir);
    return bytes;
}

static void put_u32(unsigned char *at, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        at[i] = (unsigned char)(v >> (8 * i));
}

/* Rewrites the trailing CRC-32 after an edit, so that the edit itself is judged. */
static void reseal(unsigned char *bytes, size_t size)
{
    put_u32(bytes + size - 4, (uint32_t)crc32(crc32(0L, Z_NULL, 0), bytes, (uInt)(size - 4)));
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* ---- zero-shot against the reference ----------------------------------- */

static lclip_text_encoder *open_text(const char *fixtures, const char *model)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/models/%s/hf", fixtures, model);
    lclip_text_encoder *enc;
    if (lclip_text_encoder_open(path, NULL, &enc) != LCLIP_OK)
        fail_msg("%s: %s", path, lclip_last_error());
    return enc;
}

static void test_zeroshot_matches_reference(void **state)
{
    (void)state;
    const char *fixtures = fixtures_dir();
    if (!fixtures)
        skip();
    cJSON *spec = read_json(fixtures, "zeroshot/zeroshot.json");
    const cJSON *classes = cJSON_GetObjectItemCaseSensitive(spec, "classes");
    const cJSON *images = cJSON_GetObjectItemCaseSensitive(spec, "images");
    size_t n_classes = (size_t)cJSON_GetArraySize(classes), n_images = (size_t)cJSON_GetArraySize(images);
    const char **names = calloc(n_classes, sizeof *names);
    for (size_t c = 0; c < n_classes; c++)
        names[c] = cJSON_GetArrayItem(classes, (int)c)->valuestring;
    char *templates_path = join_path(fixtures, "zeroshot/templates.txt");
    size_t n_templates;
    char **templates = read_lines(templates_path, &n_templates);
    assert_int_equal(n_templates, 80);
    /* The images' preprocessed tensors, in zeroshot.json's order. */
    float *pixels = malloc(n_images * 3 * 32 * 32 * sizeof *pixels);
    for (size_t i = 0; i < n_images; i++) {
        char relative[512];
        const char *file = cJSON_GetArrayItem(images, (int)i)->valuestring;
        snprintf(relative, sizeof relative, "golden/preprocess-32/%.*s.f32", (int)(strrchr(file, '.') - file), file);
        float *one = golden_read(fixtures, relative, 3 * 32 * 32, sizeof(float));
        memcpy(pixels + i * 3 * 32 * 32, one, 3 * 32 * 32 * sizeof *one);
        free(one);
    }
    for (int m = 0; m < 2; m++) {
        char relative[256], label[128];
        lclip_text_encoder *text = open_text(fixtures, models[m]);
        lclip_classifier *cls = NULL;
        if (lclip_classifier_zeroshot(text, names, n_classes, (const char *const *)templates, n_templates, NULL,
                                      &cls) != LCLIP_OK)
            fail_msg("%s: zero-shot: %s", models[m], lclip_last_error());
        assert_int_equal(lclip_classifier_get_kind(cls), LCLIP_CLASSIFIER_ZEROSHOT);
        assert_int_equal(lclip_classifier_classes(cls), n_classes);
        assert_int_equal(lclip_classifier_dim(cls), EMBED);
        for (size_t c = 0; c < n_classes; c++)
            assert_string_equal(lclip_classifier_class_name(cls, c), names[c]);
        const cJSON *model = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(spec, "models"),
                                                             models[m]);
        double scale = cJSON_GetObjectItemCaseSensitive(model, "logit_scale_exp")->valuedouble;
        assert_true(fabs(lclip_classifier_logit_scale(cls) - scale) <= 1e-5 * scale);
        snprintf(relative, sizeof relative, "zeroshot/%s/class_vectors.f32", models[m]);
        float *ref_vectors = golden_read(fixtures, relative, n_classes * EMBED, sizeof(float));
        snprintf(label, sizeof label, "%s class vectors", models[m]);
        assert_embeddings_match(lclip_classifier_vectors(cls), ref_vectors, n_classes, EMBED, label);

        /* The 13 images' probabilities, through the image encoder. */
        char path[1024];
        snprintf(path, sizeof path, "%s/models/%s/hf", fixtures, models[m]);
        lclip_image_encoder *image;
        assert_int_equal(lclip_image_encoder_open(path, NULL, &image), LCLIP_OK);
        float *embeds = malloc(n_images * EMBED * sizeof *embeds);
        float *probs = malloc(n_images * n_classes * sizeof *probs);
        assert_int_equal(lclip_image_encode_pixels(image, pixels, n_images, embeds), LCLIP_OK);
        assert_int_equal(lclip_classifier_apply(cls, embeds, n_images, EMBED, NULL, probs), LCLIP_OK);
        snprintf(relative, sizeof relative, "zeroshot/%s/probs.f32", models[m]);
        float *ref_probs = golden_read(fixtures, relative, n_images * n_classes, sizeof(float));
        double worst = 0;
        for (size_t i = 0; i < n_images * n_classes; i++)
            worst = fmax(worst, fabs((double)probs[i] - ref_probs[i]));
        print_message("%s: max |probability - reference| = %.2g\n", models[m], worst);
        assert_true(worst <= 0.002);
        free(ref_probs);
        free(probs);
        free(embeds);
        free(ref_vectors);
        lclip_image_encoder_close(image);
        lclip_classifier_free(cls);
        lclip_text_encoder_close(text);
    }
    free(pixels);
    free_lines(templates, n_templates);
    free(templates_path);
    free(names);
    cJSON_Delete(spec);
}

static int cancel_after_two(void *user, size_t done, size_t total)
{
    size_t *calls = user;
    (*calls)++;
    assert_int_equal(total, 3);
    assert_int_equal(done, *calls);
    return done == 2;
}

static void test_zeroshot_progress_and_cancel(void **state)
{
    (void)state;
    const char *fixtures = fixtures_dir();
    if (!fixtures)
        skip();
    lclip_text_encoder *text = open_text(fixtures, models[0]);
    const char *names[3] = {"cat", "dog", "car"};
    size_t n;
    const char *const *photo = lclip_template_set("photo", &n);
    size_t calls = 0;
    lclip_batch_options batch;
    lclip_batch_options_init(&batch);
    batch.on_progress = cancel_after_two;
    batch.user = &calls;
    lclip_classifier *cls = (lclip_classifier *)&calls;
    assert_int_equal(lclip_classifier_zeroshot(text, names, 3, photo, n, &batch, &cls), LCLIP_E_CANCELLED);
    assert_null(cls);
    assert_int_equal(calls, 2);
    /* item_status makes no sense for a class: refused. */
    lclip_status item_status[3];
    batch.on_progress = NULL;
    batch.item_status = item_status;
    assert_int_equal(lclip_classifier_zeroshot(text, names, 3, photo, n, &batch, &cls), LCLIP_E_INVALID_ARGUMENT);
    /* One template with the name appended equals the "{}" form. */
    const char *appended[1] = {"a photo of a"}, *slotted[1] = {"a photo of a {}"};
    lclip_classifier *a, *b;
    assert_int_equal(lclip_classifier_zeroshot(text, names, 3, appended, 1, NULL, &a), LCLIP_OK);
    assert_int_equal(lclip_classifier_zeroshot(text, names, 3, slotted, 1, NULL, &b), LCLIP_OK);
    assert_memory_equal(lclip_classifier_vectors(a), lclip_classifier_vectors(b), 3 * EMBED * sizeof(float));
    /* ... and a class vector is the normalised text embedding of its prompt. */
    float embed[EMBED];
    assert_int_equal(lclip_text_encode(text, "a photo of a dog", embed), LCLIP_OK);
    for (int d = 0; d < EMBED; d++)
        assert_true(fabsf(lclip_classifier_vectors(a)[EMBED + d] - embed[d]) <= 1e-6f);
    lclip_classifier_free(a);
    lclip_classifier_free(b);
    lclip_text_encoder_close(text);

    /* A prompt too long for the context, with truncation off: TOO_LARGE, naming the class. */
    char path[1024], long_name[1200] = "";
    snprintf(path, sizeof path, "%s/models/%s/hf", fixtures, models[0]);
    lclip_options opts;
    lclip_options_init(&opts);
    opts.truncate_text = 0;
    assert_int_equal(lclip_text_encoder_open(path, &opts, &text), LCLIP_OK);
    for (int i = 0; i < 100; i++)
        strcat(long_name, "word ");
    const char *long_names[2] = {"cat", long_name};
    assert_int_equal(lclip_classifier_zeroshot(text, long_names, 2, photo, n, NULL, &cls), LCLIP_E_TOO_LARGE);
    assert_null(cls);
    assert_non_null(strstr(lclip_last_error(), "class \"word word"));
    lclip_text_encoder_close(text);
}

static void test_template_sets(void **state)
{
    (void)state;
    size_t n = 99;
    assert_null(lclip_template_set("nonesuch", &n));
    assert_int_equal(n, 0);
    assert_null(lclip_template_set(NULL, &n));
    const char *const *photo = lclip_template_set("photo", &n);
    assert_int_equal(n, 1);
    assert_string_equal(photo[0], "a photo of a {}.");
    const char *const *imagenet = lclip_template_set("imagenet", &n);
    assert_int_equal(n, 80);
    const char *fixtures = fixtures_dir();
    if (!fixtures)
        return; /* the count alone */
    char *path = join_path(fixtures, "zeroshot/templates.txt");
    size_t n_lines;
    char **lines = read_lines(path, &n_lines);
    assert_int_equal(n_lines, 80);
    for (size_t i = 0; i < n_lines; i++)
        assert_string_equal(imagenet[i], lines[i]);
    free_lines(lines, n_lines);
    free(path);
}

/* ---- bad zero-shot input: a self-made model, no fixture needed ---------- */

static void test_zeroshot_bad_input(void **state)
{
    (void)state;
    char *dir = make_temp_dir();
    tiny_spec spec = tiny_spec_default();
    tiny_write_hf(dir, &spec, "F32");
    lclip_text_encoder *text;
    assert_int_equal(lclip_text_encoder_open(dir, NULL, &text), LCLIP_OK); /* no vocabulary beside it */
    const char *names[2] = {"cat", "dog"}, *one[1] = {"a photo of a {}."};
    lclip_classifier *cls = (lclip_classifier *)dir;
    const struct {
        const char *const *names;
        size_t n_names;
        const char *const *templates;
        size_t n_templates;
        lclip_status expected;
    } cases[] = {
        {names, 0, one, 1, LCLIP_E_INVALID_ARGUMENT},                                   /* empty class list */
        {NULL, 2, one, 1, LCLIP_E_INVALID_ARGUMENT},                                    /* no names */
        {names, 2, NULL, 1, LCLIP_E_INVALID_ARGUMENT},                                  /* no templates */
        {names, 2, one, 0, LCLIP_E_INVALID_ARGUMENT},                                   /* zero templates */
        {(const char *[]){"cat", "cat"}, 2, one, 1, LCLIP_E_INVALID_ARGUMENT},          /* duplicate */
        {(const char *[]){"cat", ""}, 2, one, 1, LCLIP_E_INVALID_ARGUMENT},             /* empty name */
        {(const char *[]){"cat", NULL}, 2, one, 1, LCLIP_E_INVALID_ARGUMENT},           /* NULL name */
        {(const char *[]){"cat", "d\xC3("}, 2, one, 1, LCLIP_E_INVALID_ARGUMENT},       /* invalid UTF-8 */
        {names, 2, (const char *[]){"a {} and a {}"}, 1, LCLIP_E_INVALID_ARGUMENT},     /* two "{}" */
        {names, 2, (const char *[]){"ok {}", NULL}, 2, LCLIP_E_INVALID_ARGUMENT},       /* NULL template */
        {names, 2, (const char *[]){"\xFF {}"}, 1, LCLIP_E_INVALID_ARGUMENT},           /* invalid UTF-8 */
        {names, 2, one, 1, LCLIP_E_UNSUPPORTED},                                        /* no vocabulary */
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cls = (lclip_classifier *)dir;
        lclip_status s = lclip_classifier_zeroshot(text, cases[i].names, cases[i].n_names, cases[i].templates,
                                                   cases[i].n_templates, NULL, &cls);
        if (s != cases[i].expected)
            fail_msg("case %zu: %s (%s), expected %s", i, lclip_strerror(s), lclip_last_error(),
                     lclip_strerror(cases[i].expected));
        assert_null(cls);
        assert_true(strlen(lclip_last_error()) > 0);
    }
    /* The encoder's failure names the class it happened on. */
    assert_int_equal(lclip_classifier_zeroshot(text, names, 2, one, 1, NULL, &cls), LCLIP_E_UNSUPPORTED);
    assert_non_null(strstr(lclip_last_error(), "class \"cat\""));
    assert_int_equal(lclip_classifier_zeroshot(NULL, names, 2, one, 1, NULL, &cls), LCLIP_E_INVALID_ARGUMENT);
    assert_int_equal(lclip_classifier_zeroshot(text, names, 2, one, 1, NULL, NULL), LCLIP_E_INVALID_ARGUMENT);
    lclip_text_encoder_close(text);
    rm_tree(dir);
    free(dir);
}

/* ---- create, accessors, apply ------------------------------------------ */

static void test_create_and_apply(void **state)
{
    (void)state;
    lclip_classifier *cls = make_small(3, 5);
    assert_int_equal(lclip_classifier_get_kind(cls), LCLIP_CLASSIFIER_VECTORS);
    assert_int_equal(lclip_classifier_classes(cls), 3);
    assert_int_equal(lclip_classifier_dim(cls), 5);
    assert_string_equal(lclip_classifier_class_name(cls, 1), "Ærøskøbing harbour");
    assert_null(lclip_classifier_class_name(cls, 3));
    assert_true(lclip_classifier_logit_scale(cls) == 12.5f);
    assert_true(lclip_classifier_bias(cls)[2] == 0.25f * 2.0f - 0.3f);
    /* Accessors of NULL. */
    assert_int_equal(lclip_classifier_classes(NULL), 0);
    assert_int_equal(lclip_classifier_dim(NULL), 0);
    assert_null(lclip_classifier_class_name(NULL, 0));
    assert_true(isnan(lclip_classifier_logit_scale(NULL)));
    assert_null(lclip_classifier_vectors(NULL));
    assert_null(lclip_classifier_bias(NULL));
    lclip_classifier_free(NULL);

    /* Two embeddings, the second a scaled copy of the first: same result. */
    float e[2][5] = {{0.3f, -1.2f, 0.5f, 2.0f, 0.1f}, {0}};
    for (int d = 0; d < 5; d++)
        e[1][d] = 7.0f * e[0][d];
    float logits[6], probs[6], probs_only[6];
    assert_int_equal(lclip_classifier_apply(cls, &e[0][0], 2, 5, logits, probs), LCLIP_OK);
    assert_int_equal(lclip_classifier_apply(cls, &e[0][0], 2, 5, NULL, probs_only), LCLIP_OK);
    double norm = 0, sum = 0;
    for (int d = 0; d < 5; d++)
        norm += (double)e[0][d] * e[0][d];
    norm = sqrt(norm);
    for (int c = 0; c < 3; c++) {
        double dot = 0;
        for (int d = 0; d < 5; d++)
            dot += e[0][d] / norm * lclip_classifier_vectors(cls)[c * 5 + d];
        double expected = 12.5 * dot + lclip_classifier_bias(cls)[c];
        assert_true(fabs(logits[c] - expected) <= 1e-5);
        assert_true(fabs(logits[3 + c] - expected) <= 1e-5);
        sum += exp(expected);
    }
    for (int c = 0; c < 3; c++) {
        assert_true(fabs(probs[c] - exp(logits[c]) / sum) <= 1e-6);
        assert_true(fabs(probs_only[c] - probs[c]) <= 1e-7);
        assert_true(fabs(probs[3 + c] - probs[c]) <= 1e-6);
    }
    /* Huge logits: the softmax stays finite. */
    float big[2] = {1, 0};
    lclip_classifier *huge;
    const char *two[2] = {"a", "b"};
    float hv[4] = {1, 0, -1, 0};
    assert_int_equal(lclip_classifier_create(hv, NULL, two, 2, 2, 1e30f, &huge), LCLIP_OK);
    float hp[2];
    assert_int_equal(lclip_classifier_apply(huge, big, 1, 2, NULL, hp), LCLIP_OK);
    assert_true(hp[0] == 1.0f && hp[1] == 0.0f);
    lclip_classifier_free(huge);

    /* Bad input: another dimension, NaN, a zero row; outputs untouched. */
    float untouched[6] = {-1, -1, -1, -1, -1, -1};
    float bad_rows[2][5] = {{1, 0, 0, 0, 0}, {0, NAN, 0, 0, 0}};
    assert_int_equal(lclip_classifier_apply(cls, &e[0][0], 2, 4, untouched, NULL), LCLIP_E_INVALID_ARGUMENT);
    assert_int_equal(lclip_classifier_apply(cls, &bad_rows[0][0], 2, 5, untouched, untouched),
                     LCLIP_E_INVALID_ARGUMENT);
    assert_non_null(strstr(lclip_last_error(), "embedding 1"));
    bad_rows[1][1] = 0;
    assert_int_equal(lclip_classifier_apply(cls, &bad_rows[0][0], 2, 5, untouched, NULL), LCLIP_E_INVALID_ARGUMENT);
    for (int i = 0; i < 6; i++)
        assert_true(untouched[i] == -1);
    assert_int_equal(lclip_classifier_apply(NULL, &e[0][0], 1, 5, logits, NULL), LCLIP_E_INVALID_ARGUMENT);
    assert_int_equal(lclip_classifier_apply(cls, NULL, 1, 5, logits, NULL), LCLIP_E_INVALID_ARGUMENT);
    assert_int_equal(lclip_classifier_apply(cls, NULL, 0, 5, logits, NULL), LCLIP_OK);
    lclip_classifier_free(cls);

    /* create's own checks. */
    float v[4] = {1, 0, 0, 1}, nan_v[4] = {1, NAN, 0, 1}, nan_b[2] = {0, INFINITY};
    lclip_classifier *out = (lclip_classifier *)v;
    assert_int_equal(lclip_classifier_create(NULL, NULL, two, 2, 2, 1, &out), LCLIP_E_INVALID_ARGUMENT);
    assert_null(out);
    assert_int_equal(lclip_classifier_create(v, NULL, NULL, 2, 2, 1, &out), LCLIP_E_INVALID_ARGUMENT);
    assert_int_equal(lclip_classifier_create(v, NULL, two, 0, 2, 1, &out), LCLIP_E_INVALID_ARGUMENT);
    assert_int_equal(lclip_classifier_create(v, NULL, two, 2, 0, 1, &out), LCLIP_E_INVALID_ARGUMENT);
    assert_int_equal(lclip_classifier_create(nan_v, NULL, two, 2, 2, 1, &out), LCLIP_E_INVALID_ARGUMENT);
    assert_int_equal(lclip_classifier_create(v, nan_b, two, 2, 2, 1, &out), LCLIP_E_INVALID_ARGUMENT);
    assert_int_equal(lclip_classifier_create(v, NULL, two, 2, 2, NAN, &out), LCLIP_E_INVALID_ARGUMENT);
    assert_int_equal(lclip_classifier_create(v, NULL, two, 2, 2, 3e38f, &out), LCLIP_E_INVALID_ARGUMENT);
    assert_non_null(strstr(lclip_last_error(), "overflow"));
    assert_int_equal(lclip_classifier_create(v, NULL, (const char *[]){"a", "a"}, 2, 2, 1, &out),
                     LCLIP_E_INVALID_ARGUMENT);
    assert_int_equal(lclip_classifier_create(v, NULL, two, 2, 2, 1, NULL), LCLIP_E_INVALID_ARGUMENT);
}

/* ---- apply from several threads at once ---------------------------------- */

#define THREAD_ROWS 64
#define THREAD_DIM 16

typedef struct apply_job {
    const lclip_classifier *cls;
    const float *embeddings;
    float probs[THREAD_ROWS * 4];
    lclip_status status;
} apply_job;

static void *apply_many_times(void *arg)
{
    apply_job *job = arg;
    for (int round = 0; round < 50 && job->status == LCLIP_OK; round++)
        job->status = lclip_classifier_apply(job->cls, job->embeddings, THREAD_ROWS, THREAD_DIM, NULL, job->probs);
    return NULL;
}

static void test_apply_from_threads(void **state)
{
    (void)state;
    lclip_classifier *cls = make_small(4, THREAD_DIM);
    float *embeddings = malloc(THREAD_ROWS * THREAD_DIM * sizeof *embeddings), expected[THREAD_ROWS * 4];
    for (int i = 0; i < THREAD_ROWS * THREAD_DIM; i++)
        embeddings[i] = cosf((float)i * 1.3f);
    assert_int_equal(lclip_classifier_apply(cls, embeddings, THREAD_ROWS, THREAD_DIM, NULL, expected), LCLIP_OK);
    apply_job jobs[4];
    pthread_t threads[4];
    for (int t = 0; t < 4; t++) {
        jobs[t] = (apply_job){cls, embeddings, {0}, LCLIP_OK};
        assert_int_equal(pthread_create(&threads[t], NULL, apply_many_times, &jobs[t]), 0);
    }
    for (int t = 0; t < 4; t++) {
        assert_int_equal(pthread_join(threads[t], NULL), 0);
        assert_int_equal(jobs[t].status, LCLIP_OK);
        assert_memory_equal(jobs[t].probs, expected, sizeof expected);
    }
    free(embeddings);
    lclip_classifier_free(cls);
}

/* ---- the file ----------------------------------------------------------- */

static void assert_same_classifier(const lclip_classifier *a, const lclip_classifier *b)
{
    size_t k = lclip_classifier_classes(a), dim = lclip_classifier_dim(a);
    assert_int_equal(lclip_classifier_classes(b), k);
    assert_int_equal(lclip_classifier_dim(b), dim);
    assert_int_equal(lclip_classifier_get_kind(b), lclip_classifier_get_kind(a));
    float sa = lclip_classifier_logit_scale(a), sb = lclip_classifier_logit_scale(b);
    assert_memory_equal(&sa, &sb, sizeof sa);
    assert_memory_equal(lclip_classifier_vectors(a), lclip_classifier_vectors(b), k * dim * sizeof(float));
    assert_memory_equal(lclip_classifier_bias(a), lclip_classifier_bias(b), k * sizeof(float));
    for (size_t c = 0; c < k; c++)
        assert_string_equal(lclip_classifier_class_name(a, c), lclip_classifier_class_name(b, c));
}

static void test_save_load_round_trip(void **state)
{
    (void)state;
    lclip_classifier *cls = make_small(4, 7);
    char *dir = make_temp_dir(), *path = join_path(dir, "small.lclip");
    assert_int_equal(lclip_classifier_save(cls, path), LCLIP_OK);
    assert_int_equal(count_entries(dir), 1); /* no temporary left beside it */
    lclip_classifier *loaded;
    assert_int_equal(lclip_classifier_load(path, &loaded), LCLIP_OK);
    assert_same_classifier(cls, loaded);
    size_t size;
    unsigned char *bytes = read_whole_file(path, &size);
    lclip_classifier *from_memory;
    assert_int_equal(lclip_classifier_load_memory(bytes, size, &from_memory), LCLIP_OK);
    assert_same_classifier(cls, from_memory);
    /* Saving what was loaded gives the same bytes; saving over a file replaces it. */
    assert_int_equal(lclip_classifier_save(from_memory, path), LCLIP_OK);
    size_t again_size;
    unsigned char *again = read_whole_file(path, &again_size);
    assert_int_equal(again_size, size);
    assert_memory_equal(again, bytes, size);
    lclip_classifier *one_class = make_small(1, 3);
    assert_int_equal(lclip_classifier_save(one_class, path), LCLIP_OK);
    lclip_classifier_free(loaded);
    assert_int_equal(lclip_classifier_load(path, &loaded), LCLIP_OK);
    assert_same_classifier(one_class, loaded);
    assert_int_equal(count_entries(dir), 1);
    lclip_classifier_free(one_class);
    lclip_classifier_free(loaded);
    lclip_classifier_free(from_memory);
    lclip_classifier_free(cls);
    free(again);
    free(bytes);
    rm_tree(dir);
    free(path);
    free(dir);
}

static void test_truncated_and_corrupted_files_refused(void **state)
{
    (void)state;
    lclip_classifier *cls = make_small(3, 4);
    size_t size;
    unsigned char *bytes = saved_bytes(cls, &size);
    lclip_classifier *out = cls;
    for (size_t keep = 0; keep < size; keep++) {
        lclip_status s = lclip_classifier_load_memory(bytes, keep, &out);
        if (s != LCLIP_E_FORMAT)
            fail_msg("truncated to %zu of %zu bytes: %s", keep, size, lclip_strerror(s));
        assert_null(out);
    }
    for (size_t at = 0; at < size; at++)
        for (int bit = 0; bit < 8; bit += 7) {
            bytes[at] ^= (unsigned char)(1u << bit);
            lclip_status s = lclip_classifier_load_memory(bytes, size, &out);
            if (s != LCLIP_E_FORMAT)
                fail_msg("bit %d of byte %zu flipped: %s", bit, at, lclip_strerror(s));
            bytes[at] ^= (unsigned char)(1u << bit);
        }
    /* A file truncated on disk, and one that is not there. */
    char *dir = make_temp_dir(), *path = join_path(dir, "cut.lclip");
    write_bytes_file(path, bytes, size - 1);
    assert_int_equal(lclip_classifier_load(path, &out), LCLIP_E_FORMAT);
    assert_non_null(strstr(lclip_last_error(), "cut.lclip"));
    char *missing = join_path(dir, "missing.lclip");
    assert_int_equal(lclip_classifier_load(missing, &out), LCLIP_E_IO);
    assert_int_equal(lclip_classifier_load(NULL, &out), LCLIP_E_INVALID_ARGUMENT);
    assert_int_equal(lclip_classifier_load_memory(NULL, 4, &out), LCLIP_E_INVALID_ARGUMENT);
    assert_int_equal(lclip_classifier_load_memory(bytes, size, NULL), LCLIP_E_INVALID_ARGUMENT);
    free(missing);
    rm_tree(dir);
    free(path);
    free(dir);
    free(bytes);
    lclip_classifier_free(cls);
}

/* Edits with the checksum made right again: the fields' own checks. */
static void test_well_sealed_lies_refused(void **state)
{
    (void)state;
    lclip_classifier *cls = make_small(2, 3); /* names "cat" (3 bytes) and "Ærøskøbing harbour" */
    size_t size;
    unsigned char *good = saved_bytes(cls, &size);
    unsigned char *bytes = malloc(size);
    size_t vectors_at = 32 + 4 + 3 + 4 + strlen("Ærøskøbing harbour");
    const struct {
        size_t at;
        uint32_t value;
        lclip_status expected;
        const char *what;
    } cases[] = {
        {8, 2, LCLIP_E_UNSUPPORTED, "a later format version"},
        {8, 0, LCLIP_E_FORMAT, "version 0"},
        {12, 3, LCLIP_E_FORMAT, "an unknown kind"},
        {16, 0, LCLIP_E_FORMAT, "no classes"},
        {16, 3, LCLIP_E_FORMAT, "more classes than names"},
        {16, 1000001, LCLIP_E_FORMAT, "too many classes"},
        {20, 0, LCLIP_E_FORMAT, "dimension 0"},
        {20, 65537, LCLIP_E_FORMAT, "dimension too large"},
        {20, 4, LCLIP_E_FORMAT, "a dimension the data do not match"},
        {24, 0x7fc00000u, LCLIP_E_FORMAT, "a NaN logit scale"},
        {28, 1, LCLIP_E_FORMAT, "a reserved field set"},
        {32, 0, LCLIP_E_FORMAT, "an empty name"},
        {32, 0xffffffffu, LCLIP_E_FORMAT, "a name longer than the file"},
        {36, 0x00746163u, LCLIP_E_FORMAT, "a NUL in a name"}, /* "cat\0" */
        {vectors_at, 0x7f800000u, LCLIP_E_FORMAT, "an infinite vector value"},
        {vectors_at, 0x7e967699u, LCLIP_E_FORMAT, "logits overflowing float (1e38 x logit scale 12.5)"},
        {size - 8, 0xffc00000u, LCLIP_E_FORMAT, "a NaN bias"},
    };
    lclip_classifier *out;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        memcpy(bytes, good, size);
        put_u32(bytes + cases[i].at, cases[i].value);
        reseal(bytes, size);
        lclip_status s = lclip_classifier_load_memory(bytes, size, &out);
        if (s != cases[i].expected)
            fail_msg("%s: %s (%s)", cases[i].what, lclip_strerror(s), lclip_last_error());
        assert_null(out);
    }
    /* Invalid UTF-8 and a duplicate, both in the second name. */
    size_t second = 32 + 4 + 3 + 4;
    memcpy(bytes, good, size);
    bytes[second] = 0xC3;
    bytes[second + 1] = '(';
    reseal(bytes, size);
    assert_int_equal(lclip_classifier_load_memory(bytes, size, &out), LCLIP_E_FORMAT);
    lclip_classifier *dup;
    const char *same_prefix[2] = {"cat", "caX"};
    float v[2] = {1, 2};
    assert_int_equal(lclip_classifier_create(v, NULL, same_prefix, 2, 1, 1, &dup), LCLIP_OK);
    size_t dup_size;
    unsigned char *dup_bytes = saved_bytes(dup, &dup_size);
    dup_bytes[32 + 4 + 3 + 4 + 2] = 't';
    reseal(dup_bytes, dup_size);
    assert_int_equal(lclip_classifier_load_memory(dup_bytes, dup_size, &out), LCLIP_E_FORMAT);
    assert_non_null(strstr(lclip_last_error(), "twice"));
    /* Trailing bytes. */
    unsigned char *longer = calloc(1, size + 4);
    memcpy(longer, good, size - 4);
    reseal(longer, size + 4);
    assert_int_equal(lclip_classifier_load_memory(longer, size + 4, &out), LCLIP_E_FORMAT);
    free(longer);
    free(dup_bytes);
    lclip_classifier_free(dup);
    free(bytes);
    free(good);
    lclip_classifier_free(cls);
}

static void test_other_dimension_refused_after_load(void **state)
{
    (void)state;
    lclip_classifier *cls = make_small(2, 3), *loaded;
    size_t size;
    unsigned char *bytes = saved_bytes(cls, &size);
    assert_int_equal(lclip_classifier_load_memory(bytes, size, &loaded), LCLIP_OK);
    float e[4] = {1, 2, 3, 4}, probs[2] = {-1, -1};
    assert_int_equal(lclip_classifier_apply(loaded, e, 1, 4, NULL, probs), LCLIP_E_INVALID_ARGUMENT);
    assert_non_null(strstr(lclip_last_error(), "dimension 4"));
    assert_true(probs[0] == -1 && probs[1] == -1);
    lclip_classifier_free(loaded);
    free(bytes);
    lclip_classifier_free(cls);
}

static void test_nothing_written_on_error(void **state)
{
    (void)state;
    lclip_classifier *cls = make_small(2, 3);
    char *dir = make_temp_dir();
    /* A directory that does not exist: nothing created. */
    char *nowhere = join_path(dir, "no/such/dir.lclip");
    assert_int_equal(lclip_classifier_save(cls, nowhere), LCLIP_E_IO);
    assert_int_equal(count_entries(dir), 0);
    /* The target a directory: the rename fails, the temporary goes. */
    char *target = join_path(dir, "taken");
    assert_int_equal(mkdir(target, 0755), 0);
    char *inside = join_path(target, "keep");
    write_text_file(inside, "x");
    assert_int_equal(lclip_classifier_save(cls, target), LCLIP_E_IO);
    assert_int_equal(count_entries(dir), 1);
    assert_int_equal(count_entries(target), 1);
    /* Bad arguments leave an existing file as it was. */
    char *existing = join_path(dir, "old.lclip");
    write_text_file(existing, "old");
    assert_int_equal(lclip_classifier_save(NULL, existing), LCLIP_E_INVALID_ARGUMENT);
    assert_int_equal(lclip_classifier_save(cls, NULL), LCLIP_E_INVALID_ARGUMENT);
    size_t len;
    char *text = read_whole_file(existing, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(text, "old", 3);
    free(text);
    free(existing);
    free(inside);
    free(target);
    free(nowhere);
    rm_tree(dir);
    free(dir);
    lclip_classifier_free(cls);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zeroshot_matches_reference),
        cmocka_unit_test(test_zeroshot_progress_and_cancel),
        cmocka_unit_test(test_template_sets),
        cmocka_unit_test(test_zeroshot_bad_input),
        cmocka_unit_test(test_create_and_apply),
        cmocka_unit_test(test_apply_from_threads),
        cmocka_unit_test(test_save_load_round_trip),
        cmocka_unit_test(test_truncated_and_corrupted_files_refused),
        cmocka_unit_test(test_well_sealed_lies_refused),
        cmocka_unit_test(test_other_dimension_refused_after_load),
        cmocka_unit_test(test_nothing_written_on_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
