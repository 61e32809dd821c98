/* clip-probe: train a linear probe (the CLIP paper's few-shot classifier) on
 * labelled images, and apply a saved one.
 *
 *   clip-probe train --model PATH --out FILE DIR [--c C] [--folds K] [--holdout F] [--threads N]
 *   clip-probe apply --model PATH --classifier FILE IMAGE... [--top K] [--threads N]
 *   (both also take --engine auto|cblas|onednn and --precision f32|bf16)
 *
 * train: DIR holds one sub-directory per class, named after it, with that
 * class's images. Every image is embedded; a stratified fraction F (default
 * 0.2) is held out; C is chosen by K-fold cross-validation on the rest over
 * lclip_probe_select_c's grid (unless --c); a probe trained on the rest is
 * scored on the held-out images (printed); the saved probe is then trained
 * on every image. Progress goes to stderr.
 * apply: prints each image's classes ranked by probability.
 * Exit codes: 0 success, 1 failure (message on stderr), 2 usage error. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "engine_flags.h"
#include "libclip.h"
#include "ranked_output.h"

typedef struct probe_args {
    const char *command, *model, *out, *dir, *classifier;
    char **images;
    int n_images;
    double c;        /* 0: cross-validate */
    int folds;
    double holdout;
    size_t top;
    lclip_options opts;
} probe_args;

/* The training set as found on disk: image paths and their class indices. */
typedef struct labelled_images {
    char **class_names;
    size_t n_classes;
    char **paths;
    int32_t *labels;
    size_t n;
} labelled_images;

static int usage(FILE *to)
{
    fprintf(to,
            "usage: clip-probe train --model PATH --out FILE DIR [--c C] [--folds K] [--holdout F] [--threads N]\n"
            "       clip-probe apply --model PATH --classifier FILE IMAGE... [--top K] [--threads N]\n"
            "train: DIR has one sub-directory per class (its name is the class's) holding its images.\n"
            "       Holds out a stratified fraction F of the images (default 0.2; 0: none) and prints the\n"
            "       accuracy on them; picks C by K-fold cross-validation (default 5) unless --c is given;\n"
            "       saves the probe, trained on every image, to FILE.\n"
            "apply: prints each IMAGE's classes ranked by probability (the top K; default all).\n"
            "--threads N: threads per encode call (default: one, with the BLAS's own threads).\n" ENGINE_FLAGS_USAGE);
    return to == stdout ? 0 : 2;
}

static int fail(const char *what, lclip_status s)
{
    fprintf(stderr, "clip-probe: %s: %s: %s\n", what, lclip_strerror(s), lclip_last_error());
    return 1;
}

static int out_of_memory(void)
{
    fprintf(stderr, "clip-probe: out of memory\n");
    return 1;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The sorted names in dir of entries that are directories (want_dirs) or
 * regular files, hidden ones left out; NULL (reported) on failure. */
static char **list_dir(const char *dir, int want_dirs, size_t *count)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "clip-probe: %s: %s\n", dir, strerror(errno));
        return NULL;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    int ok = 1;
    while (ok && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        char *path = malloc(len);
        struct stat st;
        if (!path) {
            ok = 0;
            break;
        }
        snprintf(path, len, "%s/%s", dir, e->d_name);
        int keep = stat(path, &st) == 0 && (want_dirs ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode));
        free(path);
        if (!keep)
            continue;
        if (n == cap) {
            char **grown = realloc(names, (cap = cap ? 2 * cap : 16) * sizeof *names);
            ok = grown != NULL;
            names = grown ? grown : names;
        }
        if (ok && !(names[n++] = strdup(e->d_name)))
            ok = 0, n--;
    }
    closedir(d);
    if (!ok) {
        for (size_t i = 0; i < n; i++)
            free(names[i]);
        free(names);
        out_of_memory();
        return NULL;
    }
    if (n > 1)
        qsort(names, n, sizeof *names, by_name);
    *count = n;
    return names ? names : calloc(1, sizeof *names);
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
}

static void free_labelled(labelled_images *set)
{
    free_names(set->class_names, set->n_classes);
    free_names(set->paths, set->n);
    free(set->labels);
}

