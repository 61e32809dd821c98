/* The allocation-failure walk (built only with LIBCLIP_FAULT_INJECTION=ON).
 *
 * For each scenario (opening either encoder from each checkpoint layout, and
 * every encode entry point), a dry run counts the allocations libclip makes;
 * then for N = 1 .. count the N-th allocation fails. Every run must end in
 * LCLIP_E_NOMEM with a message, leave no block allocated, leave the output
 * untouched, and leave a handle that still gives the reference result. ASan
 * in the same build catches the crashes and misuse.
 *
 * The second part checks that the resource limits refuse oversize inputs
 * before allocating anything sized by them: the largest request made during
 * the refused call stays small.
 *
 * The walks run on the calling thread alone (n_threads 0), then on a team of
 * 3 with the count taken over all threads.
 *
 * Covered: every lclip_malloc/calloc/malloc_array/strdup, which includes
 * libpng's allocations (routed through lclip_malloc) and zlib's while
 * reading the gzip vocabulary. Not covered: cJSON, libjpeg, libwebp, giflib,
 * stdio, OpenBLAS (see docs/security.md); their decoders are walked for the
 * pixel buffers libclip allocates around them. */
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "common/alloc.h"
#include "image/image_input.h"
#include "image/image_test_util.h"
#include "libclip.h"
#include "load/safetensors.h"
#include "support/test_util.h"
#include "support/tiny_model.h"

#define SENTINEL -4321.0f

/* ---- the walk ------------------------------------------------------------ */

/* One attempt of a scenario: returns its status; must release whatever it
 * allocated itself, whatever the outcome. */
typedef lclip_status (*attempt_fn)(void *ctx);

static uint64_t walk(const char *name, attempt_fn attempt, void *ctx, void (*after_failure)(void *ctx))
{
    uint64_t allocations;
    long long live_before = lclip_fault_live_blocks();
    lclip_fault_arm(0);
    lclip_status s = attempt(ctx);
    if (s != LCLIP_OK)
        fail_msg("%s: the dry run failed: %s", name, lclip_last_error());
    allocations = lclip_fault_stats_get().allocations;
    assert_int_equal(lclip_fault_live_blocks(), live_before);
    assert_true(allocations > 0);

    for (uint64_t n = 1; n <= allocations; n++) {
        lclip_fault_arm(n);
        s = attempt(ctx);
        lclip_fault_stats stats = lclip_fault_stats_get();
        lclip_fault_arm(0);
        if (!stats.injected)
            fail_msg("%s: allocation %llu of %llu never happened (the path is not deterministic)", name,
                     (unsigned long long)n, (unsigned long long)allocations);
        if (s != LCLIP_E_NOMEM || lclip_last_error()[0] == '\0')
            fail_msg("%s: failing allocation %llu gave status %d (%s), not LCLIP_E_NOMEM", name,
                     (unsigned long long)n, s, lclip_last_error());
        long long live = lclip_fault_live_blocks();
        if (live != live_before)
            fail_msg("%s: failing allocation %llu leaked %lld blocks", name, (unsigned long long)n,
                     live - live_before);
        if (after_failure)
            after_failure(ctx);
    }
    print_message("%-48s %4llu allocations walked\n", name, (unsigned long long)allocations);
    return allocations;
}

/* ---- inputs ------------------------------------------------------------- */

typedef struct inputs {
    const char *fixtures; /* or NULL: self-made model, no vocabulary */
    char *tmp;            /* temp dir: self-made model, image files */
    char hf_dir[1200], open_clip_file[1024], vocab_gz[1024];
    char self_made_dir[1100]; /* F16 HF model without a vocabulary */
    char png_path[1100], jpeg_path[1100], gif_path[1100];
    byte_buffer png_rgba, png_palette, jpeg_exif, webp_alpha, gif_offset, bmp_palette;
} inputs;

static inputs in;

static byte_buffer make_png(int color_type, int channels, int w, int h)
{
    uint16_t *samples = malloc((size_t)(w * h * channels) * sizeof *samples);
    for (int i = 0; i < w * h * channels; i++)
        samples[i] = (uint16_t)((i * 37 + i / 5) % 256);
    uint8_t palette[256 * 3];
    for (int i = 0; i < 256 * 3; i++)
        palette[i] = (uint8_t)(i * 11);
    int is_palette = color_type == PNG_COLOR_TYPE_PALETTE;
    png_spec spec = {w, h, color_type, 8, 1, samples, is_palette ? palette : NULL, is_palette ? 256 : 0, NULL, 0};
    byte_buffer b = encode_png(&spec);
    free(samples);
    return b;
}

static byte_buffer make_jpeg_with_orientation(int w, int h, int orientation)
{
    uint8_t *samples = malloc((size_t)(w * h * 3));
    for (int i = 0; i < w * h * 3; i++)
        samples[i] = (uint8_t)(i * 13 + i / w);
    uint8_t exif[26] = {'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0,
                        (uint8_t)orientation, 0, 0, 0, 0, 0, 0, 0};
    jpeg_spec spec = {w, h, 3, 85, 1, 0, 0, samples, exif, sizeof exif};
    byte_buffer b = encode_jpeg(&spec);
    free(samples);
    return b;
}

