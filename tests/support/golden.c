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

char **golden_image_stems(const char *fixtures, size_t *count)
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
        const char *name = cJSON_GetObjectItemCaseSensitive(image, "name")->valuestring;
        const char *dot = strrchr(name, '.');
        names[i] = strndup(name, dot ? (size_t)(dot - name) : strlen(name));
        i++;
    }
    cJSON_Delete(root);
    free(text);
    free(path);
    return names;
}

void golden_free_names(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}
