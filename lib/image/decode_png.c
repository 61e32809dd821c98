/* PNG through libpng, into the mode Pillow's PngImagePlugin chooses:
 *   grey 1 bit -> "1"; grey 2/4/8 -> "L" (levels scaled to 0..255);
 *   grey 16 -> "I" (full 16-bit value); grey+alpha 8 -> "LA";
 *   grey+alpha 16 -> "RGBA"; RGB -> "RGB"; RGBA -> "RGBA";
 *   palette -> "P" (tRNS ignored, as convert("RGB") ignores it).
 * Other 16-bit samples keep their high byte (png_set_strip_16), as
 * Pillow's ";16B" unpackers do. Gamma, sRGB and ICC chunks are not applied.
 *
 * libpng reports errors by longjmp. All state that must survive one lives
 * in png_context, reached through a pointer, and the setjmp frame
 * (run_decoder) modifies no locals of its own after setjmp. */
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include "common/alloc.h"
#include "common/error.h"
#include "image/decode.h"

typedef struct png_context {
    jmp_buf jump;
    const char *label;
    uint64_t max_pixels;
    const lclip_logger *log;
    int warnings;
    const uint8_t *data;
    size_t size, pos;
    int out_of_memory;
    char message[160];
    png_structp png;
    png_infop info;
    png_bytepp rows;
    lclip_pixels pixels;
} png_context;

static void on_error(png_structp png, png_const_charp message)
{
    png_context *ctx = png_get_error_ptr(png);
    snprintf(ctx->message, sizeof ctx->message, "%s", message);
    longjmp(ctx->jump, 1);
}

/* Warnings (bad ancillary chunks and the like) are not failures; the first
 * few go to the log callback, and a file full of them costs no more. */
static void on_warning(png_structp png, png_const_charp message)
{
    png_context *ctx = png_get_error_ptr(png);
    if (ctx->warnings++ < LCLIP_MAX_DECODER_WARNINGS)
        lclip_log(ctx->log, LCLIP_LOG_WARNING, "%s: PNG warning: %s", ctx->label, message);
}

static png_voidp on_malloc(png_structp png, png_alloc_size_t size)
{
    void *p = lclip_malloc(size);
    if (!p)
        ((png_context *)png_get_mem_ptr(png))->out_of_memory = 1;
    return p;
}

static void on_free(png_structp png, png_voidp p)
{
    (void)png;
    lclip_free(p);
}

static void on_read(png_structp png, png_bytep out, size_t n)
{
    png_context *ctx = png_get_io_ptr(png);
    if (n > ctx->size - ctx->pos)
        png_error(png, "the file is truncated");
    memcpy(out, ctx->data + ctx->pos, n);
    ctx->pos += n;
}

/* Pillow's mode for a colour type and bit depth. */
static lclip_pixel_mode png_mode(int color_type, int depth)
{
    switch (color_type) {
    case PNG_COLOR_TYPE_GRAY:
        return depth == 1 ? LCLIP_MODE_1 : depth == 16 ? LCLIP_MODE_I : LCLIP_MODE_L;
    case PNG_COLOR_TYPE_GRAY_ALPHA:
        return depth == 16 ? LCLIP_MODE_RGBA : LCLIP_MODE_LA;
    case PNG_COLOR_TYPE_PALETTE:
        return LCLIP_MODE_P;
    case PNG_COLOR_TYPE_RGB:
        return LCLIP_MODE_RGB;
    default:
        return LCLIP_MODE_RGBA;
    }
}

/* Bytes libpng writes per row: 16-bit samples only in mode "I". */
static size_t png_row_bytes(lclip_pixel_mode mode, int width)
{
    return (size_t)width * (mode == LCLIP_MODE_I ? 2 : (size_t)lclip_pixel_size(mode));
}

static void set_transforms(png_structp png, int color_type, int depth, lclip_pixel_mode mode)
{
    if (depth < 8)
        png_set_packing(png); /* one byte a sample, value unscaled */
    if (depth == 16 && mode != LCLIP_MODE_I)
        png_set_strip_16(png);
    if (color_type == PNG_COLOR_TYPE_GRAY_ALPHA && depth == 16)
        png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
}

/* Pillow's palette: a grey ramp that the PLTE entries overwrite. */
static void load_palette(png_context *ctx)
{
    lclip_pixels_grey_palette(&ctx->pixels);
    png_colorp entries;
    int count = 0;
    if (png_get_PLTE(ctx->png, ctx->info, &entries, &count) && count > 0) {
        for (int i = 0; i < count && i < 256; i++) {
            ctx->pixels.palette[3 * i + 0] = entries[i].red;
            ctx->pixels.palette[3 * i + 1] = entries[i].green;
            ctx->pixels.palette[3 * i + 2] = entries[i].blue;
        }
    }
}

/* Grey below 8 bits to 0..255 (1 bit is mode "1": 0 or 255); 16-bit grey
 * from big-endian pairs to int32, in place, last sample first. */