static uint8_t *walk_pattern(size_t n)
{
    uint8_t *p = malloc(n);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 29 + i / 7);
    return p;
}

static byte_buffer make_webp_alpha(int w, int h)
{
    uint8_t *samples = walk_pattern((size_t)(w * h * 4));
    webp_spec spec = {w, h, 4, 0, samples};
    byte_buffer b = encode_webp(&spec);
    free(samples);
    return b;
}

/* Interlaced, transparent, a frame inside a larger screen, two frames. */
static byte_buffer make_gif(int w, int h)
{
    uint8_t *indices = walk_pattern((size_t)(w * h)), *palette = walk_pattern(3 * 256);
    gif_spec spec = {w + 5, h + 3, 2, 1, w, h, 1, indices, palette, 256, 7, 2};
    byte_buffer b = encode_gif(&spec);
    free(palette);
    free(indices);
    return b;
}

static byte_buffer make_bmp_palette(int w, int h)
{
    uint8_t *indices = walk_pattern((size_t)(w * h)), *palette = walk_pattern(3 * 256);
    bmp_spec spec = {w, h, 8, 0, 40, 0, indices, palette, 0};
    byte_buffer b = encode_bmp(&spec);
    free(palette);
    free(indices);
    return b;
}

static int setup(void **state)
{
    (void)state;
    memset(&in, 0, sizeof in);
    in.tmp = make_temp_dir();
    in.fixtures = fixtures_dir();
    /* F16, so that the conversion path is walked too; no vocabulary, so
     * that the text encoder's "tokens only" open is. */
    snprintf(in.self_made_dir, sizeof in.self_made_dir, "%s/self_made", in.tmp);
    assert_int_equal(mkdir(in.self_made_dir, 0777), 0);
    tiny_spec spec = tiny_spec_default();
    tiny_write_hf(in.self_made_dir, &spec, "F16");
    if (in.fixtures) {
        snprintf(in.hf_dir, sizeof in.hf_dir, "%s/models/tiny-quickgelu/hf", in.fixtures);
        snprintf(in.open_clip_file, sizeof in.open_clip_file,
                 "%s/models/tiny-gelu/open_clip/open_clip_model.safetensors", in.fixtures);
        snprintf(in.vocab_gz, sizeof in.vocab_gz, "%s/bpe_simple_vocab_16e6.txt.gz", in.fixtures);
    } else {
        snprintf(in.hf_dir, sizeof in.hf_dir, "%s", in.self_made_dir);
    }
    in.png_rgba = make_png(PNG_COLOR_TYPE_RGBA, 4, 40, 29);
    in.png_palette = make_png(PNG_COLOR_TYPE_PALETTE, 1, 23, 31);
    in.jpeg_exif = make_jpeg_with_orientation(37, 21, 6);
    snprintf(in.png_path, sizeof in.png_path, "%s/rgba.png", in.tmp);
    snprintf(in.jpeg_path, sizeof in.jpeg_path, "%s/exif6.jpg", in.tmp);
    write_bytes_file(in.png_path, in.png_rgba.data, in.png_rgba.size);
    write_bytes_file(in.jpeg_path, in.jpeg_exif.data, in.jpeg_exif.size);
    in.webp_alpha = make_webp_alpha(33, 25);
    in.gif_offset = make_gif(27, 19);
    in.bmp_palette = make_bmp_palette(31, 17);
    snprintf(in.gif_path, sizeof in.gif_path, "%s/anim.gif", in.tmp);
    write_bytes_file(in.gif_path, in.gif_offset.data, in.gif_offset.size);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(in.png_rgba.data);
    free(in.png_palette.data);
    free(in.jpeg_exif.data);
    free(in.webp_alpha.data);
    free(in.gif_offset.data);
    free(in.bmp_palette.data);
    rm_tree(in.tmp);
    free(in.tmp);
    return 0;
}

/* ---- opening ------------------------------------------------------------ */

typedef struct open_case {
    const char *path;
    const char *vocab_path;
    int text; /* 0: image encoder */
} open_case;

static lclip_status attempt_open(void *ctx)
{
    const open_case *c = ctx;
    lclip_options opts;
    lclip_options_init(&opts);
    opts.vocab_path = c->vocab_path;
    lclip_status s;
    if (c->text) {
        lclip_text_encoder *enc = (lclip_text_encoder *)&s; /* must come back NULL on failure */
        s = lclip_text_encoder_open(c->path, &opts, &enc);
        assert_true((s == LCLIP_OK) == (enc != NULL));
        lclip_text_encoder_close(enc);
    } else {
        lclip_image_encoder *enc = (lclip_image_encoder *)&s;
        s = lclip_image_encoder_open(c->path, &opts, &enc);
        assert_true((s == LCLIP_OK) == (enc != NULL));
        lclip_image_encoder_close(enc);
    }
    return s;
}

