/* clip-search: build an embedding index of a directory's images and search
 * it by text or by image.
 *
 *   clip-search index --model PATH DIR --index FILE [--threads N] [--batch N]
 *   clip-search query --model PATH --index FILE (--text STRING | --image FILE) [--top K]
 *                     [--classifier FILE --class NAME [--min-prob P]]
 *   clip-search query --index FILE --classifier FILE --class NAME [--min-prob P] [--top K]
 *   (both also take --engine auto|cblas|onednn and --precision f32|bf16)
 *
 * The index format and the tool's behaviour are specified in docs/tools.md.
 * Exit codes: 0 success, 1 failure (message on stderr), 2 usage error,
 * 130 indexing interrupted (rerun to resume). */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clip_search.h"
#include "engine_flags.h"

enum { DEFAULT_BATCH = 16, MAX_BATCH = 4096, DEFAULT_TOP = 10 };

static int usage(FILE *to)
{
    fprintf(to,
            "usage: clip-search index --model PATH DIR --index FILE [--threads N] [--batch N]\n"
            "       clip-search query --model PATH --index FILE (--text STRING | --image FILE) [--top K]\n"
            "                         [--threads N] [--classifier FILE --class NAME [--min-prob P]]\n"
            "       clip-search query --index FILE --classifier FILE --class NAME [--min-prob P] [--top K]\n"
            "index: embeds every .png/.jpg/.jpeg/.webp/.gif/.bmp file under DIR (recursively) into FILE,\n"
            "       %d images per batch by default. Rerun it to resume an interrupted run or to add new images;\n"
            "       images already in FILE are not embedded again.\n"
            "query: prints the K best matches (default %d) as \"score  path\", best first; the score is\n"
            "       the cosine similarity.\n"
            "       --classifier FILE --class NAME keeps only the images a saved classifier (clip-zeroshot\n"
            "       --save-classifier, clip-probe train) puts in class NAME: its most likely class, or with\n"
            "       --min-prob P, a probability of at least P. Without --text or --image, the images of the\n"
            "       class are ranked by that probability.\n"
            "--threads N: threads per encode call (default: one, with OpenBLAS's own threads).\n"
            ENGINE_FLAGS_USAGE,
            DEFAULT_BATCH, DEFAULT_TOP);
    return to == stdout ? 0 : 2;
}

/* Reports a usage error; returns its exit code, 2. */
static int usage_error(const char *problem, const char *what)
{
    fprintf(stderr, "clip-search: %s%s\n", problem, what);
    usage(stderr);
    return 2;
}

/* A whole decimal number in [min, max]; 0 on success. */
static int parse_number(const char *text, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < min || value > max)
        return -1;
    *out = value;
    return 0;
}

/* A probability in [0, 1]; 0 on success. */
static int parse_probability(const char *text, double *out)
{
    char *end;
    errno = 0;
    double value = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !(value >= 0 && value <= 1))
        return -1;
    *out = value;
    return 0;
}

/* Handles argv[*i], an option taking a value; 0, or an exit code. */
static int parse_option(int argc, char **argv, int *i, search_args *a)
{
    const char *option = argv[*i];
    int is_index = strcmp(a->command, "index") == 0;
    if (*i + 1 >= argc)
        return usage_error("missing value after ", option);
    const char *value = argv[++*i];
    long number;
    if (strcmp(option, "--model") == 0)
        a->model = value;
    else if (strcmp(option, "--index") == 0)
        a->index = value;
    else if (strcmp(option, "--threads") == 0 && parse_number(value, 0, 1024, &number) == 0)
        a->threads = (int)number;
    else if (strcmp(option, "--engine") == 0 && parse_engine(value, &a->engine) == 0)
        ;
    else if (strcmp(option, "--precision") == 0 && parse_precision(value, &a->precision) == 0)
        ;
    else if (is_index && strcmp(option, "--batch") == 0 && parse_number(value, 1, MAX_BATCH, &number) == 0)
        a->batch = (size_t)number;
    else if (!is_index && strcmp(option, "--text") == 0 && !a->text)
        a->text = value;
    else if (!is_index && strcmp(option, "--image") == 0 && !a->image)
        a->image = value;
    else if (!is_index && strcmp(option, "--top") == 0 && parse_number(value, 1, 1000000000, &number) == 0)
        a->top = (size_t)number;
    else if (!is_index && strcmp(option, "--classifier") == 0 && !a->classifier)
        a->classifier = value;
    else if (!is_index && strcmp(option, "--class") == 0 && !a->class_name)
        a->class_name = value;
    else if (!is_index && strcmp(option, "--min-prob") == 0 && parse_probability(value, &a->min_prob) == 0)
        ;
    else
        return usage_error("unknown, repeated or invalid option for this command: ", option);
    return 0;
}

/* 0 with *a filled in, -1 for --help, or a usage error's exit code. */
static int parse(int argc, char **argv, search_args *a)
{
    memset(a, 0, sizeof *a);
    a->batch = DEFAULT_BATCH;
    a->top = DEFAULT_TOP;
    a->min_prob = -1;
    if (argc < 2)
        return usage_error("which command? index or query", "");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
        return -1;
    if (strcmp(argv[1], "index") != 0 && strcmp(argv[1], "query") != 0)
        return usage_error("unknown command: ", argv[1]);
    a->command = argv[1];
    int is_index = strcmp(a->command, "index") == 0;
    for (int i = 2; i < argc; i++) {
        int rc;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return -1;
        if (strncmp(argv[i], "--", 2) == 0) {
            if ((rc = parse_option(argc, argv, &i, a)) != 0)
                return rc;
        } else if (is_index && !a->dir) {
            a->dir = argv[i];
        } else {
            return usage_error("unexpected argument: ", argv[i]);
        }
    }
    int by_class_alone = !is_index && a->classifier && !a->text && !a->image;
    if ((!a->model && !by_class_alone) || !a->index)
        return usage_error("--model and --index are required", "");
    if (is_index && !a->dir)
        return usage_error("index: which directory? (DIR is missing)", "");
    if (!is_index && a->text && a->image)
        return usage_error("query: give one of --text and --image, not both", "");
    if (!is_index && !a->text && !a->image && !a->classifier)
        return usage_error("query: give --text, --image or --classifier", "");
    if (!is_index && !a->classifier != !a->class_name)
        return usage_error("query: --classifier and --class go together", "");
    if (!is_index && a->min_prob >= 0 && !a->classifier)
        return usage_error("query: --min-prob needs --classifier and --class", "");
    return 0;
}

int main(int argc, char **argv)
{
    search_args args;
    int parsed = parse(argc, argv, &args);
    if (parsed != 0)
        return parsed < 0 ? usage(stdout) : parsed;
    return strcmp(args.command, "index") == 0 ? run_index(&args) : run_query(&args);
}
