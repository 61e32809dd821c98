#include "image/resnet_tower.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "transformer/attention.h"
#include "transformer/transformer.h"

/* Where the engine does not convolve (the CBLAS), im2col rows are built
 * and multiplied in chunks of at most this many floats (1 MB): the
 * unfolded rows are read by the GEMM while they are still in the cache
 * that their writing brought them into. With 16 MB chunks, RN50's
 * unfolding was a fifth of an encode (memory-bound copies) and batch 32 ran
 * at 140 ms per image instead of 68 (2 threads, Zen 5); 0.5 to 2 MB measure
 * alike. */
#define IM2COL_CHUNK_FLOATS ((size_t)256 << 10)

/* n images of h x w pixels with c channels, channels-last: row (image, y, x). */
typedef struct grid {
    float *data;
    int h, w, c;
} grid;

static size_t grid_rows(const grid *g, int n)
{
    return (size_t)n * (size_t)g->h * (size_t)g->w;
}

static lclip_status grid_alloc(grid *g, int n, int h, int w, int c)
{
    *g = (grid){NULL, h, w, c};
    g->data = lclip_malloc_scratch(grid_rows(g, n), (size_t)c * sizeof(float));
    if (!g->data)
        return lclip_fail(LCLIP_E_NOMEM, "out of memory for %d images' %dx%dx%d activations", n, h, w, c);
    return LCLIP_OK;
}

static void grid_free(grid *g)
{
    lclip_free(g->data);
    g->data = NULL;
}

/* The most activations the images in flight may hold. Within it, each
 * team member runs one image at a time: more images at once do not make a
 * ResNet faster, they only take memory (RN50, batch 32: 36.7 ms per image
 * with one image per member of 2, 40.8 with two, peak RSS 202 and 224 MiB;
 * on one thread 190 MiB with one image per pass, 200 with two). */
#define PASS_ACTIVATION_BYTES ((size_t)48 << 20)
/* A team's pass holds up to this many images per member, which the
 * members take one by one: a member that runs slower (this VM's vCPUs
 * change speed) takes fewer, and only the end of a pass waits for the
 * slowest. RN50, batch 32, 2 threads: 33.8 ms per image with 4 per member
 * (4 passes), 32.9 with 16 (one pass). */
#define IMAGES_PER_MEMBER 16
/* ... as long as their preprocessed pixels take at most this (32 RN50
 * images; a ViT-B/32 pass holds 15 images in 9 MB, and 46 MB of
 * activations). */
#define PASS_PIXEL_BYTES ((size_t)20 << 20)

/* The widest steps hold 6 width channels over (size / 4)^2 pixels per
 * image: a first-layer block its input or shortcut (4 width channels) and
 * two width-channel grids; the stem's last convolution its input and output
 * (1.5 width channels over 4 times the pixels). Later layers hold half as
 * much each; im2col and residual chunks are bounded apart
 * (IM2COL_CHUNK_FLOATS). */
size_t lclip_resnet_tower_images_per_pass(const lclip_resnet_tower *t, int members)
{
    size_t side = (size_t)t->cfg.image_size / 4;
    size_t bytes = side * side * 6 * (size_t)t->cfg.resnet.width * sizeof(float);
    size_t fit = bytes < PASS_ACTIVATION_BYTES ? PASS_ACTIVATION_BYTES / bytes : 1;
    if (members <= 1)
        return 1;
    if (fit < (size_t)members)
        return fit; /* fewer images than members: shared out step by step */
    size_t size = (size_t)t->cfg.image_size, images = PASS_PIXEL_BYTES / (3 * size * size * sizeof(float));
    if (images > (size_t)members * IMAGES_PER_MEMBER)
        images = (size_t)members * IMAGES_PER_MEMBER;
    return images > (size_t)members ? images : (size_t)members;
}

/* A copy step shared out by output lines (image, y): each member converts,
 * unfolds or pools its own lines. */
typedef struct line_step {
    const grid *in;
    grid *out;
    const float *pixels; /* channels_last_task: [n][3][size][size] */
    const lclip_conv *conv;
    size_t first_row, rows; /* unfold: the chunk of output rows */
    float *columns;         /* unfold: [rows][kernel * kernel * in.c] */
    int n;
} line_step;