static void test_open_walks(void **state)
{
    (void)state;
    open_case self_image = {in.self_made_dir, NULL, 0}, self_text = {in.self_made_dir, NULL, 1};
    walk("image encoder open, self-made F16 HF directory", attempt_open, &self_image, NULL);
    walk("text encoder open, same, no vocabulary", attempt_open, &self_text, NULL);
    if (!in.fixtures)
        return;
    open_case hf_image = {in.hf_dir, NULL, 0}, hf_text = {in.hf_dir, NULL, 1};
    walk("image encoder open, HF directory", attempt_open, &hf_image, NULL);
    walk("text encoder open, HF directory + vocab.json", attempt_open, &hf_text, NULL);
    open_case oc_image = {in.open_clip_file, NULL, 0}, oc_text = {in.open_clip_file, in.vocab_gz, 1};
    walk("image encoder open, open_clip file", attempt_open, &oc_image, NULL);
    walk("text encoder open, open_clip file + gz vocab", attempt_open, &oc_text, NULL);
}

/* ---- encoding ----------------------------------------------------------- */

typedef struct encode_case {
    lclip_image_encoder *image;
    lclip_text_encoder *text;
    lclip_status (*call)(struct encode_case *c, float *out);
    size_t out_len;
    float *out, *expected;
} encode_case;

static lclip_status attempt_encode(void *ctx)
{
    encode_case *c = ctx;
    for (size_t i = 0; i < c->out_len; i++)
        c->out[i] = SENTINEL;
    lclip_status s = c->call(c, c->out);
    for (size_t i = 0; s != LCLIP_OK && i < c->out_len; i++)
        if (c->out[i] != SENTINEL)
            fail_msg("output element %zu written by a failing call", i);
    return s;
}

/* The handle is unharmed: an unarmed call gives the reference again. */
static void still_works(void *ctx)
{
    encode_case *c = ctx;
    assert_int_equal(c->call(c, c->out), LCLIP_OK);
    for (size_t i = 0; i < c->out_len; i++)
        if (fabsf(c->out[i] - c->expected[i]) > 1e-6f)
            fail_msg("after a failure, element %zu is %g instead of %g", i, (double)c->out[i],
                     (double)c->expected[i]);
}

static void run_encode_walk(const char *name, encode_case *c, size_t out_len)
{
    c->out_len = out_len;
    c->out = malloc(out_len * sizeof(float));
    c->expected = malloc(out_len * sizeof(float));
    assert_int_equal(c->call(c, c->expected), LCLIP_OK);
    walk(name, attempt_encode, c, still_works);
    free(c->out);
    free(c->expected);
}

static lclip_status call_file_png(encode_case *c, float *out)
{
    return lclip_image_encode_file(c->image, in.png_path, out);
}

static lclip_status call_file_jpeg(encode_case *c, float *out)
{
    return lclip_image_encode_file(c->image, in.jpeg_path, out);
}

static lclip_status call_files_batch(encode_case *c, float *out)
{
    const char *paths[3] = {in.png_path, in.jpeg_path, in.png_path};
    return lclip_image_encode_files(c->image, paths, 3, out);
}

static lclip_status call_memory_palette(encode_case *c, float *out)
{
    return lclip_image_encode_memory(c->image, in.png_palette.data, in.png_palette.size, out);
}

static lclip_status call_memory_jpeg(encode_case *c, float *out)
{
    return lclip_image_encode_memory(c->image, in.jpeg_exif.data, in.jpeg_exif.size, out);
}

static lclip_status call_memory_webp(encode_case *c, float *out)
{
    return lclip_image_encode_memory(c->image, in.webp_alpha.data, in.webp_alpha.size, out);
}

static lclip_status call_file_gif(encode_case *c, float *out)
{
    return lclip_image_encode_file(c->image, in.gif_path, out);
}

static lclip_status call_memory_bmp(encode_case *c, float *out)
{
    return lclip_image_encode_memory(c->image, in.bmp_palette.data, in.bmp_palette.size, out);
}

static lclip_status call_rgb(encode_case *c, float *out)
{
    static uint8_t rgb[45 * 30 * 3];
    for (size_t i = 0; i < sizeof rgb; i++)
        rgb[i] = (uint8_t)(i * 7);
    return lclip_image_encode_rgb(c->image, rgb, 45, 30, 45 * 3, out);
}

static lclip_status call_pixels_batch(encode_case *c, float *out)
{
    int size = lclip_image_encoder_image_size(c->image);
    size_t plane = 3 * (size_t)size * (size_t)size;
    float *pixels = malloc(2 * plane * sizeof *pixels);
    for (size_t i = 0; i < 2 * plane; i++)
        pixels[i] = (float)sin((double)i);
    lclip_status s = lclip_image_encode_pixels(c->image, pixels, 2, out);
    free(pixels);
    return s;
}

