/* WebP, GIF and BMP against the reference (fixtures' formats/formats.json):
 * the decoded Pillow mode and pixels (exact), the preprocessed tensors at 224
 * and 32 (1e-5), and both tiny models' image embeddings through the file,
 * files and memory entry points; first frames of self-made GIFs and
 * animated WebPs laid out as Pillow 9.4 lays them out (checked by hand
 * against it); and the BMP variants Pillow decodes in ways not reproduced
 * here are refused as unsupported. */
#include <cjson/cJSON.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <webp/mux.h>

#include "image/decode.h"
#include "image/image_input.h"
#include "image_test_util.h"
#include "support/golden.h"
#include "support/test_util.h"

enum { N_FORMAT_IMAGES = 8, EMBED = 32 };

static const lclip_image_input_options default_opts = {.max_pixels = 178956970u, .exif_orientation = 0};

typedef struct formats {
    char *dir; /* fixtures/formats */
    cJSON *json;
    const cJSON *images;
} formats;

static int load_formats(formats *f)
{
    const char *fixtures = fixtures_dir();
    if (!fixtures)
        return 0;
    f->dir = join_path(fixtures, "formats");
    char *path = join_path(f->dir, "formats.json");
    size_t len;
    char *text = read_whole_file(path, &len);
    free(path);
    if (!text) {
        print_message("skipping: %s/formats.json not found\n", f->dir);
        free(f->dir);
        return 0;
    }
    f->json = cJSON_ParseWithLength(text, len);
    free(text);
    assert_non_null(f->json);
    f->images = cJSON_GetObjectItemCaseSensitive(f->json, "images");
    assert_int_equal(cJSON_GetArraySize(f->images), N_FORMAT_IMAGES);
    return 1;
}

static void free_formats(formats *f)
{
    cJSON_Delete(f->json);
    free(f->dir);
}

static const char *string_at(const cJSON *obj, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    assert_true(cJSON_IsString(item));
    return item->valuestring;
}

static int int_at(const cJSON *obj, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    assert_true(cJSON_IsNumber(item));
    return item->valueint;
}

static lclip_pixel_mode mode_named(const char *name)
{
    static const struct {
        const char *name;
        lclip_pixel_mode mode;
    } modes[] = {{"RGB", LCLIP_MODE_RGB}, {"RGBA", LCLIP_MODE_RGBA}, {"P", LCLIP_MODE_P}, {"L", LCLIP_MODE_L}};
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++)
        if (strcmp(modes[i].name, name) == 0)
            return modes[i].mode;
    fail_msg("unexpected Pillow mode %s", name);
    return LCLIP_MODE_RGB;
}

/* Pillow's convert("RGB") of the modes these formats decode to. */
static void pixel_rgb(const lclip_pixels *px, int x, int y, uint8_t rgb[3])
{
    const uint8_t *p = px->data + (size_t)y * px->stride + (size_t)x * (size_t)lclip_pixel_size(px->mode);
    switch (px->mode) {
    case LCLIP_MODE_P:
        memcpy(rgb, px->palette + 3 * p[0], 3);
        break;
    case LCLIP_MODE_L:
        memset(rgb, p[0], 3);
        break;
    default: /* RGB, and RGBA with its alpha dropped */
        memcpy(rgb, p, 3);
    }
}

static void check_decoded(const formats *f, const cJSON *image, const uint8_t *file, size_t size)
{
    const char *name = string_at(image, "name");
    lclip_pixels px;
    if (lclip_image_decode(file, size, name, &default_opts, &px) != LCLIP_OK)
        fail_msg("%s: %s", name, lclip_last_error());
    assert_int_equal(px.mode, mode_named(string_at(image, "pil_mode")));
    assert_int_equal(px.width, int_at(image, "width"));
    assert_int_equal(px.height, int_at(image, "height"));
    size_t n = (size_t)px.width * (size_t)px.height * 3;
    uint8_t *golden = golden_read(f->dir, string_at(cJSON_GetObjectItemCaseSensitive(image, "decoded_rgb8"), "file"),
                                  n, 1);
    size_t mismatches = 0;
    for (int y = 0; y < px.height; y++)
        for (int x = 0; x < px.width; x++) {
            uint8_t rgb[3];
            pixel_rgb(&px, x, y, rgb);
            mismatches += memcmp(rgb, golden + 3 * ((size_t)y * (size_t)px.width + (size_t)x), 3) != 0;
        }
    print_message("decoded-rgb8 %-40s %zu pixels differ\n", name, mismatches);
    assert_int_equal(mismatches, 0);
    free(golden);
    lclip_pixels_free(&px);
}

