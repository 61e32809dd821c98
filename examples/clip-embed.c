/* clip-embed: the command-line face of libclip.
 *
 *   clip-embed --model PATH [--threads N] [--engine E] [--precision P] [--raw] [--out FILE] [--format f32|txt]
 *              (--text STRING... | --text-file FILE | --image FILE...)
 *   clip-embed --model PATH --tokenize (--text STRING... | --text-file FILE)
 *   clip-embed --model PATH --preprocess --image FILE --out FILE
 *
 * Writes one embedding per input, in input order: f32 = little-endian float32
 * rows, txt = one line per row, space-separated %.9g. --raw skips the L2
 * normalisation. --tokenize prints every text's context_length token ids.
 * --preprocess writes the image's float32 CHW input tensor.
 * Exit codes: 0 success, 1 failure (message on stderr), 2 usage error. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_flags.h"
#include "libclip.h"

typedef struct args {
    const char *model, *out, *format, *text_file;
    const char **texts, **images;
    size_t n_texts, n_images;
    int threads, engine, precision, raw, tokenize, preprocess;
} args;

static int usage(FILE *to)
{
    fprintf(to,
            "usage: clip-embed --model PATH [--threads N] [--engine E] [--precision P] [--raw] [--out FILE]\n"
            "                  [--format f32|txt]\n"
            "                  (--text STRING... | --text-file FILE | --image FILE...)\n"
            "       clip-embed --model PATH --tokenize (--text STRING... | --text-file FILE)\n"
            "       clip-embed --model PATH --preprocess --image FILE --out FILE\n"
            "Writes one embedding per input in input order (txt: one line of %%.9g values per row;\n"
            "f32: little-endian float32 rows). --raw: unnormalised. --tokenize: print token ids.\n"
            "--preprocess: write the model's float32 CHW input tensor of the image.\n" ENGINE_FLAGS_USAGE);
    return to == stdout ? 0 : 2;
}

static int fail(const char *what, lclip_status s)
{
    fprintf(stderr, "clip-embed: %s: %s: %s\n", what, lclip_strerror(s), lclip_last_error());
    return 1;
}

/* Collects the arguments after argv[*i] up to the next option. */
static const char **collect(int argc, char **argv, int *i, size_t *n)
{
    const char **first = (const char **)&argv[*i + 1];
    *n = 0;
    while (*i + 1 < argc && strncmp(argv[*i + 1], "--", 2) != 0) {
        (*i)++;
        (*n)++;
    }
    return first;
}

static int parse(int argc, char **argv, args *a)
{
    memset(a, 0, sizeof *a);
    a->format = "txt";
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        int has_value = i + 1 < argc;
        if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0)
            return -1;
        else if (strcmp(o, "--model") == 0 && has_value)
            a->model = argv[++i];
        else if (strcmp(o, "--out") == 0 && has_value)
            a->out = argv[++i];
        else if (strcmp(o, "--format") == 0 && has_value)
            a->format = argv[++i];
        else if (strcmp(o, "--threads") == 0 && has_value)
            a->threads = atoi(argv[++i]);
        else if (strcmp(o, "--engine") == 0 && has_value && parse_engine(argv[i + 1], &a->engine) == 0)
            i++;
        else if (strcmp(o, "--precision") == 0 && has_value && parse_precision(argv[i + 1], &a->precision) == 0)
            i++;
        else if (strcmp(o, "--text-file") == 0 && has_value)
            a->text_file = argv[++i];
        else if (strcmp(o, "--raw") == 0)
            a->raw = 1;
        else if (strcmp(o, "--tokenize") == 0)
            a->tokenize = 1;
        else if (strcmp(o, "--preprocess") == 0)
            a->preprocess = 1;
        else if (strcmp(o, "--text") == 0)
            a->texts = collect(argc, argv, &i, &a->n_texts);
        else if (strcmp(o, "--image") == 0)
            a->images = collect(argc, argv, &i, &a->n_images);
        else {
            fprintf(stderr, "clip-embed: unknown or incomplete option '%s'\n", o);
            return 1;
        }
    }
    int sources = (a->n_texts > 0) + (a->text_file != NULL) + (a->n_images > 0);
    if (!a->model || sources != 1 || a->threads < 0 ||
        (strcmp(a->format, "txt") != 0 && strcmp(a->format, "f32") != 0) ||
        (a->tokenize && a->n_images) || (a->preprocess && (a->n_images != 1 || !a->out)))
        return 1;
    return 0;
}

