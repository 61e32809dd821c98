/* clip-search's two commands and the arguments they share. */
#ifndef CLIP_SEARCH_H
#define CLIP_SEARCH_H

#include <stddef.h>

typedef struct search_args {
    const char *command;      /* "index" or "query" */
    const char *model, *index;
    const char *dir;          /* index: the directory to embed */
    const char *text, *image; /* query: at most one is set; neither: ranked by the class's probability */
    int threads;              /* 0: leave OpenBLAS's thread count alone */
    int engine, precision;    /* lclip_options.engine / precision */
    size_t batch;             /* index: images per lclip_image_encode_files() call */
    size_t top;               /* query: matches to print */
    const char *classifier;   /* query: a saved classifier (lclip_classifier_save) filtering the records */
    const char *class_name;   /* query: ... to those of this class: its most likely one, or */
    double min_prob;          /* ... with at least this probability of it (< 0: unset) */
} search_args;

/* Each returns the process's exit code. */
int run_index(const search_args *args);
int run_query(const search_args *args);

#endif