static void channels_last_task(void *ctx, int part, int parts)
{
    const line_step *s = ctx;
    size_t first, last, plane = (size_t)s->out->h * (size_t)s->out->w;
    lclip_team_share((size_t)s->n, 1, part, parts, &first, &last);
    for (size_t i = first; i < last; i++) {
        const float *image = s->pixels + i * 3 * plane;
        float *dst = s->out->data + i * plane * 3;
        for (size_t p = 0; p < plane; p++)
            for (size_t c = 0; c < 3; c++)
                dst[p * 3 + c] = image[c * plane + p];
    }
}

/* 2x2 average pool of stride 2 (AvgPool2d(2) on even sizes). */
static void avg_pool_task(void *ctx, int part, int parts)
{
    const line_step *s = ctx;
    const grid *in = s->in;
    grid *out = s->out;
    size_t c = (size_t)in->c, lines = (size_t)s->n * (size_t)out->h, first, last;
    lclip_team_share(lines, 1, part, parts, &first, &last);
    for (size_t line = first; line < last; line++) {
        size_t image = line / (size_t)out->h, oy = line % (size_t)out->h;
        const float *top = in->data + ((image * (size_t)in->h + 2 * oy) * (size_t)in->w) * c;
        const float *bottom = top + (size_t)in->w * c;
        float *dst = out->data + line * (size_t)out->w * c;
        for (size_t ox = 0; ox < (size_t)out->w; ox++, dst += c, top += 2 * c, bottom += 2 * c)
            for (size_t k = 0; k < c; k++)
                dst[k] = 0.25f * (top[k] + top[c + k] + bottom[k] + bottom[c + k]);
    }
}

/* Output row r of the convolution as one im2col row: for each (ky, kx) the
 * input pixel's channels, zeros where the kernel overhangs the border. */
static void unfold_row(const line_step *s, size_t r, float *row)
{
    const grid *in = s->in;
    const lclip_conv *conv = s->conv;
    int oh = s->out->h, ow = s->out->w, pad = conv->kernel / 2;
    size_t per_image = (size_t)oh * (size_t)ow, image = r / per_image, c = (size_t)in->c;
    int oy = (int)(r % per_image / (size_t)ow), ox = (int)(r % (size_t)ow);
    for (int ky = 0; ky < conv->kernel; ky++) {
        int iy = oy * conv->stride - pad + ky;
        for (int kx = 0; kx < conv->kernel; kx++, row += c) {
            int ix = ox * conv->stride - pad + kx;
            if (iy < 0 || iy >= in->h || ix < 0 || ix >= in->w)
                memset(row, 0, c * sizeof *row);
            else
                memcpy(row, in->data + ((image * (size_t)in->h + (size_t)iy) * (size_t)in->w + (size_t)ix) * c,
                       c * sizeof *row);
        }
    }
}

static void unfold_task(void *ctx, int part, int parts)
{
    const line_step *s = ctx;
    size_t first, last, len = (size_t)s->conv->lin.in;
    lclip_team_share(s->rows, 1, part, parts, &first, &last);
    for (size_t r = first; r < last; r++)
        unfold_row(s, s->first_row + r, s->columns + r * len);
}

static lclip_status avg_pool(lclip_team *team, const grid *in, int n, grid *out)
{
    lclip_status s = grid_alloc(out, n, in->h / 2, in->w / 2, in->c);
    line_step step = {.in = in, .out = out, .n = n};
    if (s == LCLIP_OK)
        lclip_team_run(team, avg_pool_task, &step);
    return s;
}

/* convolve's work where the engine convolves: all of it in one call, on
 * threads threads. */
static lclip_status engine_convolve(int threads, const lclip_conv *conv, const grid *in, int n, int relu,
                                    grid *residual, grid *out)
{
    int side = lclip_conv_out_side(in->h, conv->kernel, conv->stride);
    lclip_gemm_fusion fusion = {residual ? residual->data : NULL, relu ? LCLIP_GEMM_ACT_RELU : LCLIP_GEMM_ACT_NONE};
    grid target = {0};
    lclip_status s = residual ? LCLIP_OK : grid_alloc(&target, n, side, side, conv->lin.out);
    if (s == LCLIP_OK)
        s = lclip_gemm_conv_run(conv->engine, in->data, n, in->h, target.data, &fusion, threads);
    if (residual || s != LCLIP_OK)
        grid_free(&target);
    else
        *out = target;
    return s;
}

/* Where a pass's steps run: shared out among team's members (NULL: on the
 * calling thread), except the engine's convolutions, which run on
 * conv_threads of the engine's own threads from the calling thread. */
typedef struct pass {
    lclip_team *team;
    int conv_threads;
} pass;

