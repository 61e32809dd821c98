/* clip-search query: embed a text or an image and print the index's best
 * matches, optionally only those a saved classifier puts in a given class
 * (or, without a text or image, that class's images by probability). The
 * index is streamed record by record and only the best K are kept (a heap),
 * so memory does not grow with the index. */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clip_search.h"
#include "fingerprint.h"
#include "index_format.h"
#include "libclip.h"
#include "report.h"

typedef struct match {
    double score;
    char *path;
} match;

/* The K best matches so far, as a heap whose root is the worst of them. */
typedef struct best_matches {
    match *items;
    size_t count, capacity;
} best_matches;

/* Higher score first; equal scores by path, so that the output is stable. */
static int ranks_before(const match *a, const match *b)
{
    if (a->score != b->score)
        return a->score > b->score;
    return strcmp(a->path, b->path) < 0;
}

static void swap(match *a, match *b)
{
    match t = *a;
    *a = *b;
    *b = t;
}

/* Restores the heap below position i (children ranking after their parent). */
static void sift_down(best_matches *best, size_t i)
{
    for (;;) {
        size_t worst = i, left = 2 * i + 1, right = left + 1;
        if (left < best->count && ranks_before(&best->items[worst], &best->items[left]))
            worst = left;
        if (right < best->count && ranks_before(&best->items[worst], &best->items[right]))
            worst = right;
        if (worst == i)
            return;
        swap(&best->items[i], &best->items[worst]);
        i = worst;
    }
}

