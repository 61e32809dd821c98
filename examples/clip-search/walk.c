#define _DEFAULT_SOURCE /* realpath() */

#include "walk.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "report.h"

typedef struct directory_id {
    dev_t device;
    ino_t inode;
} directory_id;

typedef struct walk {
    image_list *list;
    size_t max_path;
    directory_id *visited; /* sorted, for binary search */
    size_t n_visited, visited_capacity;
} walk;

/* The formats libclip decodes (it tells them apart by content, not name). */
static int is_image_name(const char *name)
{
    static const char *const extensions[] = {".png", ".jpg", ".jpeg", ".webp", ".gif", ".bmp"};
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name)
        return 0;
    for (size_t i = 0; i < sizeof extensions / sizeof *extensions; i++)
        if (strcasecmp(dot, extensions[i]) == 0)
            return 1;
    return 0;
}

static int compare_ids(const directory_id *a, const directory_id *b)
{
    if (a->device != b->device)
        return a->device < b->device ? -1 : 1;
    return a->inode < b->inode ? -1 : a->inode > b->inode;
}

/* Records a directory as walked: 1 if it is new, 0 if it was seen before,
 * -1 when out of memory. */
static int mark_visited(walk *w, const struct stat *st)
{
    directory_id id = {st->st_dev, st->st_ino};
    size_t low = 0, high = w->n_visited;
    while (low < high) {
        size_t mid = low + (high - low) / 2;
        int order = compare_ids(&w->visited[mid], &id);
        if (order == 0)
            return 0;
        if (order < 0)
            low = mid + 1;
        else
            high = mid;
    }
    if (w->n_visited == w->visited_capacity) {
        size_t capacity = w->visited_capacity ? 2 * w->visited_capacity : 64;
        directory_id *grown = realloc(w->visited, capacity * sizeof *grown);
        if (!grown)
            return -1;
        w->visited = grown;
        w->visited_capacity = capacity;
    }
    memmove(&w->visited[low + 1], &w->visited[low], (w->n_visited - low) * sizeof *w->visited);
    w->visited[low] = id;
    w->n_visited++;
    return 1;
}

int image_list_add(image_list *list, char *path)
{
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? 2 * list->capacity : 256;
        char **grown = realloc(list->paths, capacity * sizeof *grown);
        if (!grown)
            return -1;
        list->paths = grown;
        list->capacity = capacity;
    }
    list->paths[list->count++] = path;
    return 0;
}

static char *join(const char *dir, const char *name)
{
    size_t dir_length = strlen(dir), name_length = strlen(name);
    int slash = dir_length > 0 && dir[dir_length - 1] != '/';
    char *path = malloc(dir_length + slash + name_length + 1);
    if (path) {
        memcpy(path, dir, dir_length);
        if (slash)
            path[dir_length] = '/';
        memcpy(path + dir_length + slash, name, name_length + 1);
    }
    return path;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

/* dir's entries but "." and "..", sorted. 0, 1 if dir cannot be read
 * (warned about), -1 when out of memory. */
static int list_directory(const char *dir, char ***names, size_t *n)
{
    DIR *stream = opendir(dir);
    *names = NULL;
    *n = 0;
    if (!stream) {
        report_warning("cannot read directory %s: %s", dir, strerror(errno));
        return 1;
    }
    size_t capacity = 0;
    struct dirent *entry;
    while ((entry = readdir(stream)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        if (*n == capacity) {
            capacity = capacity ? 2 * capacity : 64;
            char **grown = realloc(*names, capacity * sizeof *grown);
            if (!grown)
                break;
            *names = grown;
        }
        if (((*names)[*n] = strdup(entry->d_name)) == NULL)
            break;
        (*n)++;
    }
    int out_of_memory = entry != NULL;
    closedir(stream);
    if (out_of_memory) {
        free_names(*names, *n);
        return -1;
    }
    if (*n > 1)
        qsort(*names, *n, sizeof **names, by_name);
    return 0;
}

static int walk_directory(walk *w, const char *dir);

/* Handles one directory entry; takes ownership of path. 0, or -1 when out
 * of memory. */
static int visit(walk *w, char *path, const char *name)
{
    struct stat st;
    int rc = 0;
    if (strlen(path) > w->max_path) {
        if (is_image_name(name)) {
            report_warning("skipping %s: path longer than %zu bytes", path, w->max_path);
            w->list->skipped++;
        }
    } else if (stat(path, &st) != 0) {
        if (is_image_name(name)) { /* e.g. a dangling symbolic link */
            report_warning("skipping %s: %s", path, strerror(errno));
            w->list->skipped++;
        }
    } else if (S_ISDIR(st.st_mode)) {
        int is_new = mark_visited(w, &st);
        rc = is_new < 0 ? -1 : is_new ? walk_directory(w, path) : 0;
    } else if (S_ISREG(st.st_mode) && is_image_name(name)) {
        if (image_list_add(w->list, path) != 0)
            rc = -1;
        else
            path = NULL; /* the list owns it now */
    }
    free(path);
    return rc;
}

static int walk_directory(walk *w, const char *dir)
{
    char **names;
    size_t n;
    int rc = list_directory(dir, &names, &n);
    if (rc != 0)
        return rc < 0 ? -1 : 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *path = join(dir, names[i]);
        rc = path ? visit(w, path, names[i]) : -1;
    }
    free_names(names, n);
    return rc;
}

int find_images(const char *dir, size_t max_path, image_list *list)
{
    memset(list, 0, sizeof *list);
    char *root = realpath(dir, NULL);
    struct stat st;
    if (!root || stat(root, &st) != 0) {
        report("%s: %s", dir, strerror(errno));
        free(root);
        return -1;
    }
    DIR *readable = S_ISDIR(st.st_mode) ? opendir(root) : NULL;
    if (!readable) {
        report("%s: %s", dir, S_ISDIR(st.st_mode) ? strerror(errno) : "not a directory");
        free(root);
        return -1;
    }
    closedir(readable); /* the root's failure is fatal, a subdirectory's only a warning */
    walk w = {list, max_path, NULL, 0, 0};
    int rc = mark_visited(&w, &st) < 0 ? -1 : walk_directory(&w, root);
    free(w.visited);
    free(root);
    if (rc != 0) {
        report("out of memory while listing %s", dir);
        image_list_free(list);
    }
    return rc;
}

void image_list_free(image_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->paths[i]);
    free(list->paths);
    memset(list, 0, sizeof *list);
}
