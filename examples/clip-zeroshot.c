/* clip-zeroshot: label an image with the most likely of the given labels.
 *
 *   clip-zeroshot --model PATH IMAGE LABEL... [--template T | --templates FILE|imagenet|photo] [--top K]
 *   clip-zeroshot --model PATH --save-classifier FILE LABEL... [--template T | --templates ...]
 *   clip-zeroshot --model PATH --classifier FILE IMAGE... [--top K]
 *   (all also take --engine auto|cblas|onednn and --precision f32|bf16)
 *
 * Each label goes through every template (a prompt ensemble, as the CLIP
 * paper's: lclip_classifier_zeroshot); the image is embedded and the
 * classifier's softmax gives the probabilities, printed best first. The
 * classifier can be saved and used again without the text encoder.
 * Exit codes: 0 success, 1 failure (message on stderr), 2 usage error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_flags.h"
#include "libclip.h"
#include "ranked_output.h"

typedef struct zeroshot_args {
    const char *model, *template, *templates, *save_path, *classifier_path;
    char **positional;
    int n_positional;
    size_t top;
    lclip_options opts;
} zeroshot_args;

static int usage(FILE *to)
{
    fprintf(to,
            "usage: clip-zeroshot --model PATH IMAGE LABEL... [--template T | --templates FILE|imagenet|photo]\n"
            "                     [--top K]\n"
            "       clip-zeroshot --model PATH --save-classifier FILE LABEL... [--template T | --templates ...]\n"
            "       clip-zeroshot --model PATH --classifier FILE IMAGE... [--top K]\n"
            "Prints the labels ranked by probability that they describe IMAGE.\n"
            "  --template T       one prompt template, \"{}\" standing for the label (default \"a photo of a {}.\")\n"
            "  --templates SET    a prompt ensemble: every label through every template, the embeddings\n"
            "                     averaged: \"imagenet\" (the CLIP paper's 80), \"photo\", or a FILE with one\n"
            "                     template per line\n"
            "  --save-classifier FILE  save the labels' classifier to FILE instead of labelling an image\n"
            "  --classifier FILE  labels and class vectors from a saved classifier (zero-shot or a\n"
            "                     clip-probe one); no text encoder is opened\n" ENGINE_FLAGS_USAGE);
    return to == stdout ? 0 : 2;
}

static int fail(const char *what, lclip_status s)
{
    fprintf(stderr, "clip-zeroshot: %s: %s: %s\n", what, lclip_strerror(s), lclip_last_error());
    return 1;
}

/* A template file's non-empty lines (a trailing "\r" dropped), in *lines;
 * the text they point into is *text. 0, or -1 (reported). */
static int read_templates(const char *path, char **text, char ***lines, size_t *count)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "clip-zeroshot: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0, n;
    char *buf = malloc(cap + 1);
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0)
        if ((len += n) == cap) {
            char *grown = realloc(buf, 2 * cap + 1);
            if (!grown)
                free(buf);
            buf = grown, cap *= 2;
        }
    int read_error = ferror(f);
    fclose(f);
    char **found = buf ? malloc((len / 2 + 2) * sizeof *found) : NULL;
    if (!buf || !found || read_error) {
        fprintf(stderr, "clip-zeroshot: %s: %s\n", path, read_error ? "read failed" : "out of memory");
        free(buf);
        free(found);
        return -1;
    }
    buf[len] = '\0';
    n = 0;
    for (char *line = buf, *end; line < buf + len; line = end + 1) {
        end = strchr(line, '\n');
        end = end ? end : buf + len;
        *end = '\0';
        if (end > line && end[-1] == '\r')
            end[-1] = '\0';
        if (*line)
            found[n++] = line;
    }
    if (n == 0) {
        fprintf(stderr, "clip-zeroshot: %s: no templates in the file\n", path);
        free(buf);
        free(found);
        return -1;
    }
    *text = buf, *lines = found, *count = n;
    return 0;
}

/* The zero-shot classifier of labels[n]; NULL (reported) on failure. */
static lclip_classifier *build_classifier(const zeroshot_args *a, char **labels, size_t n)
{
    const char *one[1] = {a->template ? a->template : "a photo of a {}."};
    const char *const *templates = one;
    size_t n_templates = 1;
    char *file_text = NULL, **file_lines = NULL;
    if (a->templates && !(templates = lclip_template_set(a->templates, &n_templates))) {
        if (read_templates(a->templates, &file_text, &file_lines, &n_templates) != 0)
            return NULL;
        templates = (const char *const *)file_lines;
    }
    lclip_text_encoder *text = NULL;
    lclip_classifier *cls = NULL;
    lclip_status s = lclip_text_encoder_open(a->model, &a->opts, &text);
    if (s != LCLIP_OK)
        fail(a->model, s);
    else if ((s = lclip_classifier_zeroshot(text, (const char *const *)labels, n, templates, n_templates, NULL,
                                            &cls)) != LCLIP_OK)
        fail("labels", s);
    lclip_text_encoder_close(text);
    free(file_lines);
    free(file_text);
    return cls;
}

