/* clip-search index: embed the images under a directory into an index file,
 * batch by batch, each batch committed before the next starts, so that an
 * interrupted run loses at most one batch and a rerun resumes it. A batch
 * is one libclip call with per-input results: bad files are reported and
 * skipped, the progress bar moves with each pass through the model, and an
 * interrupt cancels the call in flight. */
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clip_search.h"
#include "fingerprint.h"
#include "index_format.h"
#include "libclip.h"
#include "progress.h"
#include "report.h"
#include "walk.h"

enum { EXIT_INTERRUPTED = 130 };

/* Set by SIGINT/SIGTERM; the batch in flight is cancelled at its next pass
 * and nothing of it is committed. */
static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
    interrupted = sig;
}

/* Catches the first SIGINT or SIGTERM only: a second one kills at once. */
static void catch_interrupts(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_interrupt;
    action.sa_flags = SA_RESETHAND | SA_RESTART;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
}

/* For tests: CLIP_SEARCH_TEST_INTERRUPT_AFTER=N sends this process SIGINT
 * once N batches are committed, which interrupts the run at a known point. */
static void test_hook_after_batch(size_t batches_committed)
{
    const char *after = getenv("CLIP_SEARCH_TEST_INTERRUPT_AFTER");
    if (after && strtoul(after, NULL, 10) == batches_committed)
        raise(SIGINT);
}

/* For tests: CLIP_SEARCH_TEST_INTERRUPT_IN_PASS=N sends SIGINT from within
 * the N-th pass of the run, to interrupt a batch while it is in flight. */
static void test_hook_in_pass(void)
{
    static size_t passes;
    const char *in_pass = getenv("CLIP_SEARCH_TEST_INTERRUPT_IN_PASS");
    if (in_pass && strtoul(in_pass, NULL, 10) == ++passes)
        raise(SIGINT);
}

