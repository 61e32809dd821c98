#include "image/vision_tower.h"

#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "transformer/transformer.h"

/* The stride = kernel = patch convolution is a matrix product over unfolded
 * patches: row (image, gy, gx) holds the patch's pixels in the kernel's
 * (channel, ky, kx) order. */
static void unfold_patches(const float *pixels, int first, int last, int size, int patch, float *rows)
{
    int grid = size / patch;
    size_t plane = (size_t)size * (size_t)size;
    rows += (size_t)first * (size_t)(grid * grid) * 3 * (size_t)(patch * patch);
    for (int i = first; i < last; i++) {
        const float *image = pixels + (size_t)i * 3 * plane;
        for (int gy = 0; gy < grid; gy++)
            for (int gx = 0; gx < grid; gx++)
                for (int c = 0; c < 3; c++)
                    for (int ky = 0; ky < patch; ky++) {
                        const float *src = image + c * plane + (size_t)(gy * patch + ky) * (size_t)size +
                                           (size_t)gx * (size_t)patch;
                        memcpy(rows, src, (size_t)patch * sizeof *rows);
                        rows += patch;
                    }
    }
}

size_t lclip_vision_tower_rows_per_image(const lclip_vision_tower *t)
{
    size_t grid = (size_t)(t->cfg.image_size / t->cfg.patch_size);
    return grid * grid + 1;
}

/* x row (image, 0) = class embedding; row (image, 1 + g) = patch g; plus positions. */
static void assemble_tokens(const lclip_vision_tower *t, const float *patch_embeddings, int first, int last,
                            float *x)
{
    int tokens = (int)lclip_vision_tower_rows_per_image(t);
    size_t w = (size_t)t->cfg.tf.width;
    for (int i = first; i < last; i++) {
        float *seq = x + (size_t)i * (size_t)tokens * w;
        memcpy(seq, t->class_embedding, w * sizeof *seq);
        memcpy(seq + w, patch_embeddings + (size_t)i * (size_t)(tokens - 1) * w,
               (size_t)(tokens - 1) * w * sizeof *seq);
        for (size_t j = 0; j < (size_t)tokens * w; j++)
            seq[j] += t->position_embedding[j];
    }
}

/* The two per-image copies around the patch GEMM, shared out by images. */
typedef struct embed_step {
    const lclip_vision_tower *t;
    const float *pixels;
    int n;
    float *unfolded, *embedded, *x;
} embed_step;

static void unfold_task(void *ctx, int part, int parts)
{
    const embed_step *s = ctx;
    size_t first, last;
    lclip_team_share((size_t)s->n, 1, part, parts, &first, &last);
    unfold_patches(s->pixels, (int)first, (int)last, s->t->cfg.image_size, s->t->cfg.patch_size, s->unfolded);
}

static void assemble_task(void *ctx, int part, int parts)
{
    const embed_step *s = ctx;
    size_t first, last;
    lclip_team_share((size_t)s->n, 1, part, parts, &first, &last);
    assemble_tokens(s->t, s->embedded, (int)first, (int)last, s->x);
}

lclip_status lclip_vision_tower_pool(lclip_team *team, const lclip_vision_tower *t, const float *pixels, int n,
                                     float *pooled)
{
    int width = t->cfg.tf.width, patch = t->cfg.patch_size;
    int tokens = (int)lclip_vision_tower_rows_per_image(t), rows = n * tokens, patch_len = 3 * patch * patch;
    float *unfolded = lclip_malloc_scratch((size_t)n * (size_t)(tokens - 1), (size_t)patch_len * sizeof(float));
    float *embedded = lclip_malloc_scratch((size_t)n * (size_t)(tokens - 1), (size_t)width * sizeof(float));
    float *x = lclip_malloc_scratch((size_t)rows, (size_t)width * sizeof(float));
    lclip_sequence *sequences = lclip_malloc_array((size_t)n, sizeof *sequences);
    lclip_status s = LCLIP_OK;
    if (!unfolded || !embedded || !x || !sequences)
        s = lclip_fail(LCLIP_E_NOMEM, "out of memory encoding %d images", n);
    embed_step embed = {t, pixels, n, unfolded, embedded, x};
    if (s == LCLIP_OK) {
        lclip_team_run(team, unfold_task, &embed);
        s = lclip_linear_forward(team, &t->patch_embedding, unfolded, embedded, n * (tokens - 1));
    }
    if (s == LCLIP_OK)
        lclip_team_run(team, assemble_task, &embed);
    /* The patches' scratch goes before the transformer's is taken: a pass's
     * peak memory holds one or the other (ViT-B/32, 15 images: 11.5 MB). */
    lclip_free(embedded);
    lclip_free(unfolded);
    if (s == LCLIP_OK) {
        lclip_layer_norm_forward(team, &t->ln_pre, t->cfg.tf.ln_eps, x, x, rows, width);
        for (int i = 0; i < n; i++)
            sequences[i] = (lclip_sequence){i * tokens, tokens};
        s = lclip_transformer_forward(team, &t->transformer, x, rows, sequences, n, 0);
    }
    if (s == LCLIP_OK)
        for (int i = 0; i < n; i++)
            lclip_layer_norm_rows(&t->ln_post, t->cfg.tf.ln_eps, x + (size_t)i * (size_t)tokens * (size_t)width,
                                  pooled + (size_t)i * (size_t)width, 1, width);
    lclip_free(sequences);
    lclip_free(x);
    return s;
}
