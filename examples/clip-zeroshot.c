/* clip-zeroshot: label an image with the most likely of the given labels.
 *
 *   clip-zeroshot --model PATH IMAGE LABEL... [--template "a photo of a {}."] [--top K]
 *                 [--engine auto|cblas|onednn] [--precision f32|bf16]
 *
 * Each label becomes a prompt through the template; the image and the
 * prompts are embedded, logits = logit_scale * cosine, and a softmax over the
 * labels gives the probabilities, printed best first.
 * Exit codes: 0 success, 1 failure (message on stderr), 2 usage error. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_flags.h"
#include "libclip.h"

typedef struct ranked {
    const char *label;
    double probability;
} ranked;

static int usage(FILE *to)
{
    fprintf(to, "usage: clip-zeroshot --model PATH IMAGE LABEL... [--template \"a photo of a {}.\"] [--top K]\n"
                "                     [--engine E] [--precision P]\n"
                "Prints the labels ranked by probability that they describe IMAGE.\n" ENGINE_FLAGS_USAGE);
    return to == stdout ? 0 : 2;
}

static int fail(const char *what, lclip_status s)
{
    fprintf(stderr, "clip-zeroshot: %s: %s: %s\n", what, lclip_strerror(s), lclip_last_error());
    return 1;
}

/* template with its first "{}" replaced by label (no "{}": label appended). */
static char *make_prompt(const char *template, const char *label)
{
    const char *slot = strstr(template, "{}");
    size_t head = slot ? (size_t)(slot - template) : strlen(template);
    const char *tail = slot ? slot + 2 : "";
    size_t size = head + strlen(label) + strlen(tail) + 2;
    char *prompt = malloc(size);
    if (prompt)
        snprintf(prompt, size, "%.*s%s%s%s", (int)head, template, slot ? "" : " ", label, tail);
    return prompt;
}

static int by_probability(const void *a, const void *b)
{
    double pa = ((const ranked *)a)->probability, pb = ((const ranked *)b)->probability;
    return (pa < pb) - (pa > pb);
}

static int label(const char *model, const lclip_options *opts, const char *image_path, char **labels, int n,
                 const char *template, int top)
{
    lclip_image_encoder *image = NULL;
    lclip_text_encoder *text = NULL;
    lclip_status s = lclip_image_encoder_open(model, opts, &image);
    if (s == LCLIP_OK)
        s = lclip_text_encoder_open(model, opts, &text);
    if (s != LCLIP_OK) {
        lclip_image_encoder_close(image);
        return fail(model, s);
    }
    size_t dim = lclip_image_encoder_dim(image);
    float *image_vec = malloc(dim * sizeof(float)), *text_vecs = malloc((size_t)n * dim * sizeof(float));
    char **prompts = calloc((size_t)n, sizeof *prompts);
    ranked *ranks = calloc((size_t)n, sizeof *ranks);
    int rc = 0;
    for (int i = 0; i < n; i++)
        prompts[i] = make_prompt(template, labels[i]);
    if ((s = lclip_image_encode_file(image, image_path, image_vec)) != LCLIP_OK)
        rc = fail(image_path, s);
    else if ((s = lclip_text_encode_batch(text, (const char *const *)prompts, (size_t)n, text_vecs)) != LCLIP_OK)
        rc = fail("labels", s);
    if (rc == 0) {
        double scale = lclip_image_encoder_logit_scale(image), max = -INFINITY, sum = 0;
        for (int i = 0; i < n; i++) {
            double dot = 0; /* both vectors are unit length: the dot product is the cosine */
            for (size_t d = 0; d < dim; d++)
                dot += (double)image_vec[d] * text_vecs[(size_t)i * dim + d];
            ranks[i] = (ranked){labels[i], scale * dot};
            max = fmax(max, ranks[i].probability);
        }
        for (int i = 0; i < n; i++)
            sum += ranks[i].probability = exp(ranks[i].probability - max);
        for (int i = 0; i < n; i++)
            ranks[i].probability /= sum;
        qsort(ranks, (size_t)n, sizeof *ranks, by_probability);
        for (int i = 0; i < n && i < top; i++)
            printf("%7.2f%%  %s\n", 100.0 * ranks[i].probability, ranks[i].label);
    }
    for (int i = 0; i < n; i++)
        free(prompts[i]);
    free(prompts);
    free(ranks);
    free(text_vecs);
    free(image_vec);
    lclip_text_encoder_close(text);
    lclip_image_encoder_close(image);
    return rc;
}

int main(int argc, char **argv)
{
    const char *model = NULL, *template = "a photo of a {}.";
    char **positional = calloc((size_t)argc, sizeof *positional);
    int n_positional = 0, top = argc;
    lclip_options opts;
    lclip_options_init(&opts);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return free(positional), usage(stdout);
        if (strcmp(argv[i], "--model") == 0 && i + 1 < argc)
            model = argv[++i];
        else if (strcmp(argv[i], "--template") == 0 && i + 1 < argc)
            template = argv[++i];
        else if (strcmp(argv[i], "--top") == 0 && i + 1 < argc)
            top = atoi(argv[++i]);
        else if (strcmp(argv[i], "--engine") == 0 && i + 1 < argc && parse_engine(argv[i + 1], &opts.engine) == 0)
            i++;
        else if (strcmp(argv[i], "--precision") == 0 && i + 1 < argc &&
                 parse_precision(argv[i + 1], &opts.precision) == 0)
            i++;
        else if (strncmp(argv[i], "--", 2) == 0)
            return free(positional), usage(stderr);
        else
            positional[n_positional++] = argv[i];
    }
    if (!model || n_positional < 2 || top < 1)
        return free(positional), usage(stderr);
    int rc = label(model, &opts, positional[0], positional + 1, n_positional - 1, template, top);
    free(positional);
    return rc;
}