static void *read_image(const formats *f, const cJSON *image, size_t *size)
{
    char *path = join_path(f->dir, string_at(image, "file"));
    void *data = read_whole_file(path, size);
    if (!data)
        fail_msg("%s: cannot read", path);
    free(path);
    return data;
}

static void test_decoded_pixels_exact(void **state)
{
    (void)state;
    formats f;
    if (!load_formats(&f))
        skip();
    const cJSON *image;
    cJSON_ArrayForEach(image, f.images) {
        size_t size;
        uint8_t *file = read_image(&f, image, &size);
        check_decoded(&f, image, file, size);
        free(file);
    }
    free_formats(&f);
}

/* Through the file and the memory entry points; both must match. */
static void check_preprocess(const formats *f, const cJSON *image, int crop)
{
    char key[8];
    snprintf(key, sizeof key, "%d", crop);
    const cJSON *golden_info = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(image, "preprocess"),
                                                                key);
    size_t n = 3 * (size_t)crop * (size_t)crop;
    float *golden = golden_read(f->dir, string_at(golden_info, "file"), n, sizeof(float));
    float *got = malloc(n * sizeof(float));
    assert_non_null(got);
    lclip_vision_config cfg = clip_config(crop);
    char *path = join_path(f->dir, string_at(image, "file"));
    if (lclip_image_input_file(path, &default_opts, &cfg, got) != LCLIP_OK)
        fail_msg("%s: %s", path, lclip_last_error());
    double file_diff = max_abs_diff(got, golden, n);
    size_t size;
    void *data = read_image(f, image, &size);
    assert_int_equal(lclip_image_input_memory(data, size, &default_opts, &cfg, got), LCLIP_OK);
    double memory_diff = max_abs_diff(got, golden, n);
    print_message("preprocess-%d %-40s max abs diff %.3g (file), %.3g (memory)\n", crop, string_at(image, "name"),
                  file_diff, memory_diff);
    assert_true(file_diff <= 1e-5 && memory_diff <= 1e-5);
    free(data);
    free(path);
    free(got);
    free(golden);
}

static void test_preprocess_goldens(void **state)
{
    (void)state;
    formats f;
    if (!load_formats(&f))
        skip();
    const cJSON *image;
    cJSON_ArrayForEach(image, f.images) {
        check_preprocess(&f, image, 224);
        check_preprocess(&f, image, 32);
    }
    free_formats(&f);
}

static lclip_image_encoder *open_model(const char *fixtures, const char *model)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/models/%s/hf", fixtures, model);
    lclip_options opts;
    lclip_options_init(&opts);
    opts.normalize = 0; /* the goldens are the projection's raw output */
    lclip_image_encoder *enc = NULL;
    if (lclip_image_encoder_open(path, &opts, &enc) != LCLIP_OK)
        fail_msg("%s: %s", path, lclip_last_error());
    return enc;
}

/* Each model's embeddings of all images: one batch of files, then each
 * image from memory and from its file alone. */
