/* Finding the images under a directory. */
#ifndef CLIP_SEARCH_WALK_H
#define CLIP_SEARCH_WALK_H

#include <stddef.h>

typedef struct image_list {
    char **paths;
    size_t count, capacity;
    size_t skipped; /* image files that could not be listed (stat failed, path too long) */
} image_list;

/* Fills *list with every regular file under dir, at any depth, whose name
 * ends in .png, .jpg, .jpeg, .webp, .gif or .bmp in any case. Each path is
 * dir made absolute (realpath) followed by the path below it, so that the same file always gets
 * the same name. Order: each directory's entries sorted bytewise, depth first,
 * so the list is the same on every run. Symbolic links are followed, but
 * every directory is walked at most once (by device and inode), which stops
 * symlink loops. Unreadable subdirectories are warned about and passed over;
 * paths longer than max_path bytes are warned about and counted as skipped.
 * Returns 0, or -1 (reported) if dir itself cannot be read or memory ran out. */
int find_images(const char *dir, size_t max_path, image_list *list);

/* Appends path, which the list then owns; 0, or -1 when out of memory. */
int image_list_add(image_list *list, char *path);

void image_list_free(image_list *list);

#endif