/* Embeds each image and prints its ranking (a "PATH:" line first when there
 * are several). */
static int label_images(const zeroshot_args *a, const lclip_classifier *cls, char **images, int n)
{
    lclip_image_encoder *image;
    lclip_status s = lclip_image_encoder_open(a->model, &a->opts, &image);
    if (s != LCLIP_OK)
        return fail(a->model, s);
    size_t dim = lclip_image_encoder_dim(image), k = lclip_classifier_classes(cls);
    float *embedding = malloc(dim * sizeof *embedding), *probs = malloc(k * sizeof *probs);
    int rc = embedding && probs ? 0 : (fprintf(stderr, "clip-zeroshot: out of memory\n"), 1);
    for (int i = 0; i < n && rc == 0; i++) {
        if ((s = lclip_image_encode_file(image, images[i], embedding)) != LCLIP_OK)
            rc = fail(images[i], s);
        else if ((s = lclip_classifier_apply(cls, embedding, 1, dim, NULL, probs)) != LCLIP_OK)
            rc = fail(a->classifier_path ? a->classifier_path : "classifier", s);
        else {
            if (n > 1)
                printf("%s:\n", images[i]);
            if (print_ranked(cls, probs, a->top) != 0)
                rc = (fprintf(stderr, "clip-zeroshot: out of memory\n"), 1);
        }
    }
    free(embedding);
    free(probs);
    lclip_image_encoder_close(image);
    return rc;
}

static int run(const zeroshot_args *a)
{
    lclip_classifier *cls = NULL;
    lclip_status s;
    if (a->classifier_path) {
        if ((s = lclip_classifier_load(a->classifier_path, &cls)) != LCLIP_OK)
            return fail(a->classifier_path, s);
        int rc = label_images(a, cls, a->positional, a->n_positional);
        lclip_classifier_free(cls);
        return rc;
    }
    /* Saving: every positional is a label; labelling: the first is the image. */
    int first_label = a->save_path ? 0 : 1;
    cls = build_classifier(a, a->positional + first_label, (size_t)(a->n_positional - first_label));
    if (!cls)
        return 1;
    int rc = 0;
    if (a->save_path) {
        if ((s = lclip_classifier_save(cls, a->save_path)) != LCLIP_OK)
            rc = fail(a->save_path, s);
        else
            fprintf(stderr, "clip-zeroshot: saved %zu classes to %s\n", lclip_classifier_classes(cls), a->save_path);
    } else {
        rc = label_images(a, cls, a->positional, 1);
    }
    lclip_classifier_free(cls);
    return rc;
}

int main(int argc, char **argv)
{
    zeroshot_args a;
    memset(&a, 0, sizeof a);
    a.positional = calloc((size_t)argc, sizeof *a.positional);
    a.top = (size_t)argc;
    lclip_options_init(&a.opts);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return free(a.positional), usage(stdout);
        int has_value = i + 1 < argc;
        if (strcmp(argv[i], "--model") == 0 && has_value)
            a.model = argv[++i];
        else if (strcmp(argv[i], "--template") == 0 && has_value)
            a.template = argv[++i];
        else if (strcmp(argv[i], "--templates") == 0 && has_value)
            a.templates = argv[++i];
        else if (strcmp(argv[i], "--save-classifier") == 0 && has_value)
            a.save_path = argv[++i];
        else if (strcmp(argv[i], "--classifier") == 0 && has_value)
            a.classifier_path = argv[++i];
        else if (strcmp(argv[i], "--top") == 0 && has_value)
            a.top = (size_t)(atoi(argv[++i]) > 0 ? atoi(argv[i]) : 0);
        else if (strcmp(argv[i], "--engine") == 0 && has_value && parse_engine(argv[i + 1], &a.opts.engine) == 0)
            i++;
        else if (strcmp(argv[i], "--precision") == 0 && has_value &&
                 parse_precision(argv[i + 1], &a.opts.precision) == 0)
            i++;
        else if (strncmp(argv[i], "--", 2) == 0)
            return free(a.positional), usage(stderr);
        else
            a.positional[a.n_positional++] = argv[i];
    }
    int needed = a.classifier_path || a.save_path ? 1 : 2;
    int conflicting = (a.template && a.templates) || (a.classifier_path && (a.save_path || a.template || a.templates));
    if (!a.model || a.n_positional < needed || a.top < 1 || conflicting)
        return free(a.positional), usage(stderr);
    int rc = run(&a);
    free(a.positional);
    return rc;
}