/* Every file of every class directory under dir; 0, or 1 (reported). */
static int find_images(const char *dir, labelled_images *set)
{
    memset(set, 0, sizeof *set);
    if (!(set->class_names = list_dir(dir, 1, &set->n_classes)))
        return 1;
    if (set->n_classes < 2) {
        fprintf(stderr, "clip-probe: %s: %zu class directories; a probe needs at least 2\n", dir, set->n_classes);
        return 1;
    }
    for (size_t c = 0; c < set->n_classes; c++) {
        size_t len = strlen(dir) + strlen(set->class_names[c]) + 2, n_files = 0;
        char *class_dir = malloc(len);
        if (!class_dir)
            return out_of_memory();
        snprintf(class_dir, len, "%s/%s", dir, set->class_names[c]);
        char **files = list_dir(class_dir, 0, &n_files);
        char **paths = files ? realloc(set->paths, (set->n + n_files) * sizeof *paths + 1) : NULL;
        int32_t *labels = paths ? realloc(set->labels, (set->n + n_files) * sizeof *labels + 1) : NULL;
        set->paths = paths ? paths : set->paths;
        set->labels = labels ? labels : set->labels;
        int rc = 0;
        if (!files || !paths || !labels)
            rc = files ? out_of_memory() : 1;
        else if (n_files == 0)
            rc = (fprintf(stderr, "clip-probe: %s: no images in this class's directory\n", class_dir), 1);
        for (size_t i = 0; rc == 0 && i < n_files; i++) {
            size_t plen = strlen(class_dir) + strlen(files[i]) + 2;
            if (!(set->paths[set->n] = malloc(plen))) {
                rc = out_of_memory();
                break;
            }
            snprintf(set->paths[set->n], plen, "%s/%s", class_dir, files[i]);
            set->labels[set->n++] = (int32_t)c;
        }
        free_names(files, n_files);
        free(class_dir);
        if (rc)
            return rc;
    }
    return 0;
}

static void warn_item(void *user, size_t index, lclip_status status, const char *message)
{
    (void)user, (void)index, (void)status;
    fprintf(stderr, "clip-probe: warning: skipping %s\n", message); /* the message names the file */
}

static int show_progress(void *user, size_t done, size_t total)
{
    (void)user;
    fprintf(stderr, "clip-probe: embedded %zu/%zu images\n", done, total);
    return 0;
}

/* Embeds every image into *embeddings; images that fail are warned about
 * and dropped from set (their rows too). 0, or 1 (reported). */
static int embed_images(const probe_args *a, labelled_images *set, float **embeddings, size_t *dim)
{
    lclip_image_encoder *enc;
    lclip_status s = lclip_image_encoder_open(a->model, &a->opts, &enc);
    if (s != LCLIP_OK)
        return fail(a->model, s);
    *dim = lclip_image_encoder_dim(enc);
    float *out = malloc(set->n * *dim * sizeof *out);
    lclip_status *status = malloc(set->n * sizeof *status);
    int rc = 0;
    if (!out || !status) {
        rc = out_of_memory();
    } else {
        lclip_batch_options batch;
        lclip_batch_options_init(&batch);
        batch.item_status = status;
        batch.on_progress = show_progress;
        batch.on_item_error = warn_item;
        if ((s = lclip_image_encode_files_ex(enc, (const char *const *)set->paths, set->n, out, &batch)) != LCLIP_OK)
            rc = fail("embedding", s);
    }
    lclip_image_encoder_close(enc);
    size_t kept = 0;
    for (size_t i = 0; rc == 0 && i < set->n; i++) {
        if (status[i] != LCLIP_OK) { /* warned about by warn_item */
            free(set->paths[i]);
            continue;
        }
        memmove(out + kept * *dim, out + i * *dim, *dim * sizeof *out);
        set->paths[kept] = set->paths[i];
        set->labels[kept++] = set->labels[i];
    }
    if (rc == 0)
        set->n = kept;
    free(status);
    if (rc) {
        free(out);
        return rc;
    }
    *embeddings = out;
    return 0;
}

/* Splits the rows into train and held-out ones, stratified: of a class's m
 * images, the j-th is held out when floor((j + 1) F) > floor(j F), so about
 * m F of them, spread evenly. Writes the rows' indices; returns the
 * held-out count. */
static size_t split(const labelled_images *set, double holdout, size_t *train, size_t *n_train, size_t *held)
{
    size_t *seen = calloc(set->n_classes, sizeof *seen), n_held = 0;
    *n_train = 0;
    for (size_t i = 0; i < set->n; i++) {
        size_t j = seen[set->labels[i]]++;
        if (floor((double)(j + 1) * holdout) > floor((double)j * holdout))
            held[n_held++] = i;
        else
            train[(*n_train)++] = i;
    }
    free(seen);
    return n_held;
}

/* Rows rows[n] of embeddings and labels, gathered. */
static void gather(const float *embeddings, const int32_t *labels, size_t dim, const size_t *rows, size_t n,
                   float *x, int32_t *y)
{
    for (size_t i = 0; i < n; i++) {
        memcpy(x + i * dim, embeddings + rows[i] * dim, dim * sizeof *x);
        y[i] = labels[rows[i]];
    }
}