/* out = conv(in), then ReLU if relu; with residual (a grid of out's shape)
 * residual = ReLU(residual + conv(in)) instead, and out is left unallocated.
 * Rows go in chunks: im2col's so that the unfolded rows are still cached
 * when the GEMM reads them, a residual's so that the product's rows (only
 * scratch then) need no buffer the size of the output. */
static lclip_status convolve(const pass *p, const lclip_conv *conv, const grid *in, int n, int relu,
                             grid *residual, grid *out)
{
    lclip_team *team = p->team;
    if (conv->engine)
        return engine_convolve(p->conv_threads, conv, in, n, relu, residual, out);
    grid target = {NULL, lclip_conv_out_side(in->h, conv->kernel, conv->stride),
                   lclip_conv_out_side(in->w, conv->kernel, conv->stride), conv->lin.out};
    size_t rows = grid_rows(&target, n), len = (size_t)conv->lin.in, chunk = rows;
    int unfolds = conv->kernel > 1 || conv->stride > 1;
    if (unfolds)
        chunk = IM2COL_CHUNK_FLOATS / len;
    if (residual && IM2COL_CHUNK_FLOATS / (size_t)conv->lin.out < chunk)
        chunk = IM2COL_CHUNK_FLOATS / (size_t)conv->lin.out;
    chunk = chunk < 1 ? 1 : chunk > rows ? rows : chunk;
    target.data = lclip_malloc_scratch(residual ? chunk : rows, (size_t)conv->lin.out * sizeof(float));
    float *columns = unfolds ? lclip_malloc_scratch(chunk, len * sizeof(float)) : NULL;
    lclip_status s = LCLIP_OK;
    if (!target.data || (unfolds && !columns))
        s = lclip_fail(LCLIP_E_NOMEM, "out of memory for a %dx%d convolution of %d images", conv->kernel,
                       conv->kernel, n);
    line_step unfold = {.in = in, .out = &target, .conv = conv, .columns = columns, .n = n};
    for (size_t first = 0; first < rows && s == LCLIP_OK; first += chunk) {
        size_t count = rows - first < chunk ? rows - first : chunk;
        if (unfolds) {
            unfold.first_row = first;
            unfold.rows = count;
            lclip_team_run(team, unfold_task, &unfold);
        }
        size_t out_at = first * (size_t)conv->lin.out;
        lclip_linear_step step = {.lin = &conv->lin,
                                  .x = unfolds ? columns : in->data + first * len,
                                  .y = residual ? target.data : target.data + out_at,
                                  .rows = (int)count,
                                  .activate = relu,
                                  .act = LCLIP_ACT_RELU,
                                  .residual = residual ? residual->data + out_at : NULL,
                                  .activate_sum = 1};
        s = lclip_linear_run(team, &step);
    }
    lclip_free(columns);
    if (residual || s != LCLIP_OK)
        grid_free(&target);
    else
        *out = target;
    return s;
}

/* x is consumed: on return *x holds the block's output (or nothing on failure). */
static lclip_status bottleneck_forward(const pass *p, const lclip_bottleneck *b, grid *x, int n)
{
    lclip_team *team = p->team;
    grid t1 = {0}, t2 = {0}, pooled = {0}, shortcut = *x;
    lclip_status s = convolve(p, &b->conv1, x, n, 1, NULL, &t1);
    if (s == LCLIP_OK)
        s = convolve(p, &b->conv2, &t1, n, 1, NULL, &t2);
    grid_free(&t1);
    if (s == LCLIP_OK && b->stride > 1) {
        s = avg_pool(team, &t2, n, &pooled);
        grid_free(&t2);
        t2 = pooled;
        pooled = (grid){0};
    }
    if (s == LCLIP_OK && b->downsample.lin.out) {
        const grid *source = x;
        shortcut = (grid){0};
        if (b->stride > 1) {
            s = avg_pool(team, x, n, &pooled);
            source = &pooled;
        }
        if (s == LCLIP_OK)
            s = convolve(p, &b->downsample, source, n, 0, NULL, &shortcut);
        grid_free(&pooled);
        grid_free(x);
    }
    if (s == LCLIP_OK)
        s = convolve(p, &b->conv3, &t2, n, 1, &shortcut, NULL); /* shortcut = ReLU(shortcut + conv3) */
    grid_free(&t2);
    if (s != LCLIP_OK) {
        if (shortcut.data != x->data)
            grid_free(&shortcut);
        grid_free(x);
        return s;
    }
    *x = shortcut;
    return LCLIP_OK;
}