static void check_model_embeddings(const formats *f, const char *model, const cJSON *model_info)
{
    lclip_image_encoder *enc = open_model(fixtures_dir(), model);
    float *ref = golden_read(f->dir, string_at(model_info, "image_embeds"), N_FORMAT_IMAGES * EMBED, sizeof(float));
    const char *paths[N_FORMAT_IMAGES];
    float batch[N_FORMAT_IMAGES * EMBED], single[N_FORMAT_IMAGES * EMBED], memory[N_FORMAT_IMAGES * EMBED];
    for (int i = 0; i < N_FORMAT_IMAGES; i++) {
        const cJSON *image = cJSON_GetArrayItem(f->images, i);
        paths[i] = join_path(f->dir, string_at(image, "file"));
        assert_int_equal(lclip_image_encode_file(enc, paths[i], single + i * EMBED), LCLIP_OK);
        size_t size;
        void *data = read_image(f, image, &size);
        assert_int_equal(lclip_image_encode_memory(enc, data, size, memory + i * EMBED), LCLIP_OK);
        free(data);
    }
    if (lclip_image_encode_files(enc, paths, N_FORMAT_IMAGES, batch) != LCLIP_OK)
        fail_msg("%s: %s", model, lclip_last_error());
    double worst = assert_embeddings_match(batch, ref, N_FORMAT_IMAGES, EMBED, "files");
    assert_embeddings_match(single, ref, N_FORMAT_IMAGES, EMBED, "file");
    assert_embeddings_match(memory, ref, N_FORMAT_IMAGES, EMBED, "memory");
    print_message("%s: worst 1 - cosine %.3g\n", model, worst);
    for (int i = 0; i < N_FORMAT_IMAGES; i++)
        free((char *)paths[i]);
    free(ref);
    lclip_image_encoder_close(enc);
}

static void test_embeddings(void **state)
{
    (void)state;
    formats f;
    if (!load_formats(&f))
        skip();
    const cJSON *models = cJSON_GetObjectItemCaseSensitive(f.json, "models"), *model;
    assert_int_equal(cJSON_GetArraySize(models), 2);
    cJSON_ArrayForEach(model, models)
        check_model_embeddings(&f, model->string, model);
    free_formats(&f);
}

/* ---- first frames, self-made ------------------------------------------- */

enum { FW = 23, FH = 13 };

static void decode_or_fail(const byte_buffer *b, lclip_pixels *px)
{
    if (lclip_image_decode(b->data, b->size, "self-made", &default_opts, px) != LCLIP_OK)
        fail_msg("%s", lclip_last_error());
}

/* A frame at (left, top) on the screen: index `fill` outside it (the
 * transparent index, else 0); the screen grows to hold the frame. */
static void check_gif_canvas(int screen_w, int screen_h, int left, int top, int transparent)
{
    uint8_t indices[FW * FH], palette[3 * 64];
    for (int i = 0; i < FW * FH; i++)
        indices[i] = (uint8_t)(i * 7 % 64);
    for (int i = 0; i < 3 * 64; i++)
        palette[i] = (uint8_t)(i * 37 % 256);
    gif_spec spec = {screen_w, screen_h, left, top, FW, FH, 1, indices, palette, 64, transparent, 3};
    byte_buffer gif = encode_gif(&spec);
    lclip_pixels px;
    decode_or_fail(&gif, &px);
    int width = left + FW > screen_w ? left + FW : screen_w, height = top + FH > screen_h ? top + FH : screen_h;
    assert_int_equal(px.mode, LCLIP_MODE_P);
    assert_int_equal(px.width, width);
    assert_int_equal(px.height, height);
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++) {
            int inside = x >= left && x < left + FW && y >= top && y < top + FH;
            int want = inside ? indices[(y - top) * FW + (x - left)] : transparent >= 0 ? transparent : 0;
            assert_int_equal(px.data[(size_t)y * px.stride + (size_t)x], want);
        }
    assert_memory_equal(px.palette, palette, sizeof palette);
    for (int i = 64; i < 256; i++) /* Pillow's grey ramp beyond the GIF's entries */
        assert_int_equal(px.palette[3 * i + 1], i);
    lclip_pixels_free(&px);
    free(gif.data);
}