/* The examples of the rarest class among labels[n]. */
static size_t rarest_class(const int32_t *labels, size_t n, size_t n_classes)
{
    size_t *counts = calloc(n_classes, sizeof *counts), rarest = SIZE_MAX;
    for (size_t i = 0; counts && i < n; i++)
        counts[labels[i]]++;
    for (size_t c = 0; counts && c < n_classes; c++)
        rarest = counts[c] < rarest ? counts[c] : rarest;
    free(counts);
    return counts ? rarest : 0;
}

/* C: given, or cross-validated on x, y. */
static lclip_status choose_c(const probe_args *a, const float *x, const int32_t *y, size_t n, size_t dim,
                             size_t n_classes, double *c)
{
    if (a->c > 0) {
        *c = a->c;
        return LCLIP_OK;
    }
    size_t rarest = rarest_class(y, n, n_classes);
    int folds = rarest < (size_t)a->folds ? (int)rarest : a->folds;
    if (folds < 2) {
        fprintf(stderr, "clip-probe: a class has %zu training image(s), too few to cross-validate; C = 1\n", rarest);
        *c = 1.0;
        return LCLIP_OK;
    }
    fprintf(stderr, "clip-probe: choosing C by %d-fold cross-validation over 10^-2 .. 10^4\n", folds);
    double accuracy;
    lclip_status s = lclip_probe_select_c(x, n, dim, y, n_classes, NULL, 0, folds, NULL, c, &accuracy);
    if (s == LCLIP_OK)
        fprintf(stderr, "clip-probe: C = %g (cross-validated accuracy %.2f%%)\n", *c, 100.0 * accuracy);
    return s;
}

/* Trains on the training rows, scores the held-out ones, prints the accuracy. */
static int report_holdout(const probe_args *a, const labelled_images *set, const float *embeddings, size_t dim,
                          double *c)
{
    size_t n = set->n, n_train, n_held;
    size_t *train = malloc(n * sizeof *train), *held = malloc(n * sizeof *held);
    float *x = malloc(n * dim * sizeof *x), *logits = malloc(set->n_classes * sizeof *logits);
    int32_t *y = malloc(n * sizeof *y);
    int rc = 0;
    if (!train || !held || !x || !y || !logits) {
        rc = out_of_memory();
        goto done;
    }
    n_held = split(set, a->holdout, train, &n_train, held);
    gather(embeddings, set->labels, dim, train, n_train, x, y);
    lclip_status s = choose_c(a, x, y, n_train, dim, set->n_classes, c);
    if (s != LCLIP_OK) {
        rc = fail("choosing C", s);
        goto done;
    }
    if (n_held == 0) {
        printf("held-out accuracy: none held out\n");
        goto done;
    }
    lclip_probe_options opts;
    lclip_probe_options_init(&opts);
    opts.c = *c;
    lclip_classifier *cls;
    if ((s = lclip_classifier_train_probe(x, n_train, dim, y, (const char *const *)set->class_names, set->n_classes,
                                          &opts, &cls)) != LCLIP_OK) {
        rc = fail("training on the images not held out", s);
        goto done;
    }
    size_t right = 0;
    for (size_t i = 0; i < n_held; i++) {
        if ((s = lclip_classifier_apply(cls, embeddings + held[i] * dim, 1, dim, logits, NULL)) != LCLIP_OK)
            break;
        size_t best = 0;
        for (size_t k = 1; k < set->n_classes; k++)
            best = logits[k] > logits[best] ? k : best;
        right += best == (size_t)set->labels[held[i]];
    }
    lclip_classifier_free(cls);
    if (s != LCLIP_OK)
        rc = fail("held-out images", s);
    else
        printf("held-out accuracy: %.2f%% (%zu of %zu images)\n", 100.0 * (double)right / (double)n_held, right,
               n_held);
done:
    free(train);
    free(held);
    free(x);
    free(y);
    free(logits);
    return rc;
}

static int run_train(const probe_args *a)
{
    labelled_images set;
    float *embeddings = NULL;
    size_t dim = 0;
    int rc = find_images(a->dir, &set);
    if (rc == 0) {
        fprintf(stderr, "clip-probe: %zu images in %zu classes\n", set.n, set.n_classes);
        rc = embed_images(a, &set, &embeddings, &dim);
    }
    double c = 0;
    if (rc == 0)
        rc = report_holdout(a, &set, embeddings, dim, &c);
    if (rc == 0) {
        lclip_probe_options opts;
        lclip_probe_options_init(&opts);
        opts.c = c;
        lclip_classifier *cls;
        lclip_status s = lclip_classifier_train_probe(embeddings, set.n, dim, set.labels,
                                                      (const char *const *)set.class_names, set.n_classes, &opts,
                                                      &cls);
        if (s != LCLIP_OK)
            rc = fail("training", s);
        else if ((s = lclip_classifier_save(cls, a->out)) != LCLIP_OK)
            rc = fail(a->out, s);
        else
            fprintf(stderr, "clip-probe: saved a probe of %zu classes (C = %g, %zu images) to %s\n", set.n_classes,
                    c, set.n, a->out);
        lclip_classifier_free(cls);
    }
    free(embeddings);
    free_labelled(&set);
    return rc;
}