/* The stem: pixels [n][3][size][size] to the first layer's input. */
static lclip_status stem_forward(const pass *p, const lclip_resnet_tower *t, const float *pixels, int n, grid *out)
{
    lclip_team *team = p->team;
    int size = t->cfg.image_size;
    grid a = {0}, b = {0};
    lclip_status s = grid_alloc(&a, n, size, size, 3);
    line_step convert = {.out = &a, .pixels = pixels, .n = n};
    if (s == LCLIP_OK)
        lclip_team_run(team, channels_last_task, &convert);
    for (int i = 0; i < 3 && s == LCLIP_OK; i++) {
        s = convolve(p, &t->stem[i], &a, n, 1, NULL, &b);
        grid_free(&a);
        a = b;
        b = (grid){0};
    }
    if (s == LCLIP_OK)
        s = avg_pool(team, &a, n, out);
    grid_free(&a);
    return s;
}

/* The attention pool's tokens, image by image: row 0 the mean of the grid's
 * pixels, rows 1.. the pixels, all plus the positional embedding; query gets
 * a copy of row 0. */
typedef struct pool_step {
    const lclip_resnet_tower *t;
    const grid *x;
    int n, tokens, width, heads;
    float *sequence, *query, *q, *k, *v, *attended, *scores;
    const lclip_sequence *sequences;
} pool_step;

static void tokens_task(void *ctx, int part, int parts)
{
    const pool_step *p = ctx;
    size_t first, last, w = (size_t)p->width, pixels = (size_t)p->tokens - 1;
    lclip_team_share((size_t)p->n, 1, part, parts, &first, &last);
    for (size_t i = first; i < last; i++) {
        const float *src = p->x->data + i * pixels * w;
        float *seq = p->sequence + i * (size_t)p->tokens * w;
        memcpy(seq + w, src, pixels * w * sizeof *seq);
        for (size_t c = 0; c < w; c++)
            seq[c] = 0.0f;
        for (size_t r = 0; r < pixels; r++)
            for (size_t c = 0; c < w; c++)
                seq[c] += src[r * w + c];
        float inv = 1.0f / (float)pixels;
        for (size_t c = 0; c < w; c++)
            seq[c] *= inv;
        for (size_t j = 0; j < (size_t)p->tokens * w; j++)
            seq[j] += p->t->positional_embedding[j];
        memcpy(p->query + i * w, seq, w * sizeof *seq);
    }
}

/* (image, head) pairs: the mean token's query over all the image's tokens. */
static void pool_heads_task(void *ctx, int part, int parts)
{
    const pool_step *p = ctx;
    size_t begin, end, heads = (size_t)p->heads;
    lclip_team_share((size_t)p->n * heads, 1, part, parts, &begin, &end);
    float *scores = p->scores + (size_t)part * (size_t)p->tokens;
    for (size_t pair = begin; pair < end; pair++) {
        int image = (int)(pair / heads);
        lclip_attention_head_queries(p->t->engine, p->q, image, 1, p->k, p->v, p->attended, p->width, p->heads,
                                     (int)(pair % heads), &p->sequences[image], 0, scores);
    }
}

static lclip_status attention_pool(lclip_team *team, const lclip_resnet_tower *t, const grid *x, int n, float *pooled)
{
    int width = x->c, tokens = x->h * x->w + 1, rows = n * tokens;
    pool_step p = {t, x, n, tokens, width, t->cfg.resnet.heads, NULL, NULL, NULL, NULL, NULL, pooled, NULL, NULL};
    p.sequence = lclip_malloc_scratch((size_t)rows, (size_t)width * sizeof(float));
    p.k = lclip_malloc_scratch((size_t)rows, (size_t)width * sizeof(float));
    p.v = lclip_malloc_scratch((size_t)rows, (size_t)width * sizeof(float));
    p.query = lclip_malloc_array((size_t)n, (size_t)width * sizeof(float));
    p.q = lclip_malloc_array((size_t)n, (size_t)width * sizeof(float));
    p.scores = lclip_malloc_array((size_t)lclip_team_size(team), (size_t)tokens * sizeof(float));
    lclip_sequence *sequences = lclip_malloc_array((size_t)n, sizeof *sequences);
    p.sequences = sequences;
    lclip_status s = LCLIP_OK;
    if (!p.sequence || !p.k || !p.v || !p.query || !p.q || !p.scores || !sequences)
        s = lclip_fail(LCLIP_E_NOMEM, "out of memory for the attention pool of %d images", n);
    if (s == LCLIP_OK) {
        for (int i = 0; i < n; i++)
            sequences[i] = (lclip_sequence){i * tokens, tokens};
        lclip_team_run(team, tokens_task, &p);
        s = lclip_linear_forward(team, &t->q, p.query, p.q, n);
    }
    if (s == LCLIP_OK)
        s = lclip_linear_forward(team, &t->k, p.sequence, p.k, rows);
    if (s == LCLIP_OK)
        s = lclip_linear_forward(team, &t->v, p.sequence, p.v, rows);
    if (s == LCLIP_OK)
        lclip_team_run(team, pool_heads_task, &p);
    lclip_free(sequences);
    lclip_free(p.scores);
    lclip_free(p.q);
    lclip_free(p.query);
    lclip_free(p.v);
    lclip_free(p.k);
    lclip_free(p.sequence);
    return s;
}

