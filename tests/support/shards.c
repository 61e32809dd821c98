#define _POSIX_C_SOURCE 200809L
#include "shards.h"

#include <cjson/cJSON.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "test_util.h"
#include "tiny_model.h"

const char *shard_name(int k, int n)
{
    static char name[64];
    snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", k, n);
    return name;
}

/* Appends tensor t (of the source's data section) to shard's header and data. */
static void add_tensor(cJSON *header, st_file *shard, const cJSON *t, const unsigned char *data)
{
    const cJSON *offsets = cJSON_GetObjectItemCaseSensitive(t, "data_offsets");
    size_t begin = (size_t)cJSON_GetArrayItem(offsets, 0)->valuedouble;
    size_t end = (size_t)cJSON_GetArrayItem(offsets, 1)->valuedouble;
    cJSON *entry = cJSON_AddObjectToObject(header, t->string);
    cJSON_AddItemToObject(entry, "dtype", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(t, "dtype"), 1));
    cJSON_AddItemToObject(entry, "shape", cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(t, "shape"), 1));
    double span[2] = {(double)shard->data_len, (double)(shard->data_len + end - begin)};
    cJSON_AddItemToObject(entry, "data_offsets", cJSON_CreateDoubleArray(span, 2));
    shard->data = realloc(shard->data, shard->data_len + (end - begin) + 1);
    assert_non_null(shard->data);
    memcpy(shard->data + shard->data_len, data + begin, end - begin);
    shard->data_len += end - begin;
}

char *shard_safetensors(const char *src, const char *dir, int n, shard_flaw flaw)
{
    size_t size;
    unsigned char *bytes = read_whole_file(src, &size);
    assert_non_null(bytes);
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; i--)
        header_len = header_len << 8 | bytes[i];
    cJSON *source = cJSON_ParseWithLength((const char *)bytes + 8, (size_t)header_len);
    assert_non_null(source);
    const unsigned char *data = bytes + 8 + header_len;

    const cJSON *tensors[4096];
    int count = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, source)
    {
        if (strcmp(t->string, "__metadata__") != 0) {
            assert_true(count < 4096);
            tensors[count++] = t;
        }
    }
    assert_true(count >= n);
    cJSON *index = cJSON_CreateObject();
    cJSON *metadata = cJSON_AddObjectToObject(index, "metadata");
    cJSON *map = cJSON_AddObjectToObject(index, "weight_map");
    double total = 0;
    for (int k = 0; k < n; k++) {
        cJSON *header = cJSON_CreateObject();
        st_file shard = {0};
        for (int i = 0; i < count; i++) {
            if (i * n / count != k)
                continue;
            add_tensor(header, &shard, tensors[i], data);
            if (!(i == 0 && flaw == SHARD_FIRST_UNLISTED))
                cJSON_AddStringToObject(map, tensors[i]->string, shard_name(k + 1, n));
        }
        if (k == n - 1 && flaw == SHARD_FIRST_ALSO_IN_LAST)
            add_tensor(header, &shard, tensors[0], data);
        total += (double)shard.data_len;
        shard.header = cJSON_PrintUnformatted(header);
        char *path = join_path(dir, shard_name(k + 1, n));
        st_write(path, &shard, 0, SIZE_MAX);
        free(path);
        st_file_free(&shard);
        cJSON_Delete(header);
    }
    cJSON_AddNumberToObject(metadata, "total_size", total);
    char *text = cJSON_Print(index), *path = join_path(dir, "model.safetensors.index.json");
    write_text_file(path, text);
    char *first = strdup(tensors[0]->string);
    free(path);
    free(text);
    cJSON_Delete(index);
    cJSON_Delete(source);
    free(bytes);
    return first;
}
