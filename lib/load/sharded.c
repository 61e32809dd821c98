#include "load/sharded.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/file.h"
#include "load/json.h"

/* One "tensor": "shard" member of weight_map; the strings live in the JSON tree. */
typedef struct index_entry {
    const char *tensor;
    const char *shard_name;
    size_t shard; /* into the shard list */
} index_entry;

/* The index, read and checked, before any shard is opened. */
typedef struct shard_index {
    const char *path;
    cJSON *root;
    index_entry *entries; /* sorted by tensor name */
    size_t count;
    const char **shard_names; /* distinct, sorted */
    size_t *listed;           /* tensors the index lists per shard */
    size_t n_shards;
} shard_index;

static int compare_tensor(const void *a, const void *b)
{
    return strcmp(((const index_entry *)a)->tensor, ((const index_entry *)b)->tensor);
}

static int compare_shard(const void *a, const void *b)
{
    return strcmp(((const index_entry *)a)->shard_name, ((const index_entry *)b)->shard_name);
}

static int compare_info(const void *a, const void *b)
{
    return strcmp(((const lclip_tensor_info *)a)->name, ((const lclip_tensor_info *)b)->name);
}

/* A file name in the index's directory, nothing that leads out of it. */
static lclip_status check_shard_name(const shard_index *ix, const char *tensor, const char *name)
{
    if (name[0] == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strchr(name, '/') ||
        strchr(name, '\\'))
        return lclip_fail(LCLIP_E_FORMAT,
                          "%s: tensor '%s': shard \"%.200s\" is not a plain file name in the index's directory",
                          ix->path, tensor, name);
    return LCLIP_OK;
}