static lclip_status call_preprocess(encode_case *c, float *out)
{
    return lclip_image_preprocess_file(c->image, in.jpeg_path, out);
}

static const char *const walk_texts[3] = {
    /* NFC composition, HTML entities, mojibake, CJK, emoji and a long word */
    "Cafe\xcc\x81 &amp;lt;b&amp;gt; cr\xc3\x83\xc2\xa8me \xe7\x8c\xab\xf0\x9f\x90\xb1 supercalifragilistic",
    "a photo of a cat",
    "",
};

static lclip_status call_text(encode_case *c, float *out)
{
    return lclip_text_encode(c->text, walk_texts[0], out);
}

static lclip_status call_text_batch(encode_case *c, float *out)
{
    return lclip_text_encode_batch(c->text, walk_texts, 3, out);
}

static lclip_status call_tokens(encode_case *c, float *out)
{
    int32_t ids[2 * 77] = {0};
    int context = lclip_text_encoder_context_length(c->text);
    assert_true(context <= 77);
    for (int t = 0; t < 2; t++) {
        ids[t * context] = 1;
        ids[t * context + 1] = 5 + t;
        ids[t * context + 2] = 99; /* the largest id: pooled here (inside any vocabulary >= 100) */
    }
    return lclip_text_encode_tokens(c->text, ids, 2, out);
}

/* Tokens as floats, so the shared walk can compare them. */
static lclip_status call_tokenize(encode_case *c, float *out)
{
    int32_t ids[77];
    size_t n;
    lclip_status s = lclip_tokenize(c->text, walk_texts[0], ids, 77, &n);
    if (s == LCLIP_OK)
        for (int i = 0; i < 77; i++)
            out[i] = (float)ids[i];
    return s;
}

