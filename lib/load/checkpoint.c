#include "load/checkpoint.h"

#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "common/file.h"
#include "load/foreign_format.h"

/* dir/name if that file exists; *out stays NULL otherwise. 0 only on OOM. */
static int find_beside(const char *dir, const char *name, char **out)
{
    *out = NULL;
    char *path = lclip_path_join(dir, name);
    if (!path)
        return 0;
    if (lclip_is_regular_file(path))
        *out = path;
    else
        lclip_free(path);
    return 1;
}

#define INDEX_SUFFIX ".safetensors.index.json"

static int is_index_name(const char *path)
{
    size_t n = strlen(path), k = strlen(INDEX_SUFFIX);
    return n > k && strcmp(path + n - k, INDEX_SUFFIX) == 0;
}

/* A single file first: a directory holding both (a merged copy beside the
 * shards) loads the one file. open_clip names no sharded form. */
static lclip_status weights_in_directory(const char *dir, lclip_checkpoint_files *files)
{
    static const char *const weight_names[] = {"model.safetensors", "open_clip_model.safetensors",
                                               "model.safetensors.index.json"};
    for (size_t i = 0; i < 3; i++) {
        if (!find_beside(dir, weight_names[i], &files->weights))
            return lclip_fail(LCLIP_E_NOMEM, "out of memory");
        if (files->weights) {
            files->sharded = i == 2;
            return LCLIP_OK;
        }
    }
    static const char *const pytorch[] = {"pytorch_model.bin", "open_clip_pytorch_model.bin"};
    for (size_t i = 0; i < 2; i++) {
        char *other = NULL;
        if (!find_beside(dir, pytorch[i], &other))
            return lclip_fail(LCLIP_E_NOMEM, "out of memory");
        if (other) {
            lclip_status s = lclip_fail_pytorch_checkpoint(other);
            lclip_free(other);
            return s;
        }
    }
    return lclip_fail(LCLIP_E_IO,
                      "%s: no model.safetensors, open_clip_model.safetensors or model.safetensors.index.json in "
                      "this directory",
                      dir);
}

lclip_status lclip_checkpoint_resolve(const char *model_path, lclip_checkpoint_files *files)
{
    memset(files, 0, sizeof *files);
    lclip_status s = LCLIP_OK;
    if (lclip_is_directory(model_path)) {
        files->directory = lclip_strdup(model_path);
        if (!files->directory)
            s = lclip_fail(LCLIP_E_NOMEM, "out of memory");
        else
            s = weights_in_directory(model_path, files);
    } else if (lclip_is_regular_file(model_path)) {
        files->weights = lclip_strdup(model_path);
        files->directory = lclip_path_dirname(model_path);
        files->sharded = is_index_name(model_path);
        if (!files->weights || !files->directory)
            s = lclip_fail(LCLIP_E_NOMEM, "out of memory");
    } else {
        s = lclip_fail(LCLIP_E_IO, "%s: no such file or directory", model_path);
    }
    if (s == LCLIP_OK && (!find_beside(files->directory, "config.json", &files->hf_config) ||
                          !find_beside(files->directory, "preprocessor_config.json", &files->preprocessor) ||
                          !find_beside(files->directory, "open_clip_config.json", &files->open_clip_config)))
        s = lclip_fail(LCLIP_E_NOMEM, "out of memory");
    if (s != LCLIP_OK)
        lclip_checkpoint_files_free(files);
    return s;
}

void lclip_checkpoint_files_free(lclip_checkpoint_files *files)
{
    lclip_free(files->directory);
    lclip_free(files->weights);
    lclip_free(files->hf_config);
    lclip_free(files->preprocessor);
    lclip_free(files->open_clip_config);
    memset(files, 0, sizeof *files);
}