/* All steps of n images, as p says. */
static lclip_status pool_images(const pass *p, const lclip_resnet_tower *t, const float *pixels, int n,
                                float *pooled)
{
    grid x = {0};
    lclip_status s = stem_forward(p, t, pixels, n, &x);
    for (int i = 0; i < t->n_blocks && s == LCLIP_OK; i++)
        s = bottleneck_forward(p, &t->blocks[i], &x, n);
    if (s == LCLIP_OK)
        s = attention_pool(p->team, t, &x, n, pooled);
    grid_free(&x);
    return s;
}

/* A team shares a ResNet pass out by images, each member running every
 * step of one image at a time, rather than step by step: RN50's
 * convolutions are many small products (im2col chunks, 64-column layers)
 * whose set-up and hand-offs between members cost more than splitting them
 * gains. RN50, batch 32, 2 threads: 54 ms per image shared by steps, 36 by
 * images (70 on one thread). A pass of fewer images than members goes step
 * by step. */
typedef struct image_share {
    const lclip_resnet_tower *t;
    const float *pixels;
    float *pooled;
    int n;
    atomic_int next;                          /* the next image to take; n once one has failed */
    lclip_status *status;                     /* [parts] */
    char (*message)[LCLIP_ERROR_MESSAGE_MAX]; /* [parts]: a member's failure, for the calling thread */
} image_share;

static void image_share_task(void *ctx, int part, int parts)
{
    image_share *s = ctx;
    size_t size = (size_t)s->t->cfg.image_size, width = (size_t)s->t->q.out;
    (void)parts;
    s->status[part] = LCLIP_OK;
    const pass alone = {NULL, 1};
    for (int i; (i = atomic_fetch_add(&s->next, 1)) < s->n;) {
        s->status[part] = pool_images(&alone, s->t, s->pixels + (size_t)i * 3 * size * size, 1,
                                      s->pooled + (size_t)i * width);
        if (s->status[part] != LCLIP_OK) {
            snprintf(s->message[part], sizeof s->message[part], "%s", lclip_last_error());
            atomic_store(&s->next, s->n);
            return;
        }
    }
}

lclip_status lclip_resnet_tower_pool(lclip_team *team, const lclip_resnet_tower *t, const float *pixels, int n,
                                     float *pooled)
{
    int parts = lclip_team_size(team);
    if (parts == 1 || n < parts) {
        /* Step by step. Where the engine convolves, the convolutions (nearly
         * all the work) run on parts of oneDNN's threads and the rest on the
         * calling thread alone: with the team's members sharing the other
         * steps, RN50's batch 1 took 49-52 ms against 36-38 (2 threads), the
         * members polling for steps and oneDNN's OpenMP threads spinning
         * after each convolution taking turns on the same cores. */
        pass p = {team, parts};
        if (t->stem[0].engine)
            p.team = NULL;
        return pool_images(&p, t, pixels, n, pooled);
    }
    image_share share = {t, pixels, pooled, n, 0, lclip_malloc_array((size_t)parts, sizeof *share.status),
                         lclip_malloc_array((size_t)parts, sizeof *share.message)};
    atomic_init(&share.next, 0);
    lclip_status s = LCLIP_OK;
    if (!share.status || !share.message)
        s = lclip_fail(LCLIP_E_NOMEM, "out of memory encoding %d images", n);
    if (s == LCLIP_OK)
        lclip_team_run(team, image_share_task, &share);
    for (int i = 0; i < parts && s == LCLIP_OK; i++)
        if (share.status[i] != LCLIP_OK)
            s = lclip_fail(share.status[i], "%s", share.message[i]);
    lclip_free(share.message);
    lclip_free(share.status);
    return s;
}