static void test_image_encode_walks(void **state)
{
    (void)state;
    lclip_options opts;
    lclip_options_init(&opts);
    opts.exif_orientation = 1; /* walks the rotation buffer too */
    encode_case c;
    memset(&c, 0, sizeof c);
    assert_int_equal(lclip_image_encoder_open(in.hf_dir, &opts, &c.image), LCLIP_OK);
    size_t dim = lclip_image_encoder_dim(c.image), size = (size_t)lclip_image_encoder_image_size(c.image);
    static const struct {
        const char *name;
        lclip_status (*call)(encode_case *, float *);
        size_t rows;
    } cases[] = {
        {"image encode_file, RGBA PNG (interlaced)", call_file_png, 1},
        {"image encode_file, progressive JPEG + EXIF", call_file_jpeg, 1},
        {"image encode_files, batch of 3", call_files_batch, 3},
        {"image encode_memory, palette PNG", call_memory_palette, 1},
        {"image encode_memory, JPEG", call_memory_jpeg, 1},
        {"image encode_memory, lossy WebP with alpha", call_memory_webp, 1},
        {"image encode_file, GIF (interlaced, offset)", call_file_gif, 1},
        {"image encode_memory, 8-bit palette BMP", call_memory_bmp, 1},
        {"image encode_rgb", call_rgb, 1},
        {"image encode_pixels, batch of 2", call_pixels_batch, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        c.call = cases[i].call;
        run_encode_walk(cases[i].name, &c, cases[i].rows * dim);
    }
    c.call = call_preprocess;
    run_encode_walk("image preprocess_file, JPEG", &c, 3 * size * size);
    lclip_image_encoder_close(c.image);
}

static void test_text_encode_walks(void **state)
{
    (void)state;
    encode_case c;
    memset(&c, 0, sizeof c);
    assert_int_equal(lclip_text_encoder_open(in.hf_dir, NULL, &c.text), LCLIP_OK);
    size_t dim = lclip_text_encoder_dim(c.text);
    c.call = call_tokens;
    run_encode_walk("text encode_tokens, batch of 2", &c, 2 * dim);
    if (in.fixtures) {
        c.call = call_text;
        run_encode_walk("text encode, one hostile string", &c, dim);
        c.call = call_text_batch;
        run_encode_walk("text encode_batch, 3 strings", &c, 3 * dim);
        c.call = call_tokenize;
        run_encode_walk("tokenize", &c, 77);
    }
    lclip_text_encoder_close(c.text);
}

/* ---- encoding on a team ------------------------------------------------- */

/* With n_threads > 1, a batch's inputs are prepared by the whole team, so the
 * walk counts every thread's allocations as one sequence. A failure on a
 * helper is reported by the calling thread, with the helper's message. Only
 * the team's own allocation is absorbed: without it the call runs on the
 * calling thread alone. So a run ends in NOMEM with a message, or in OK with
 * the reference result, and a walk must see both. */
static void run_team_walk(const char *name, encode_case *c, size_t out_len)
{
    c->out_len = out_len;
    c->out = malloc(out_len * sizeof(float));
    c->expected = malloc(out_len * sizeof(float));
    assert_int_equal(c->call(c, c->expected), LCLIP_OK);
    long long live_before = lclip_fault_live_blocks();
    lclip_fault_arm_process(0);
    assert_int_equal(attempt_encode(c), LCLIP_OK);
    uint64_t allocations = lclip_fault_stats_get().allocations;
    lclip_fault_arm(0);
    assert_true(allocations > 0);

    uint64_t absorbed = 0, refused = 0;
    for (uint64_t n = 1; n <= allocations; n++) {
        lclip_fault_arm_process(n);
        lclip_status s = attempt_encode(c);
        lclip_fault_stats stats = lclip_fault_stats_get();
        lclip_fault_arm(0);
        if (!stats.injected)
            fail_msg("%s: allocation %llu of %llu never happened", name, (unsigned long long)n,
                     (unsigned long long)allocations);
        if (s == LCLIP_OK) {
            for (size_t i = 0; i < out_len; i++)
                if (fabsf(c->out[i] - c->expected[i]) > 1e-6f)
                    fail_msg("%s: failing allocation %llu gave OK but element %zu is %g instead of %g", name,
                             (unsigned long long)n, i, (double)c->out[i], (double)c->expected[i]);
            absorbed++;
        } else if (s == LCLIP_E_NOMEM && lclip_last_error()[0] != '\0') {
            refused++;
        } else {
            fail_msg("%s: failing allocation %llu gave status %d (%s)", name, (unsigned long long)n, s,
                     lclip_last_error());
        }
        long long live = lclip_fault_live_blocks();
        if (live != live_before)
            fail_msg("%s: failing allocation %llu leaked %lld blocks", name, (unsigned long long)n,
                     live - live_before);
        still_works(c);
    }
    if (absorbed == 0 || refused == 0)
        fail_msg("%s: %llu failures absorbed, %llu refused; the walk must see both", name,
                 (unsigned long long)absorbed, (unsigned long long)refused);
    print_message("%-48s %4llu allocations walked, %llu absorbed\n", name, (unsigned long long)allocations,
                  (unsigned long long)absorbed);
    free(c->out);
    free(c->expected);
}

static void test_team_encode_walks(void **state)
{
    (void)state;
    lclip_options opts;
    lclip_options_init(&opts);
    opts.n_threads = 3;
    encode_case c;
    memset(&c, 0, sizeof c);
    assert_int_equal(lclip_image_encoder_open(in.hf_dir, &opts, &c.image), LCLIP_OK);
    size_t dim = lclip_image_encoder_dim(c.image);
    c.call = call_files_batch;
    run_team_walk("team of 3: image encode_files, batch of 3", &c, 3 * dim);
    c.call = call_pixels_batch;
    run_team_walk("team of 3: image encode_pixels, batch of 2", &c, 2 * dim);
    lclip_image_encoder_close(c.image);
    c.image = NULL;
    if (!in.fixtures)
        return;
    assert_int_equal(lclip_text_encoder_open(in.hf_dir, &opts, &c.text), LCLIP_OK);
    c.call = call_text_batch;
    run_team_walk("team of 3: text encode_batch, 3 strings", &c, 3 * lclip_text_encoder_dim(c.text));
    lclip_text_encoder_close(c.text);
}

/* ---- per-input results -------------------------------------------------- */

/* With per-input results an allocation that fails while one input is
 * prepared is that input's failure: the call goes on. So every run ends
 * either in NOMEM for the call (outputs and statuses untouched) or in OK
 * where each input is its reference row or NOMEM with a NaN row and one
 * on_item_error call; a walk must see both. */
typedef struct per_input_case {
    encode_case base;
    lclip_status status[3];
    size_t reported; /* on_item_error calls */
} per_input_case;

static void count_item_error(void *user, size_t index, lclip_status status, const char *message)
{
    per_input_case *p = user;
    assert_true(index < 3 && status == LCLIP_E_NOMEM && message[0] != '\0');
    p->reported++;
}

static lclip_status call_files_each(encode_case *c, float *out)
{
    per_input_case *p = (per_input_case *)c;
    const char *paths[3] = {in.png_path, in.jpeg_path, in.png_path};
    lclip_batch_options b;
    lclip_batch_options_init(&b);
    b.item_status = p->status;
    b.on_item_error = count_item_error;
    b.user = p;
    return lclip_image_encode_files_ex(c->image, paths, 3, out, &b);
}

static lclip_status call_texts_each(encode_case *c, float *out)
{
    per_input_case *p = (per_input_case *)c;
    lclip_batch_options b;
    lclip_batch_options_init(&b);
    b.item_status = p->status;
    b.on_item_error = count_item_error;
    b.user = p;
    return lclip_text_encode_batch_ex(c->text, walk_texts, 3, out, &b);
}

/* Checks one armed run; returns 1 if an input failed alone, 0 if the call did. */
static int check_per_input_run(const char *name, uint64_t n, per_input_case *p, lclip_status s, size_t dim)
{
    encode_case *c = &p->base;
    if (s == LCLIP_E_NOMEM) {
        for (size_t i = 0; i < 3; i++)
            if (p->status[i] != (lclip_status)99)
                fail_msg("%s: failing allocation %llu: the failed call wrote a status", name, (unsigned long long)n);
        return 0;
    }
    if (s != LCLIP_OK)
        fail_msg("%s: failing allocation %llu gave status %d (%s)", name, (unsigned long long)n, s, lclip_last_error());
    size_t failed = 0;
    for (size_t i = 0; i < 3; i++) {
        for (size_t d = 0; d < dim; d++) {
            float got = c->out[i * dim + d], want = c->expected[i * dim + d];
            if (p->status[i] == LCLIP_OK ? fabsf(got - want) > 1e-5f : !isnan(got))
                fail_msg("%s: failing allocation %llu: input %zu, element %zu is %g (status %d)", name,
                         (unsigned long long)n, i, d, (double)got, p->status[i]);
        }
        if (p->status[i] != LCLIP_OK && p->status[i] != LCLIP_E_NOMEM)
            fail_msg("%s: failing allocation %llu: input %zu has status %d", name, (unsigned long long)n, i,
                     p->status[i]);
        failed += p->status[i] != LCLIP_OK;
    }
    if (failed != p->reported || failed > 1)
        fail_msg("%s: failing allocation %llu: %zu inputs failed, %zu reported", name, (unsigned long long)n,
                 failed, p->reported);
    return failed == 1;
}

static void run_per_input_walk(const char *name, per_input_case *p, size_t dim)
{
    encode_case *c = &p->base;
    c->out_len = 3 * dim;
    c->out = malloc(c->out_len * sizeof(float));
    c->expected = malloc(c->out_len * sizeof(float));
    assert_int_equal(c->call(c, c->expected), LCLIP_OK);
    long long live_before = lclip_fault_live_blocks();
    lclip_fault_arm(0);
    assert_int_equal(c->call(c, c->out), LCLIP_OK);
    uint64_t allocations = lclip_fault_stats_get().allocations, alone = 0, whole = 0;
    for (uint64_t n = 1; n <= allocations; n++) {
        for (size_t i = 0; i < 3; i++)
            p->status[i] = (lclip_status)99;
        p->reported = 0;
        lclip_fault_arm(n);
        lclip_status s = attempt_encode(c);
        lclip_fault_stats stats = lclip_fault_stats_get();
        lclip_fault_arm(0);
        if (!stats.injected)
            fail_msg("%s: allocation %llu of %llu never happened", name, (unsigned long long)n,
                     (unsigned long long)allocations);
        if (check_per_input_run(name, n, p, s, dim))
            alone++;
        else
            whole++;
        if (lclip_fault_live_blocks() != live_before)
            fail_msg("%s: failing allocation %llu leaked %lld blocks", name, (unsigned long long)n,
                     lclip_fault_live_blocks() - live_before);
        still_works(c);
    }
    if (alone == 0 || whole == 0)
        fail_msg("%s: %llu runs failed one input, %llu the call; the walk must see both", name,
                 (unsigned long long)alone, (unsigned long long)whole);
    print_message("%-48s %4llu allocations walked, %llu failed one input\n", name, (unsigned long long)allocations,
                  (unsigned long long)alone);
    free(c->out);
    free(c->expected);
}

static void test_per_input_walks(void **state)
{
    (void)state;
    per_input_case p;
    memset(&p, 0, sizeof p);
    assert_int_equal(lclip_image_encoder_open(in.hf_dir, NULL, &p.base.image), LCLIP_OK);
    p.base.call = call_files_each;
    run_per_input_walk("per-input results: image encode_files_ex, 3", &p, lclip_image_encoder_dim(p.base.image));
    lclip_image_encoder_close(p.base.image);
    p.base.image = NULL;
    if (!in.fixtures)
        return;
    assert_int_equal(lclip_text_encoder_open(in.hf_dir, NULL, &p.base.text), LCLIP_OK);
    p.base.call = call_texts_each;
    run_per_input_walk("per-input results: text encode_batch_ex, 3", &p, lclip_text_encoder_dim(p.base.text));
    lclip_text_encoder_close(p.base.text);
}

/* ---- limits are checked before allocating ------------------------------- */

/* The largest single request of a call, with the hook only counting. */
static size_t largest_request(lclip_status expected, lclip_status got)
{
    assert_int_equal(got, expected);
    size_t largest = lclip_fault_stats_get().largest;
    lclip_fault_arm(0);
    return largest;
}

static void test_limits_refuse_before_allocating(void **state)
{
    (void)state;
    float out[3 * 16 * 16];
    lclip_vision_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.resize_size = cfg.crop_size = 16;
    cfg.std[0] = cfg.std[1] = cfg.std[2] = 1.0f;

    /* Image pixels: 300 x 200 images against a 1000-pixel limit; their pixel
     * buffers would be 240000 (RGBA) and 180000 (RGB) bytes. */
    byte_buffer big_png = make_png(PNG_COLOR_TYPE_RGBA, 4, 300, 200);
    byte_buffer big_jpeg = make_jpeg_with_orientation(300, 200, 1);
    lclip_image_input_options tight = {.max_pixels = 1000, .exif_orientation = 0};
    lclip_fault_arm(0);
    size_t largest = largest_request(LCLIP_E_TOO_LARGE,
                                     lclip_image_input_memory(big_png.data, big_png.size, &tight, &cfg, out));
    print_message("max_image_pixels (PNG): largest allocation %zu bytes\n", largest);
    assert_true(largest < 65536);
    lclip_fault_arm(0);
    largest = largest_request(LCLIP_E_TOO_LARGE,
                              lclip_image_input_memory(big_jpeg.data, big_jpeg.size, &tight, &cfg, out));
    print_message("max_image_pixels (JPEG): largest allocation %zu bytes\n", largest);
    assert_true(largest < 65536);
    free(big_png.data);
    free(big_jpeg.data);
    byte_buffer big[3] = {make_webp_alpha(300, 200), make_gif(300, 200), make_bmp_palette(300, 200)};
    static const char *const big_names[3] = {"WebP", "GIF", "BMP"};
    for (int i = 0; i < 3; i++) {
        lclip_fault_arm(0);
        largest = largest_request(LCLIP_E_TOO_LARGE,
                                  lclip_image_input_memory(big[i].data, big[i].size, &tight, &cfg, out));
        print_message("max_image_pixels (%s): largest allocation %zu bytes\n", big_names[i], largest);
        assert_true(largest < 65536);
        free(big[i].data);
    }
    static uint8_t rgb[100 * 100 * 3];
    lclip_fault_arm(0);
    largest = largest_request(LCLIP_E_TOO_LARGE, lclip_image_input_rgb(rgb, 100, 100, 300, &tight, &cfg, out));
    assert_int_equal(largest, 0);

    /* Text bytes: a 64 KiB text against a 4 KiB limit. */
    if (in.fixtures) {
        lclip_options opts;
        lclip_options_init(&opts);
        opts.max_text_bytes = 4096;
        lclip_text_encoder *text;
        assert_int_equal(lclip_text_encoder_open(in.hf_dir, &opts, &text), LCLIP_OK);
        char *long_text = malloc(65537);
        memset(long_text, 'a', 65536);
        long_text[65536] = '\0';
        int32_t ids[77];
        lclip_fault_arm(0);
        largest = largest_request(LCLIP_E_TOO_LARGE, lclip_tokenize(text, long_text, ids, 77, NULL));
        print_message("max_text_bytes: largest allocation %zu bytes\n", largest);
        assert_true(largest <= 77 * sizeof(int32_t)); /* the caller-sized id buffer only */
        float *emb = malloc(lclip_text_encoder_dim(text) * sizeof *emb);
        lclip_fault_arm(0);
        largest = largest_request(LCLIP_E_TOO_LARGE, lclip_text_encode(text, long_text, emb));
        assert_true(largest < 4096);
        free(emb);
        free(long_text);
        lclip_text_encoder_close(text);
    }

    /* Safetensors header bytes and tensor count, on a buffer. */
    static const char header[] = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                                 "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},"
                                 "\"c\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}";
    size_t header_len = sizeof header - 1, size = 8 + header_len + 12;
    unsigned char *file = calloc(1, size);
    for (int i = 0; i < 8; i++)
        file[i] = (unsigned char)((uint64_t)header_len >> (8 * i));
    memcpy(file + 8, header, header_len);
    lclip_safetensors *st;
    lclip_safetensors_limits few_bytes = {64, 65536}, few_tensors = {1 << 20, 2};
    lclip_fault_arm(0);
    largest = largest_request(LCLIP_E_TOO_LARGE, lclip_safetensors_parse(file, size, "t", &few_bytes, &st));
    print_message("max_header_bytes: largest allocation %zu bytes\n", largest);
    assert_true(largest <= sizeof(lclip_safetensors)); /* the handle itself, no header copy */
    lclip_fault_arm(0);
    largest = largest_request(LCLIP_E_TOO_LARGE, lclip_safetensors_parse(file, size, "t", &few_tensors, &st));
    print_message("max_tensor_count: largest allocation %zu bytes (the table would be %zu)\n", largest,
                  3 * sizeof(lclip_tensor_info));
    assert_true(largest <= sizeof(lclip_safetensors)); /* no tensor table, no name block */
    free(file);
}

/* ---- classifiers -------------------------------------------------------- */

/* Each attempt makes a classifier and frees it; *out must come back NULL on
 * failure. liblbfgs's own working memory (malloc) is not walked. */
typedef struct classifier_case {
    lclip_text_encoder *text;
    unsigned char *file; /* a saved classifier */
    size_t file_size;
    lclip_classifier *loaded; /* the same, loaded */
    char save_path[1100];
} classifier_case;

static const char *const walk_classes[3] = {"cat", "Ærøskøbing harbour", "cup of coffee"};
static const char *const walk_templates[2] = {"a photo of a {}.", "a drawing of"};

static lclip_status finish_classifier(lclip_status s, lclip_classifier *cls)
{
    assert_true((s == LCLIP_OK) == (cls != NULL));
    lclip_classifier_free(cls);
    return s;
}

static lclip_status attempt_zeroshot(void *ctx)
{
    classifier_case *c = ctx;
    lclip_classifier *cls = (lclip_classifier *)c;
    lclip_status s = lclip_classifier_zeroshot(c->text, walk_classes, 3, walk_templates, 2, NULL, &cls);
    return finish_classifier(s, cls);
}

static void walk_points(float *x, int32_t *labels, size_t n, size_t dim)
{
    for (size_t i = 0; i < n; i++) {
        labels[i] = (int32_t)(i % 3);
        for (size_t d = 0; d < dim; d++)
            x[i * dim + d] = (float)((d == (size_t)labels[i]) + 0.1 * sin((double)(i * dim + d)));
    }
}

static lclip_status attempt_probe(void *ctx)
{
    (void)ctx;
    float x[12 * 4];
    int32_t labels[12];
    walk_points(x, labels, 12, 4);
    lclip_classifier *cls = (lclip_classifier *)x;
    lclip_status s = lclip_classifier_train_probe(x, 12, 4, labels, walk_classes, 3, NULL, &cls);
    return finish_classifier(s, cls);
}

static lclip_status attempt_select_c(void *ctx)
{
    (void)ctx;
    float x[12 * 4];
    int32_t labels[12];
    walk_points(x, labels, 12, 4);
    const double grid[2] = {0.1, 10.0};
    double best_c = -1;
    lclip_status s = lclip_probe_select_c(x, 12, 4, labels, 3, grid, 2, 2, NULL, &best_c, NULL);
    assert_true((s == LCLIP_OK) == (best_c > 0));
    return s;
}

static lclip_status attempt_load(void *ctx)
{
    classifier_case *c = ctx;
    lclip_classifier *cls = (lclip_classifier *)c;
    lclip_status s = lclip_classifier_load_memory(c->file, c->file_size, &cls);
    return finish_classifier(s, cls);
}

/* A failed save leaves the previous file as it was. */
static lclip_status attempt_save(void *ctx)
{
    classifier_case *c = ctx;
    write_text_file(c->save_path, "previous");
    lclip_status s = lclip_classifier_save(c->loaded, c->save_path);
    size_t len;
    char *text = read_whole_file(c->save_path, &len);
    if (s == LCLIP_OK)
        assert_int_equal(len, c->file_size);
    else
        assert_true(len == 8 && memcmp(text, "previous", 8) == 0);
    free(text);
    return s;
}

static void test_classifier_walks(void **state)
{
    (void)state;
    classifier_case c;
    memset(&c, 0, sizeof c);
    walk("classifier train_probe, 12 x 4, 3 classes", attempt_probe, &c, NULL);
    walk("classifier probe_select_c, 2 C x 2 folds", attempt_select_c, &c, NULL);
    float vectors[3 * 4] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0};
    lclip_classifier *cls;
    assert_int_equal(lclip_classifier_create(vectors, NULL, walk_classes, 3, 4, 10.0f, &cls), LCLIP_OK);
    snprintf(c.save_path, sizeof c.save_path, "%s/walk.lclip", in.tmp);
    assert_int_equal(lclip_classifier_save(cls, c.save_path), LCLIP_OK);
    lclip_classifier_free(cls);
    c.file = read_whole_file(c.save_path, &c.file_size);
    walk("classifier load_memory", attempt_load, &c, NULL);
    assert_int_equal(lclip_classifier_load_memory(c.file, c.file_size, &c.loaded), LCLIP_OK);
    walk("classifier save", attempt_save, &c, NULL);
    lclip_classifier_free(c.loaded);
    if (in.fixtures) {
        assert_int_equal(lclip_text_encoder_open(in.hf_dir, NULL, &c.text), LCLIP_OK);
        assert_int_equal(attempt_zeroshot(&c), LCLIP_OK); /* fills the tokenizer's word cache, as a walk needs */
        walk("classifier zeroshot, 3 classes x 2 templates", attempt_zeroshot, &c, NULL);
        lclip_text_encoder_close(c.text);
    }
    free(c.file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_walks),
        cmocka_unit_test(test_image_encode_walks),
        cmocka_unit_test(test_text_encode_walks),
        cmocka_unit_test(test_team_encode_walks),
        cmocka_unit_test(test_per_input_walks),
        cmocka_unit_test(test_limits_refuse_before_allocating),
        cmocka_unit_test(test_classifier_walks),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