static void test_gif_first_frame_layout(void **state)
{
    (void)state;
    check_gif_canvas(FW + 8, FH + 4, 3, 2, 9); /* padded with the transparent index */
    check_gif_canvas(FW + 8, FH + 4, 3, 2, -1); /* padded with 0 */
    check_gif_canvas(5, 4, 3, 2, -1);          /* the screen grows to the frame */
    check_gif_canvas(FW, FH, 0, 0, 9);          /* transparent index keeps its colour */
    /* The identity grey ramp is no palette for Pillow: mode L. */
    uint8_t indices[FW * FH], grey[3 * 256];
    for (int i = 0; i < FW * FH; i++)
        indices[i] = (uint8_t)(i * 5 % 256);
    for (int i = 0; i < 256; i++)
        memset(grey + 3 * i, i, 3);
    gif_spec spec = {FW, FH, 0, 0, FW, FH, 0, indices, grey, 256, -1, 1};
    byte_buffer gif = encode_gif(&spec);
    lclip_pixels px;
    decode_or_fail(&gif, &px);
    assert_int_equal(px.mode, LCLIP_MODE_L);
    assert_memory_equal(px.data, indices, sizeof indices);
    lclip_pixels_free(&px);
    free(gif.data);
}

/* An animation on a 40 x 30 canvas whose first frame is a lossy 23 x 13
 * image at (4, 6): that frame on transparent black, the second ignored. */
static void check_animated_webp(int channels)
{
    uint8_t samples[FW * FH * 4];
    for (size_t i = 0; i < sizeof samples; i++)
        samples[i] = (uint8_t)(i * 11 % 256);
    webp_spec spec = {FW, FH, channels, 0, samples};
    byte_buffer first = encode_webp(&spec);
    spec.lossless = 1;
    byte_buffer second = encode_webp(&spec);
    WebPMux *mux = WebPMuxNew();
    assert_non_null(mux);
    WebPMuxFrameInfo frames[2] = {
        {.bitstream = {first.data, first.size}, .x_offset = 4, .y_offset = 6, .duration = 100,
         .id = WEBP_CHUNK_ANMF, .dispose_method = WEBP_MUX_DISPOSE_NONE, .blend_method = WEBP_MUX_BLEND},
        {.bitstream = {second.data, second.size}, .duration = 100, .id = WEBP_CHUNK_ANMF,
         .dispose_method = WEBP_MUX_DISPOSE_NONE, .blend_method = WEBP_MUX_NO_BLEND},
    };
    for (int i = 0; i < 2; i++)
        assert_int_equal(WebPMuxPushFrame(mux, &frames[i], 1), WEBP_MUX_OK);
    assert_int_equal(WebPMuxSetCanvasSize(mux, 40, 30), WEBP_MUX_OK);
    WebPMuxAnimParams params = {0xff112233u, 0};
    assert_int_equal(WebPMuxSetAnimationParams(mux, &params), WEBP_MUX_OK);
    WebPData assembled;
    assert_int_equal(WebPMuxAssemble(mux, &assembled), WEBP_MUX_OK);
    byte_buffer anim = {(uint8_t *)assembled.bytes, assembled.size, assembled.size};

    lclip_pixels px, still;
    decode_or_fail(&anim, &px);
    decode_or_fail(&first, &still);
    lclip_pixel_mode mode = channels == 4 ? LCLIP_MODE_RGBA : LCLIP_MODE_RGB;
    assert_int_equal(px.mode, mode);
    assert_int_equal(still.mode, mode);
    assert_int_equal(px.width, 40);
    assert_int_equal(px.height, 30);
    size_t bpp = (size_t)lclip_pixel_size(mode);
    uint8_t zero[4] = {0};
    for (int y = 0; y < 30; y++)
        for (int x = 0; x < 40; x++) {
            const uint8_t *got = px.data + (size_t)y * px.stride + (size_t)x * bpp;
            int inside = x >= 4 && x < 4 + FW && y >= 6 && y < 6 + FH;
            const uint8_t *want = inside ? still.data + (size_t)(y - 6) * still.stride + (size_t)(x - 4) * bpp : zero;
            assert_memory_equal(got, want, bpp);
        }
    lclip_pixels_free(&still);
    lclip_pixels_free(&px);
    WebPDataClear(&assembled);
    WebPMuxDelete(mux);
    free(second.data);
    free(first.data);
}

static void test_animated_webp_first_frame(void **state)
{
    (void)state;
    check_animated_webp(3);
    check_animated_webp(4);
}

/* The same pixels bottom-up, top-down and with a 12-byte header decode alike;
 * palette entries past the listed ones are Pillow's grey ramp. */