static int run_apply(const probe_args *a)
{
    lclip_classifier *cls;
    lclip_status s = lclip_classifier_load(a->classifier, &cls);
    if (s != LCLIP_OK)
        return fail(a->classifier, s);
    lclip_image_encoder *enc;
    if ((s = lclip_image_encoder_open(a->model, &a->opts, &enc)) != LCLIP_OK) {
        lclip_classifier_free(cls);
        return fail(a->model, s);
    }
    size_t dim = lclip_image_encoder_dim(enc), k = lclip_classifier_classes(cls);
    float *embedding = malloc(dim * sizeof *embedding), *probs = malloc(k * sizeof *probs);
    int rc = embedding && probs ? 0 : out_of_memory();
    for (int i = 0; i < a->n_images && rc == 0; i++) {
        if ((s = lclip_image_encode_file(enc, a->images[i], embedding)) != LCLIP_OK)
            rc = fail(a->images[i], s);
        else if ((s = lclip_classifier_apply(cls, embedding, 1, dim, NULL, probs)) != LCLIP_OK)
            rc = fail(a->classifier, s);
        else {
            if (a->n_images > 1)
                printf("%s:\n", a->images[i]);
            if (print_ranked(cls, probs, a->top) != 0)
                rc = out_of_memory();
        }
    }
    free(embedding);
    free(probs);
    lclip_image_encoder_close(enc);
    lclip_classifier_free(cls);
    return rc;
}

/* A number in [min, max]; 0 on success. */
static int parse_double(const char *text, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !(v >= min && v <= max))
        return -1;
    *out = v;
    return 0;
}

/* 0 with *a filled in, -1 for --help, or a usage error's exit code (2). */
static int parse(int argc, char **argv, probe_args *a)
{
    memset(a, 0, sizeof *a);
    a->folds = 5;
    a->holdout = 0.2;
    a->top = SIZE_MAX;
    lclip_options_init(&a->opts);
    if (argc < 2 || (strcmp(argv[1], "train") != 0 && strcmp(argv[1], "apply") != 0))
        return argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) ? -1 : 2;
    a->command = argv[1];
    int train = strcmp(a->command, "train") == 0;
    a->images = calloc((size_t)argc, sizeof *a->images);
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        double number;
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
            return -1;
        if (strncmp(arg, "--", 2) != 0) {
            if (train && !a->dir)
                a->dir = arg;
            else if (!train)
                a->images[a->n_images++] = argv[i];
            else
                return 2;
            continue;
        }
        if (!value)
            return 2;
        i++;
        if (strcmp(arg, "--model") == 0)
            a->model = value;
        else if (train && strcmp(arg, "--out") == 0)
            a->out = value;
        else if (train && strcmp(arg, "--c") == 0 && parse_double(value, 1e-12, 1e12, &a->c) == 0)
            ;
        else if (train && strcmp(arg, "--folds") == 0 && parse_double(value, 2, 100, &number) == 0 &&
                 number == floor(number))
            a->folds = (int)number;
        else if (train && strcmp(arg, "--holdout") == 0 && parse_double(value, 0, 0.9, &a->holdout) == 0)
            ;
        else if (!train && strcmp(arg, "--classifier") == 0)
            a->classifier = value;
        else if (!train && strcmp(arg, "--top") == 0 && parse_double(value, 1, 1e9, &number) == 0)
            a->top = (size_t)number;
        else if (strcmp(arg, "--threads") == 0 && parse_double(value, 0, LCLIP_MAX_THREADS, &number) == 0)
            a->opts.n_threads = (int)number;
        else if (strcmp(arg, "--engine") == 0 && parse_engine(value, &a->opts.engine) == 0)
            ;
        else if (strcmp(arg, "--precision") == 0 && parse_precision(value, &a->opts.precision) == 0)
            ;
        else
            return 2;
    }
    if (!a->model || (train && (!a->out || !a->dir)) || (!train && (!a->classifier || a->n_images == 0)))
        return 2;
    return 0;
}

int main(int argc, char **argv)
{
    probe_args a;
    int parsed = parse(argc, argv, &a), rc;
    if (parsed != 0)
        rc = parsed < 0 ? usage(stdout) : usage(stderr);
    else
        rc = strcmp(a.command, "train") == 0 ? run_train(&a) : run_apply(&a);
    free(a.images);
    return rc;
}