static lclip_status read_index(shard_index *ix, const lclip_safetensors_limits *limits)
{
    char *text;
    size_t len;
    size_t max = limits->max_header_bytes < SIZE_MAX ? (size_t)limits->max_header_bytes : SIZE_MAX;
    lclip_status s = lclip_read_file(ix->path, max, &text, &len);
    if (s != LCLIP_OK)
        return s;
    const char *end = NULL;
    ix->root = lclip_json_parse(text, len, &end);
    if (!ix->root)
        s = lclip_fail(LCLIP_E_FORMAT, "%s: not valid JSON", ix->path);
    for (const char *p = end; s == LCLIP_OK && p < text + len; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            s = lclip_fail(LCLIP_E_FORMAT, "%s: unexpected bytes after the JSON object", ix->path);
    lclip_free(text);
    return s;
}

/* weight_map's members as entries, each checked, sorted by tensor name. */
static lclip_status collect_entries(shard_index *ix, const lclip_safetensors_limits *limits)
{
    const cJSON *map = cJSON_IsObject(ix->root) ? lclip_json_object(ix->root, "weight_map") : NULL;
    if (!map)
        return lclip_fail(LCLIP_E_FORMAT, "%s: no \"weight_map\" object", ix->path);
    size_t count = 0;
    const cJSON *member;
    cJSON_ArrayForEach(member, map)
    {
        count++;
    }
    if (count == 0)
        return lclip_fail(LCLIP_E_FORMAT, "%s: \"weight_map\" lists no tensors", ix->path);
    if (count > limits->max_tensor_count)
        return lclip_fail(LCLIP_E_TOO_LARGE, "%s: %zu tensors exceed the limit of %llu", ix->path, count,
                          (unsigned long long)limits->max_tensor_count);
    ix->entries = lclip_malloc_array(count, sizeof *ix->entries);
    if (!ix->entries)
        return lclip_fail(LCLIP_E_NOMEM, "%s: out of memory", ix->path);
    cJSON_ArrayForEach(member, map)
    {
        const char *tensor = member->string ? member->string : "";
        if (!cJSON_IsString(member))
            return lclip_fail(LCLIP_E_FORMAT, "%s: tensor '%s': the shard is not a string", ix->path, tensor);
        lclip_status s = check_shard_name(ix, tensor, member->valuestring);
        if (s != LCLIP_OK)
            return s;
        ix->entries[ix->count++] = (index_entry){tensor, member->valuestring, 0};
    }
    qsort(ix->entries, ix->count, sizeof *ix->entries, compare_tensor);
    for (size_t i = 1; i < ix->count; i++)
        if (strcmp(ix->entries[i - 1].tensor, ix->entries[i].tensor) == 0)
            return lclip_fail(LCLIP_E_FORMAT, "%s: tensor '%s' is listed twice in the index", ix->path,
                              ix->entries[i].tensor);
    return LCLIP_OK;
}

/* The distinct shard names, and each entry's shard number. */
static lclip_status number_shards(shard_index *ix)
{
    qsort(ix->entries, ix->count, sizeof *ix->entries, compare_shard);
    size_t n = 0;
    for (size_t i = 0; i < ix->count; i++)
        n += i == 0 || strcmp(ix->entries[i - 1].shard_name, ix->entries[i].shard_name) != 0;
    ix->shard_names = lclip_malloc_array(n, sizeof *ix->shard_names);
    ix->listed = lclip_calloc(n, sizeof *ix->listed);
    if (!ix->shard_names || !ix->listed)
        return lclip_fail(LCLIP_E_NOMEM, "%s: out of memory", ix->path);
    for (size_t i = 0; i < ix->count; i++) {
        if (i == 0 || strcmp(ix->entries[i - 1].shard_name, ix->entries[i].shard_name) != 0)
            ix->shard_names[ix->n_shards++] = ix->entries[i].shard_name;
        ix->entries[i].shard = ix->n_shards - 1;
        ix->listed[ix->n_shards - 1]++;
    }
    qsort(ix->entries, ix->count, sizeof *ix->entries, compare_tensor);
    return LCLIP_OK;
}

static const index_entry *find_entry(const shard_index *ix, const char *tensor)
{
    index_entry key = {tensor, NULL, 0};
    return bsearch(&key, ix->entries, ix->count, sizeof *ix->entries, compare_tensor);
}

/* Shard i holds exactly the tensors the index lists for it. Each of its
 * tensors is listed for it, and its names are distinct, so equal counts
 * mean equal sets. */
static lclip_status check_shard(const shard_index *ix, size_t i, const lclip_safetensors *shard)
{
    for (size_t t = 0; t < shard->count; t++) {
        const char *name = shard->tensors[t].name;
        const index_entry *e = find_entry(ix, name);
        if (!e)
            return lclip_fail(LCLIP_E_FORMAT, "%s: tensor '%s' of shard %s is not in the index", ix->path, name,
                              ix->shard_names[i]);
        if (e->shard != i)
            return lclip_fail(LCLIP_E_FORMAT, "%s: tensor '%s' is in shard %s, but the index lists it in %s",
                              ix->path, name, ix->shard_names[i], e->shard_name);
    }
    if (shard->count == ix->listed[i])
        return LCLIP_OK;
    for (size_t k = 0; k < ix->count; k++)
        if (ix->entries[k].shard == i && !lclip_safetensors_find(shard, ix->entries[k].tensor))
            return lclip_fail(LCLIP_E_FORMAT, "%s: the index lists tensor '%s' in %s, which does not hold it",
                              ix->path, ix->entries[k].tensor, ix->shard_names[i]);
    return lclip_fail(LCLIP_E_FORMAT, "%s: shard %s disagrees with the index", ix->path, ix->shard_names[i]);
}

static lclip_status open_shards(const shard_index *ix, const lclip_safetensors_limits *limits,
                                lclip_safetensors *st)
{
    char *dir = lclip_path_dirname(ix->path);
    st->shards = lclip_calloc(ix->n_shards, sizeof *st->shards);
    lclip_status s = dir && st->shards ? LCLIP_OK : lclip_fail(LCLIP_E_NOMEM, "%s: out of memory", ix->path);
    if (s == LCLIP_OK)
        st->n_shards = ix->n_shards;
    for (size_t i = 0; i < ix->n_shards && s == LCLIP_OK; i++) {
        char *path = lclip_path_join(dir, ix->shard_names[i]);
        if (!path)
            s = lclip_fail(LCLIP_E_NOMEM, "%s: out of memory", ix->path);
        if (s == LCLIP_OK)
            s = lclip_safetensors_open(path, limits, &st->shards[i]);
        lclip_free(path);
    }
    lclip_free(dir);
    /* all present and readable first: a missing shard is named as missing,
     * not through the tensors the others lack */
    for (size_t i = 0; i < ix->n_shards && s == LCLIP_OK; i++)
        s = check_shard(ix, i, st->shards[i]);
    return s;
}

/* The union table: every shard's tensors, names and data in place. */
static lclip_status merge_tables(const shard_index *ix, lclip_safetensors *st)
{
    st->tensors = lclip_malloc_array(ix->count, sizeof *st->tensors);
    if (!st->tensors)
        return lclip_fail(LCLIP_E_NOMEM, "%s: out of memory for the tensor table", ix->path);
    for (size_t i = 0; i < st->n_shards; i++) {
        memcpy(st->tensors + st->count, st->shards[i]->tensors, st->shards[i]->count * sizeof *st->tensors);
        st->count += st->shards[i]->count;
    }
    qsort(st->tensors, st->count, sizeof *st->tensors, compare_info);
    return LCLIP_OK;
}

lclip_status lclip_safetensors_open_sharded(const char *index_path, const lclip_safetensors_limits *limits,
                                            lclip_safetensors **out)
{
    *out = NULL;
    shard_index ix = {.path = index_path};
    lclip_safetensors *st = lclip_calloc(1, sizeof *st);
    lclip_status s = st ? LCLIP_OK : lclip_fail(LCLIP_E_NOMEM, "%s: out of memory", index_path);
    if (s == LCLIP_OK && !(st->label = lclip_strdup(index_path)))
        s = lclip_fail(LCLIP_E_NOMEM, "%s: out of memory", index_path);
    if (s == LCLIP_OK)
        s = read_index(&ix, limits);
    if (s == LCLIP_OK)
        s = collect_entries(&ix, limits);
    if (s == LCLIP_OK)
        s = number_shards(&ix);
    if (s == LCLIP_OK)
        s = open_shards(&ix, limits, st);
    if (s == LCLIP_OK)
        s = merge_tables(&ix, st);
    cJSON_Delete(ix.root);
    lclip_free(ix.entries);
    lclip_free(ix.shard_names);
    lclip_free(ix.listed);
    if (s != LCLIP_OK) {
        lclip_safetensors_close(st);
        return s;
    }
    *out = st;
    return LCLIP_OK;
}
