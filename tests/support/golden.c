#define _POSIX_C_SOURCE 200809L
#include "golden.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_util.h"

void *golden_read(const char *fixtures, const char *relative, size_t count, size_t elem_size)
{
    char *path = join_path(fixtures, relative);
    size_t len = 0;
    void *data = read_whole_file(path, &len);
    if (!data)
        fail_msg("%s: cannot read", path);
    if (len != count * elem_size)
        fail_msg("%s: %zu bytes, expected %zu", path, len, count * elem_size);
    free(path);
    return data;
}

double assert_embeddings_match(const float *got, const float *ref, size_t rows, size_t dim, const char *label)
{
    double worst = 0.0;
    for (size_t r = 0; r < rows; r++) {
        const float *x = got + r * dim, *y = ref + r * dim;
        double dot = 0, xx = 0, yy = 0, max_diff = 0, max_ref = 0;
        for (size_t i = 0; i < dim; i++) {
            dot += (double)x[i] * y[i];
            xx += (double)x[i] * x[i];
            yy += (double)y[i] * y[i];
            max_diff = fmax(max_diff, fabs((double)x[i] - y[i]));
            max_ref = fmax(max_ref, fabs((double)y[i]));
        }
        double cosine = dot / sqrt(xx * yy);
        if (!(cosine >= 0.99999) || !(max_diff <= 1e-4 * max_ref))
            fail_msg("%s row %zu: cosine %.9f, max diff %.3g (limit %.3g)", label, r, cosine, max_diff,
                     1e-4 * max_ref);
        worst = fmax(worst, 1.0 - cosine);
    }
    return worst;
}

/* Each manifest image's "file", through transform (to free). */
static char **manifest_images(const char *fixtures, size_t *count, char *(*transform)(const char *, const char *))
{
    char *path = join_path(fixtures, "manifest.json");
    size_t len;
    char *text = read_whole_file(path, &len);
    assert_non_null(text);
    cJSON *root = cJSON_ParseWithLength(text, len);
    assert_non_null(root);
    const cJSON *images = cJSON_GetObjectItemCaseSensitive(root, "images");
    *count = (size_t)cJSON_GetArraySize(images);
    char **names = calloc(*count, sizeof *names);
    size_t i = 0;
    const cJSON *image;
    cJSON_ArrayForEach(image, images)
    {
        names[i++] = transform(fixtures, cJSON_GetObjectItemCaseSensitive(image, "file")->valuestring);
    }
    cJSON_Delete(root);
    free(text);
    free(path);
    return names;
}

/* "images/x.png" -> "x" */
static char *stem_of(const char *fixtures, const char *file)
{
    (void)fixtures;
    const char *slash = strrchr(file, '/'), *base = slash ? slash + 1 : file, *dot = strrchr(base, '.');
    return strndup(base, dot ? (size_t)(dot - base) : strlen(base));
}

char **golden_image_stems(const char *fixtures, size_t *count)
{
    return manifest_images(fixtures, count, stem_of);
}

char **golden_image_files(const char *fixtures, size_t *count)
{
    return manifest_images(fixtures, count, join_path);
}

void golden_free_names(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

float *golden_pixels(const char *fixtures, int size, size_t *count)
{
    char **names = golden_image_stems(fixtures, count);
    size_t plane = 3 * (size_t)size * (size_t)size;
    float *pixels = malloc(*count * plane * sizeof *pixels);
    assert_non_null(pixels);
    for (size_t i = 0; i < *count; i++) {
        char relative[256];
        snprintf(relative, sizeof relative, "golden/preprocess-%d/%s.f32", size, names[i]);
        float *one = golden_read(fixtures, relative, plane, sizeof(float));
        memcpy(pixels + i * plane, one, plane * sizeof *pixels);
        free(one);
    }
    golden_free_names(names, *count);
    return pixels;
}

int32_t *golden_text_tokens(const char *fixtures)
{
    return golden_read(fixtures, "golden/text_tokens.i32", GOLDEN_TEXTS * GOLDEN_CONTEXT, sizeof(int32_t));
}