static void test_bmp_layouts(void **state)
{
    (void)state;
    enum { W = 9, H = 7 };
    uint8_t indices[W * H], palette[3 * 256];
    for (int i = 0; i < W * H; i++)
        indices[i] = (uint8_t)(i * 3 % 40);
    for (int i = 0; i < 3 * 256; i++)
        palette[i] = (uint8_t)(i * 29 % 256);
    bmp_spec specs[3] = {{W, H, 8, 0, 40, 0, indices, palette, 40},
                         {W, H, 8, 1, 40, 0, indices, palette, 40},
                         {W, H, 8, 0, 12, 0, indices, palette, 0}};
    for (int k = 0; k < 3; k++) {
        byte_buffer bmp = encode_bmp(&specs[k]);
        lclip_pixels px;
        decode_or_fail(&bmp, &px);
        assert_int_equal(px.mode, LCLIP_MODE_P);
        assert_memory_equal(px.data, indices, sizeof indices);
        size_t listed = k == 2 ? 256 : 40;
        assert_memory_equal(px.palette, palette, 3 * listed);
        for (size_t i = listed; i < 256; i++)
            assert_int_equal(px.palette[3 * i], i);
        lclip_pixels_free(&px);
        free(bmp.data);
    }
}

/* ---- BMP variants: refused, never decoded differently from Pillow ------- */

static lclip_status decode_status(const byte_buffer *b, const char *needle)
{
    lclip_vision_config cfg = clip_config(8);
    float out[3 * 8 * 8];
    lclip_status s = lclip_image_input_memory(b->data, b->size, &default_opts, &cfg, out);
    if (s != LCLIP_OK && needle && !strstr(lclip_last_error(), needle))
        fail_msg("message \"%s\" does not mention \"%s\"", lclip_last_error(), needle);
    return s;
}

static void test_bmp_variants_refused(void **state)
{
    (void)state;
    static const struct {
        int bits;
        unsigned compression;
        const char *needle;
    } refused[] = {
        {1, 0, "1-bit"},       {4, 0, "4-bit"},          {16, 0, "16-bit"},   {32, 0, "32-bit"},
        {8, 1, "RLE8"},        {4, 2, "4-bit"},          {24, 3, "bitfields"}, {32, 3, "32-bit"},
        {24, 4, "JPEG"},       {24, 5, "PNG"},           {0, 0, "0-bit"},     {8, 9, "compression"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        bmp_spec spec = {9, 5, refused[i].bits, 0, 40, refused[i].compression, NULL, NULL, 0};
        byte_buffer b = encode_bmp(&spec);
        assert_int_equal(decode_status(&b, refused[i].needle), LCLIP_E_UNSUPPORTED);
        free(b.data);
    }
    /* An 8-bit file whose two colours are black and white: Pillow unpacks it
     * as 1-bit data. */
    static const uint8_t black_white[6] = {0, 0, 0, 255, 255, 255};
    uint8_t indices[9 * 5] = {0};
    bmp_spec bw = {9, 5, 8, 0, 40, 0, indices, black_white, 2};
    byte_buffer b = encode_bmp(&bw);
    assert_int_equal(decode_status(&b, "black-and-white"), LCLIP_E_UNSUPPORTED);
    free(b.data);
    /* Unknown header sizes (OS/2 2.x's 64 is read as Pillow reads it). */
    bmp_spec ok = {9, 5, 24, 0, 40, 0, NULL, NULL, 0};
    uint8_t rgb[9 * 5 * 3] = {0};
    ok.samples = rgb;
    b = encode_bmp(&ok);
    assert_int_equal(decode_status(&b, NULL), LCLIP_OK);
    b.data[14] = 56;
    assert_int_equal(decode_status(&b, "56-byte header"), LCLIP_E_UNSUPPORTED);
    free(b.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decoded_pixels_exact),
        cmocka_unit_test(test_preprocess_goldens),
        cmocka_unit_test(test_embeddings),
        cmocka_unit_test(test_gif_first_frame_layout),
        cmocka_unit_test(test_animated_webp_first_frame),
        cmocka_unit_test(test_bmp_layouts),
        cmocka_unit_test(test_bmp_variants_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