static void finish_samples(lclip_pixels *px, int depth)
{
    static const uint8_t grey_scale[9] = {0, 255, 0x55, 0, 0x11, 0, 0, 0, 1};
    for (int y = 0; y < px->height; y++) {
        uint8_t *row = px->owned + (size_t)y * px->stride;
        if (px->mode == LCLIP_MODE_I) {
            for (int x = px->width - 1; x >= 0; x--) {
                int32_t v = row[2 * x] << 8 | row[2 * x + 1];
                memcpy(row + 4 * (size_t)x, &v, sizeof v);
            }
        } else if ((px->mode == LCLIP_MODE_1 || px->mode == LCLIP_MODE_L) && depth < 8) {
            for (int x = 0; x < px->width; x++)
                row[x] = (uint8_t)(row[x] * grey_scale[depth]);
        }
    }
}

static lclip_status read_pixels(png_context *ctx)
{
    png_uint_32 width, height;
    int depth, color_type;
    png_get_IHDR(ctx->png, ctx->info, &width, &height, &depth, &color_type, NULL, NULL, NULL);
    lclip_status s = lclip_pixels_check_size(ctx->label, width, height, ctx->max_pixels);
    if (s != LCLIP_OK)
        return s;
    lclip_pixel_mode mode = png_mode(color_type, depth);
    set_transforms(ctx->png, color_type, depth, mode);
    png_read_update_info(ctx->png, ctx->info);
    if (png_get_rowbytes(ctx->png, ctx->info) != png_row_bytes(mode, (int)width))
        return lclip_fail(LCLIP_E_FORMAT, "%s: unexpected PNG row layout", ctx->label);

    if ((s = lclip_pixels_alloc(&ctx->pixels, mode, (int)width, (int)height, ctx->label)) != LCLIP_OK)
        return s;
    ctx->rows = lclip_malloc_array(height, sizeof *ctx->rows);
    if (!ctx->rows)
        return lclip_fail(LCLIP_E_NOMEM, "%s: out of memory", ctx->label);
    for (png_uint_32 y = 0; y < height; y++)
        ctx->rows[y] = ctx->pixels.owned + (size_t)y * ctx->pixels.stride;
    png_read_image(ctx->png, ctx->rows);
    /* Chunks after the image data are not needed: like Pillow, a file
     * that stops after its last IDAT is accepted. */
    if (mode == LCLIP_MODE_P)
        load_palette(ctx);
    finish_samples(&ctx->pixels, depth);
    return LCLIP_OK;
}

static lclip_status run_decoder(png_context *ctx)
{
    if (setjmp(ctx->jump)) {
        if (ctx->out_of_memory)
            return lclip_fail(LCLIP_E_NOMEM, "%s: out of memory decoding the PNG", ctx->label);
        return lclip_fail(LCLIP_E_FORMAT, "%s: invalid PNG: %s", ctx->label, ctx->message);
    }
    png_set_read_fn(ctx->png, ctx, on_read);
    /* Size is limited by max_pixels, not by libpng's default 1e6 per side. */
    png_set_user_limits(ctx->png, 0x7fffffff, 0x7fffffff);
    /* Text, ICC and other metadata chunks are never used, and libpng would
     * otherwise inflate and keep every one of them (megabytes each), so a
     * small file could claim gigabytes before the pixel cap applies. */
    static const png_byte ignored[] = "tEXt\0zTXt\0iTXt\0iCCP\0sPLT\0eXIf\0";
    png_set_keep_unknown_chunks(ctx->png, PNG_HANDLE_CHUNK_NEVER, ignored, 6);
    png_set_keep_unknown_chunks(ctx->png, PNG_HANDLE_CHUNK_NEVER, NULL, 0);
    png_set_chunk_malloc_max(ctx->png, 1u << 20);
    png_read_info(ctx->png, ctx->info);
    return read_pixels(ctx);
}

lclip_status lclip_decode_png(const uint8_t *data, size_t size, const char *label, uint64_t max_pixels,
                              const lclip_logger *log, lclip_pixels *out)
{
    png_context *ctx = lclip_calloc(1, sizeof *ctx);
    if (!ctx)
        return lclip_fail(LCLIP_E_NOMEM, "%s: out of memory", label);
    ctx->label = label;
    ctx->max_pixels = max_pixels;
    ctx->log = log;
    ctx->data = data;
    ctx->size = size;
    lclip_status s = LCLIP_OK;
    ctx->png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, ctx, on_error, on_warning, ctx, on_malloc,
                                        on_free);
    if (ctx->png)
        ctx->info = png_create_info_struct(ctx->png);
    if (!ctx->png || !ctx->info)
        s = lclip_fail(LCLIP_E_NOMEM, "%s: out of memory", label);
    else
        s = run_decoder(ctx);
    png_destroy_read_struct(ctx->png ? &ctx->png : NULL, ctx->info ? &ctx->info : NULL, NULL);
    lclip_free(ctx->rows);
    if (ctx->warnings > LCLIP_MAX_DECODER_WARNINGS)
        lclip_log(log, LCLIP_LOG_WARNING, "%s: %d PNG warnings in all", label, ctx->warnings);
    if (s == LCLIP_OK)
        *out = ctx->pixels;
    else
        lclip_pixels_free(&ctx->pixels);
    lclip_free(ctx);
    return s;
}