static int by_string(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Checks that the existing index was built with this model. */
static int check_model(const search_args *a, const index_header *found, const index_header *ours)
{
    if (found->dim != ours->dim) {
        report("%s holds %" PRIu32 "-dim embeddings, but %s makes %" PRIu32 "-dim ones; use another --index file",
               a->index, found->dim, a->model, ours->dim);
        return -1;
    }
    if (found->fingerprint && ours->fingerprint && found->fingerprint != ours->fingerprint) {
        report("%s was built with another model (fingerprint %016" PRIx64 ", %s has %016" PRIx64
               "); use another --index file, or the model it was built with",
               a->index, found->fingerprint, a->model, ours->fingerprint);
        return -1;
    }
    return 0;
}

/* Reads the committed records' paths into *indexed (sorted) and tells the
 * writer where to continue, dropping an unfinished batch. */
static int load_index(const search_args *a, index_writer *writer, const index_header *ours, image_list *indexed)
{
    index_reader reader;
    if (index_reader_open(&reader, a->index) != 0)
        return -1;
    int rc = check_model(a, &reader.header, ours), more = rc == 0;
    const char *path;
    const float *vector;
    while (more == 1 && (more = index_reader_next(&reader, &path, &vector)) == 1) {
        char *copy = strdup(path);
        if (!copy || image_list_add(indexed, copy) != 0) {
            free(copy);
            report("out of memory");
            more = -1;
        }
    }
    uint64_t dropped = 0;
    if (more < 0)
        rc = -1;
    else if (rc == 0)
        rc = index_writer_resume(writer, &reader.header, reader.offset, &dropped);
    if (rc == 0 && dropped)
        report("%s: dropped %" PRIu64 " bytes after record %" PRIu64 ": an unfinished batch of an interrupted run",
               a->index, dropped, reader.header.count);
    index_reader_close(&reader);
    if (indexed->count) /* qsort and bsearch take no NULL, even for 0 items */
        qsort(indexed->paths, indexed->count, sizeof *indexed->paths, by_string);
    return rc;
}

/* The images not in the index yet, in their walk order (pointers into found). */
static const char **images_to_embed(const image_list *found, const image_list *indexed, size_t *n)
{
    const char **todo = malloc((found->count ? found->count : 1) * sizeof *todo);
    *n = 0;
    for (size_t i = 0; todo && i < found->count; i++) {
        int known = indexed->count > 0 &&
                    bsearch(&found->paths[i], indexed->paths, indexed->count, sizeof *indexed->paths, by_string);
        if (!known)
            todo[(*n)++] = found->paths[i];
    }
    if (!todo)
        report("out of memory");
    return todo;
}

/* What a batch's callbacks share (lclip_batch_options.user). */
typedef struct batch_context {
    const char *const *paths;
    progress *bar;
    size_t shown; /* images of this batch already on the bar */
} batch_context;

/* A bad file: libclip's messages usually start with the path. */
static void warn_skipped(void *user, size_t index, lclip_status status, const char *message)
{
    const batch_context *b = user;
    const char *path = b->paths[index];
    (void)status;
    if (strncmp(message, path, strlen(path)) == 0)
        report_warning("skipping %s", message);
    else
        report_warning("skipping %s: %s", path, message);
}

/* After each pass through the model: the bar moves, an interrupt cancels. */
static int on_pass(void *user, size_t done, size_t total)
{
    batch_context *b = user;
    (void)total;
    progress_advance(b->bar, done - b->shown);
    b->shown = done;
    test_hook_in_pass();
    return interrupted != 0;
}

/* Embeds n images into vectors[n * dim]; status[i] says whether image i
 * worked. Returns the call's status: LCLIP_E_CANCELLED after an interrupt. */
static lclip_status embed_batch(lclip_image_encoder *encoder, const char *const *paths, size_t n, float *vectors,
                                lclip_status *status, progress *bar)
{
    batch_context context = {paths, bar, 0};
    lclip_batch_options batch;
    lclip_batch_options_init(&batch);
    batch.item_status = status;
    batch.on_item_error = warn_skipped;
    batch.on_progress = on_pass;
    batch.user = &context;
    return lclip_image_encode_files_ex(encoder, paths, n, vectors, &batch);
}

typedef struct tally {
    size_t indexed, skipped;
} tally;

/* Embeds and commits the images batch by batch: 0 when all are done, 1 when
 * interrupted first, -1 on failure (reported). */
static int embed_all(lclip_image_encoder *encoder, index_writer *writer, const char *const *todo, size_t n,
                     size_t batch, tally *counts)
{
    size_t dim = writer->header.dim;
    float *vectors = malloc(batch * dim * sizeof *vectors);
    lclip_status *status = malloc(batch * sizeof *status);
    if (!vectors || !status) {
        free(vectors);
        free(status);
        report("out of memory");
        return -1;
    }
    progress bar;
    progress_start(&bar, n);
    int rc = 0;
    size_t start = 0;
    for (size_t batches = 0; start < n && rc == 0 && !interrupted; start += batch) {
        size_t count = n - start < batch ? n - start : batch;
        lclip_status s = embed_batch(encoder, todo + start, count, vectors, status, &bar);
        if (s == LCLIP_E_CANCELLED)
            break;
        if (s != LCLIP_OK) {
            report("%s: %s", lclip_strerror(s), lclip_last_error());
            rc = -1;
        }
        for (size_t i = 0; i < count && rc == 0; i++) {
            int ok = status[i] == LCLIP_OK;
            if (ok)
                rc = index_writer_add(writer, todo[start + i], vectors + i * dim);
            counts->indexed += ok && rc == 0;
            counts->skipped += !ok;
        }
        if (rc == 0)
            rc = index_writer_commit(writer);
        test_hook_after_batch(++batches);
    }
    progress_finish(&bar);
    free(vectors);
    free(status);
    return rc != 0 ? -1 : start < n;
}

/* Walks the directory, embeds what is new, prints the summary. */
static int update_index(const search_args *a, lclip_image_encoder *encoder, index_writer *writer,
                        const image_list *indexed)
{
    image_list found;
    if (find_images(a->dir, INDEX_MAX_PATH, &found) != 0)
        return 1;
    size_t n_todo;
    const char **todo = images_to_embed(&found, indexed, &n_todo);
    if (!todo) {
        image_list_free(&found);
        return 1;
    }
    report("%zu image files under %s: %zu already indexed, %zu to embed", found.count, a->dir, found.count - n_todo,
           n_todo);
    tally counts = {0, found.skipped};
    catch_interrupts();
    int outcome = embed_all(encoder, writer, todo, n_todo, a->batch, &counts), rc = 0;
    if (outcome < 0) {
        rc = 1;
    } else if (outcome == 1) {
        report("interrupted: %zu images indexed in this run, %" PRIu64 " in %s; rerun the same command to resume",
               counts.indexed, writer->header.count, a->index);
        rc = EXIT_INTERRUPTED;
    } else {
        printf("indexed %zu images, skipped %zu (%zu already indexed, %" PRIu64 " in the index)\n", counts.indexed,
               counts.skipped, found.count - n_todo, writer->header.count);
    }
    free(todo);
    image_list_free(&found);
    return rc;
}

int run_index(const search_args *a)
{
    lclip_options options;
    lclip_options_init(&options);
    options.n_threads = a->threads;
    options.engine = a->engine;
    options.precision = a->precision;
    lclip_image_encoder *encoder;
    lclip_status s = lclip_image_encoder_open(a->model, &options, &encoder);
    if (s != LCLIP_OK) {
        report("%s: %s: %s", a->model, lclip_strerror(s), lclip_last_error());
        return 1;
    }
    index_header ours = {INDEX_VERSION, (uint32_t)lclip_image_encoder_dim(encoder),
                         (uint32_t)lclip_image_encoder_image_size(encoder), model_fingerprint(a->model), 0};
    index_writer writer;
    image_list indexed = {0};
    int rc = 1;
    if (ours.dim == 0 || ours.dim > INDEX_MAX_DIM)
        report("%s: embedding dim %" PRIu32 " is outside the index format's 1..%d", a->model, ours.dim,
               INDEX_MAX_DIM);
    else if (index_writer_open(&writer, a->index, &ours) == 0) {
        if (load_index(a, &writer, &ours, &indexed) == 0)
            rc = update_index(a, encoder, &writer, &indexed);
        index_writer_close(&writer);
    }
    image_list_free(&indexed);
    lclip_image_encoder_close(encoder);
    return rc;
}