/* Reads FILE's lines (without their line breaks) into a NULL-terminated array. */
static char **read_lines(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "clip-embed: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char **lines = NULL, *line = NULL;
    size_t cap = 0, line_cap = 0;
    ssize_t len;
    *n = 0;
    while ((len = getline(&line, &line_cap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (*n + 2 > cap) {
            cap = cap ? 2 * cap : 64;
            lines = realloc(lines, cap * sizeof *lines);
        }
        lines[(*n)++] = strdup(line);
        lines[*n] = NULL;
    }
    free(line);
    fclose(f);
    if (!lines)
        lines = calloc(1, sizeof *lines);
    return lines;
}

static int write_rows(const args *a, const float *rows, size_t n, size_t dim)
{
    FILE *out = a->out ? fopen(a->out, "wb") : stdout;
    if (!out) {
        fprintf(stderr, "clip-embed: %s: %s\n", a->out, strerror(errno));
        return 1;
    }
    if (strcmp(a->format, "f32") == 0) {
        fwrite(rows, sizeof *rows, n * dim, out); /* x86/ARM hosts are little-endian */
    } else {
        for (size_t r = 0; r < n; r++)
            for (size_t i = 0; i < dim; i++)
                fprintf(out, "%.9g%c", (double)rows[r * dim + i], i + 1 < dim ? ' ' : '\n');
    }
    int bad = ferror(out) != 0;
    if ((out != stdout ? fclose(out) : fflush(out)) != 0 || bad) {
        fprintf(stderr, "clip-embed: writing %s failed\n", a->out ? a->out : "stdout");
        return 1;
    }
    return 0;
}

static int run_text(const args *a, const lclip_options *opts, const char *const *texts, size_t n)
{
    lclip_text_encoder *enc;
    lclip_status s = lclip_text_encoder_open(a->model, opts, &enc);
    if (s != LCLIP_OK)
        return fail(a->model, s);
    int rc = 0;
    if (a->tokenize) {
        size_t context = (size_t)lclip_text_encoder_context_length(enc);
        int32_t *ids = malloc(context * sizeof *ids);
        for (size_t t = 0; t < n && rc == 0; t++) {
            if ((s = lclip_tokenize(enc, texts[t], ids, context, NULL)) != LCLIP_OK) {
                rc = fail("tokenize", s);
                break;
            }
            for (size_t i = 0; i < context; i++)
                printf("%d%c", (int)ids[i], i + 1 < context ? ' ' : '\n');
        }
        free(ids);
    } else {
        size_t dim = lclip_text_encoder_dim(enc);
        float *rows = malloc((n ? n : 1) * dim * sizeof *rows);
        s = lclip_text_encode_batch(enc, texts, n, rows);
        rc = s != LCLIP_OK ? fail("encode", s) : write_rows(a, rows, n, dim);
        free(rows);
    }
    lclip_text_encoder_close(enc);
    return rc;
}

static int run_image(const args *a, const lclip_options *opts)
{
    lclip_image_encoder *enc;
    lclip_status s = lclip_image_encoder_open(a->model, opts, &enc);
    if (s != LCLIP_OK)
        return fail(a->model, s);
    int rc;
    if (a->preprocess) {
        size_t size = (size_t)lclip_image_encoder_image_size(enc);
        float *chw = malloc(3 * size * size * sizeof *chw);
        s = lclip_image_preprocess_file(enc, a->images[0], chw);
        args f32 = *a;
        f32.format = "f32";
        rc = s != LCLIP_OK ? fail(a->images[0], s) : write_rows(&f32, chw, 1, 3 * size * size);
        free(chw);
    } else {
        size_t dim = lclip_image_encoder_dim(enc);
        float *rows = malloc(a->n_images * dim * sizeof *rows);
        s = lclip_image_encode_files(enc, a->images, a->n_images, rows);
        rc = s != LCLIP_OK ? fail("encode", s) : write_rows(a, rows, a->n_images, dim);
        free(rows);
    }
    lclip_image_encoder_close(enc);
    return rc;
}

int main(int argc, char **argv)
{
    args a;
    int parsed = parse(argc, argv, &a);
    if (parsed != 0)
        return usage(parsed < 0 ? stdout : stderr);
    lclip_options opts;
    lclip_options_init(&opts);
    opts.n_threads = a.threads;
    opts.engine = a.engine;
    opts.precision = a.precision;
    opts.normalize = !a.raw;
    if (a.n_images)
        return run_image(&a, &opts);
    if (a.n_texts)
        return run_text(&a, &opts, a.texts, a.n_texts);
    size_t n;
    char **lines = read_lines(a.text_file, &n);
    if (!lines)
        return 1;
    int rc = run_text(&a, &opts, (const char *const *)lines, n);
    for (size_t i = 0; i < n; i++)
        free(lines[i]);
    free(lines);
    return rc;
}
