/* clip-info: open a CLIP checkpoint and print what libclip sees in it, what
 * it chose while opening it (the log callback's lines), and how the loaded
 * library was built.
 *   clip-info MODEL_PATH
 * Exit codes: 0 success, 1 the model could not be opened, 2 usage. */
#include <stdio.h>
#include <string.h>

#include "libclip.h"

static int usage(FILE *to)
{
    fprintf(to, "usage: clip-info MODEL_PATH\n"
                "  MODEL_PATH: a Hugging Face CLIP directory (single-file or sharded), or an\n"
                "              open_clip/OpenAI .safetensors file\n");
    return to == stdout ? 0 : 2;
}

/* Open-time choices ("hyperparameters inferred", "no BPE vocabulary"), one
 * per line after the facts; a line both encoders log is printed once. */
typedef struct notes {
    char messages[16][512];
    lclip_log_level levels[16];
    int count;
} notes;

static void keep_note(void *user, lclip_log_level level, const char *message)
{
    notes *n = user;
    for (int i = 0; i < n->count; i++)
        if (strcmp(n->messages[i], message) == 0)
            return;
    if (n->count < 16) {
        n->levels[n->count] = level;
        snprintf(n->messages[n->count++], sizeof n->messages[0], "%s", message);
    }
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0))
        return usage(stdout);
    if (argc != 2)
        return usage(stderr);

    lclip_image_encoder *image = NULL;
    lclip_text_encoder *text = NULL;
    notes n = {.count = 0};
    lclip_options opts;
    lclip_options_init(&opts);
    opts.log = keep_note;
    opts.log_user = &n;
    lclip_status s = lclip_image_encoder_open(argv[1], &opts, &image);
    if (s != LCLIP_OK) {
        fprintf(stderr, "clip-info: image encoder: %s: %s\n", lclip_strerror(s), lclip_last_error());
        return 1;
    }
    s = lclip_text_encoder_open(argv[1], &opts, &text);
    if (s != LCLIP_OK) {
        fprintf(stderr, "clip-info: text encoder: %s: %s\n", lclip_strerror(s), lclip_last_error());
        lclip_image_encoder_close(image);
        return 1;
    }
    printf("libclip %s\n", lclip_version());
    printf("model:          %s\n", argv[1]);
    printf("embedding dim:  %zu\n", lclip_image_encoder_dim(image));
    printf("image size:     %d\n", lclip_image_encoder_image_size(image));
    printf("context length: %d\n", lclip_text_encoder_context_length(text));
    printf("logit scale:    %.4f\n", (double)lclip_image_encoder_logit_scale(image));
    /* the describe string's tower fields, from " vision=" on */
    const char *tower = strstr(lclip_image_encoder_describe(image), " vision=");
    printf("image tower:    %s\n", tower ? tower + strlen(" vision=") : "(not described)");
    printf("image encoder:  %s\n", lclip_image_encoder_describe(image));
    printf("text encoder:   %s\n", lclip_text_encoder_describe(text));
    /* the last field of describe, since 0.4.0: vocab=builtin:PATH, hf:PATH, gz:PATH or none */
    const char *vocab = strstr(lclip_text_encoder_describe(text), " vocab=");
    printf("vocabulary:     %s\n", vocab ? vocab + strlen(" vocab=") : "(not reported)");
    for (int i = 0; i < n.count; i++)
        printf("%-8s %s\n", n.levels[i] == LCLIP_LOG_WARNING ? "warning:" : "note:", n.messages[i]);
    printf("built:          %s\n", lclip_build_info());
    lclip_text_encoder_close(text);
    lclip_image_encoder_close(image);
    return 0;
}