static void sift_up(best_matches *best, size_t i)
{
    while (i > 0 && ranks_before(&best->items[(i - 1) / 2], &best->items[i])) {
        swap(&best->items[i], &best->items[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
}

/* Keeps (score, path) if it is among the best; 0, or -1 when out of memory. */
static int consider(best_matches *best, double score, const char *path)
{
    match candidate = {score, (char *)path};
    if (best->capacity == 0)
        return 0;
    int full = best->count == best->capacity;
    if (full && !ranks_before(&candidate, &best->items[0]))
        return 0;
    if ((candidate.path = strdup(path)) == NULL)
        return -1;
    if (full) {
        free(best->items[0].path);
        best->items[0] = candidate;
        sift_down(best, 0);
    } else {
        best->items[best->count] = candidate;
        sift_up(best, best->count++);
    }
    return 0;
}

static int best_first(const void *a, const void *b)
{
    return ranks_before(b, a) - ranks_before(a, b);
}

static double cosine(const float *a, const float *b, size_t dim)
{
    double dot = 0, norm_a = 0, norm_b = 0;
    for (size_t i = 0; i < dim; i++) {
        dot += (double)a[i] * b[i];
        norm_a += (double)a[i] * a[i];
        norm_b += (double)b[i] * b[i];
    }
    return norm_a > 0 && norm_b > 0 ? dot / sqrt(norm_a * norm_b) : 0;
}

/* The query's embedding (malloc'd) and its length, or NULL (reported). */
static float *embed_query(const search_args *a, size_t *dim)
{
    lclip_options options;
    lclip_options_init(&options);
    options.n_threads = a->threads;
    options.engine = a->engine;
    options.precision = a->precision;
    float *vector = NULL;
    lclip_status s;
    if (a->text) {
        lclip_text_encoder *encoder;
        if ((s = lclip_text_encoder_open(a->model, &options, &encoder)) == LCLIP_OK) {
            *dim = lclip_text_encoder_dim(encoder);
            if ((vector = malloc(*dim * sizeof *vector)) != NULL)
                s = lclip_text_encode(encoder, a->text, vector);
            lclip_text_encoder_close(encoder);
        }
    } else {
        lclip_image_encoder *encoder;
        if ((s = lclip_image_encoder_open(a->model, &options, &encoder)) == LCLIP_OK) {
            *dim = lclip_image_encoder_dim(encoder);
            if ((vector = malloc(*dim * sizeof *vector)) != NULL)
                s = lclip_image_encode_file(encoder, a->image, vector);
            lclip_image_encoder_close(encoder);
        }
    }
    if (s != LCLIP_OK || !vector) {
        if (s != LCLIP_OK)
            report("%s: %s: %s", a->text ? "text" : a->image, lclip_strerror(s), lclip_last_error());
        else
            report("out of memory");
        free(vector);
        return NULL;
    }
    return vector;
}

/* Refuses an index of another dim; warns about another model of the same dim. */
static int check_model(const search_args *a, const index_header *header, size_t dim)
{
    if (header->dim != dim) {
        report("%s holds %" PRIu32 "-dim embeddings, but %s makes %zu-dim ones: it was built with another model",
               a->index, header->dim, a->model, dim);
        return -1;
    }
    uint64_t ours = model_fingerprint(a->model);
    if (header->fingerprint && ours && header->fingerprint != ours)
        report_warning("%s was built with another model (fingerprint %016" PRIx64 ", %s has %016" PRIx64
                       "); the scores may mean little",
                       a->index, header->fingerprint, a->model, ours);
    return 0;
}

/* The records a classifier puts in one class. */
typedef struct class_filter {
    lclip_classifier *cls; /* NULL: no filter */
    size_t class_index;
    double min_prob; /* < 0: the class must be the record's most likely */
    float *probs;    /* [classes] */
} class_filter;

static void close_filter(class_filter *f)
{
    lclip_classifier_free(f->cls);
    free(f->probs);
}

/* Loads the classifier of --classifier and finds --class in it; 0, or -1
 * (reported). */
static int open_filter(const search_args *a, const index_header *header, class_filter *f)
{
    memset(f, 0, sizeof *f);
    f->min_prob = a->min_prob;
    if (!a->classifier)
        return 0;
    lclip_status s = lclip_classifier_load(a->classifier, &f->cls);
    if (s != LCLIP_OK) {
        report("%s: %s: %s", a->classifier, lclip_strerror(s), lclip_last_error());
        return -1;
    }
    size_t k = lclip_classifier_classes(f->cls);
    if (lclip_classifier_dim(f->cls) != header->dim) {
        report("%s classifies %zu-dim embeddings, but %s holds %" PRIu32 "-dim ones: another model's", a->classifier,
               lclip_classifier_dim(f->cls), a->index, header->dim);
        return -1;
    }
    for (f->class_index = 0; f->class_index < k; f->class_index++)
        if (strcmp(lclip_classifier_class_name(f->cls, f->class_index), a->class_name) == 0)
            break;
    if (f->class_index == k) {
        report("%s has no class \"%s\" (its %zu classes start with \"%s\")", a->classifier, a->class_name, k,
               lclip_classifier_class_name(f->cls, 0));
        return -1;
    }
    if (!(f->probs = malloc(k * sizeof *f->probs))) {
        report("out of memory");
        return -1;
    }
    return 0;
}

/* 1 if the record is of the filter's class, with *prob its probability. */
static int passes(class_filter *f, const float *vector, size_t dim, double *prob)
{
    if (lclip_classifier_apply(f->cls, vector, 1, dim, NULL, f->probs) != LCLIP_OK)
        return 0; /* a zero or non-finite embedding belongs to no class */
    size_t k = lclip_classifier_classes(f->cls);
    *prob = f->probs[f->class_index];
    if (f->min_prob >= 0)
        return *prob >= f->min_prob;
    for (size_t c = 0; c < k; c++)
        if (f->probs[c] > *prob)
            return 0;
    return 1;
}

/* Scores every record that passes the filter, against the query (NULL: by
 * the class's probability), keeping the best. */
static int rank_index(index_reader *reader, const float *query, class_filter *filter, best_matches *best)
{
    const char *path;
    const float *vector;
    int rc;
    size_t dim = reader->header.dim;
    while ((rc = index_reader_next(reader, &path, &vector)) == 1) {
        double prob = 0;
        if (filter->cls && !passes(filter, vector, dim, &prob))
            continue;
        if (consider(best, query ? cosine(query, vector, dim) : prob, path) != 0) {
            report("out of memory");
            return -1;
        }
    }
    if (rc == 0 && index_reader_trailing_bytes(reader))
        report_warning("%s: ignoring %" PRIu64 " bytes after the last record: an unfinished batch of an "
                       "interrupted run (the next 'clip-search index' drops them)",
                       reader->name, index_reader_trailing_bytes(reader));
    return rc;
}

static int print_matches(best_matches *best)
{
    qsort(best->items, best->count, sizeof *best->items, best_first);
    for (size_t i = 0; i < best->count; i++)
        printf("%.4f  %s\n", best->items[i].score, best->items[i].path);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        report("writing the results failed");
        return -1;
    }
    return 0;
}

int run_query(const search_args *a)
{
    index_reader reader;
    if (index_reader_open(&reader, a->index) != 0)
        return 1;
    size_t dim = 0;
    int by_query = a->text || a->image;
    class_filter filter = {NULL, 0, -1, NULL};
    float *query = NULL;
    uint64_t room = reader.header.count < a->top ? reader.header.count : a->top;
    best_matches best = {calloc(room ? (size_t)room : 1, sizeof(match)), 0, (size_t)room};
    int rc = 1;
    if (!best.items)
        report("out of memory");
    else if (open_filter(a, &reader.header, &filter) == 0 &&
             (!by_query || ((query = embed_query(a, &dim)) && check_model(a, &reader.header, dim) == 0)) &&
             rank_index(&reader, query, &filter, &best) == 0 && print_matches(&best) == 0)
        rc = 0;
    close_filter(&filter);
    for (size_t i = 0; i < best.count; i++)
        free(best.items[i].path);
    free(best.items);
    free(query);
    index_reader_close(&reader);
    return rc;
}
