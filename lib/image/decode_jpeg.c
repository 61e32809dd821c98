/* JPEG through libjpeg(-turbo) with its defaults (ISLOW IDCT, fancy
 * upsampling), as Pillow's decoder runs it. Modes as Pillow's
 * JpegImagePlugin picks them from the component count: 1 "L", 3 "RGB",
 * 4 "CMYK". libjpeg hands CMYK and YCCK out in Adobe's inverted polarity
 * and Pillow assumes that convention for every CMYK file ("CMYK;I"), so the
 * samples are inverted here.
 *
 * Truncated data: libjpeg only warns (JWRN_JPEG_EOF) and pads with an end
 * marker, leaving grey blocks; Pillow refuses such files ("image file is
 * truncated"), so that warning is an LCLIP_E_FORMAT error here. Other
 * corrupt-data warnings are tolerated, as Pillow tolerates them.
 *
 * libjpeg's default error handler calls exit(); ours longjmps back to
 * run_decoder, and all state that must survive the jump lives in
 * jpeg_context, reached through a pointer. */
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "common/alloc.h"
#include "common/error.h"
#include "image/decode.h"

/* Every progressive scan re-walks the whole coefficient buffer, so a small
 * file of many repeated scans costs seconds; real encoders emit about ten. */
enum { MAX_SCANS = 100 };

typedef struct jpeg_context {
    struct jpeg_error_mgr errors; /* first: cinfo.err points here */
    struct jpeg_progress_mgr progress;
    jmp_buf jump;
    char message[JMSG_LENGTH_MAX];
    const char *label;
    uint64_t max_pixels;
    const lclip_logger *log;
    int *orientation;
    struct jpeg_decompress_struct cinfo;
    lclip_pixels pixels;
} jpeg_context;

static void on_error_exit(j_common_ptr cinfo)
{
    jpeg_context *ctx = (jpeg_context *)cinfo->err;
    ctx->errors.format_message(cinfo, ctx->message);
    longjmp(ctx->jump, 1);
}

/* Warnings go to the log callback (the first few: a corrupt file may warn
 * once per block), except running out of data (see above) and scans that
 * repeat or break the progression, which no encoder writes and which only
 * serve to make decoding slow: those are errors. Trace messages (level >= 0)
 * are dropped. */
static void on_emit_message(j_common_ptr cinfo, int level)
{
    jpeg_context *ctx = (jpeg_context *)cinfo->err;
    int code = cinfo->err->msg_code;
    if (level >= 0)
        return;
    if (code == JWRN_JPEG_EOF || code == JWRN_BOGUS_PROGRESSION)
        cinfo->err->error_exit(cinfo);
    if (cinfo->err->num_warnings++ < LCLIP_MAX_DECODER_WARNINGS && ctx->log && ctx->log->fn) {
        char message[JMSG_LENGTH_MAX];
        cinfo->err->format_message(cinfo, message);
        lclip_log(ctx->log, LCLIP_LOG_WARNING, "%s: JPEG warning: %s", ctx->label, message);
    }
}

static void on_output_message(j_common_ptr cinfo)
{
    (void)cinfo;
}

static void on_progress(j_common_ptr cinfo)
{
    jpeg_context *ctx = (jpeg_context *)cinfo->err;
    if (ctx->cinfo.input_scan_number > MAX_SCANS) {
        snprintf(ctx->message, sizeof ctx->message, "more than %d scans", MAX_SCANS);
        longjmp(ctx->jump, 1);
    }
}

static lclip_pixel_mode jpeg_mode(int components, J_COLOR_SPACE *out_space)
{
    if (components == 1) {
        *out_space = JCS_GRAYSCALE;
        return LCLIP_MODE_L;
    }
    if (components == 3) {
        *out_space = JCS_RGB;
        return LCLIP_MODE_RGB;
    }
    *out_space = JCS_CMYK;
    return LCLIP_MODE_CMYK;
}

/* The first APP1 "Exif\0\0" segment's orientation, 0 if none. */
static int find_orientation(j_decompress_ptr cinfo)
{
    for (jpeg_saved_marker_ptr m = cinfo->marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 && memcmp(m->data, "Exif\0\0", 6) == 0)
            return lclip_exif_orientation(m->data + 6, m->data_length - 6);
    return 0;
}

static lclip_status read_pixels(jpeg_context *ctx)
{
    j_decompress_ptr cinfo = &ctx->cinfo;
    if (jpeg_read_header(cinfo, TRUE) != JPEG_HEADER_OK)
        return lclip_fail(LCLIP_E_FORMAT, "%s: invalid JPEG: no image", ctx->label);
    int components = cinfo->num_components;
    if (components != 1 && components != 3 && components != 4)
        return lclip_fail(LCLIP_E_UNSUPPORTED, "%s: JPEG with %d components", ctx->label, components);
    lclip_status s = lclip_pixels_check_size(ctx->label, cinfo->image_width, cinfo->image_height, ctx->max_pixels);
    if (s != LCLIP_OK)
        return s;
    /* Saved markers live until jpeg_finish_decompress frees them. */
    if (ctx->orientation)
        *ctx->orientation = find_orientation(cinfo);
    lclip_pixel_mode mode = jpeg_mode(components, &cinfo->out_color_space);
    jpeg_start_decompress(cinfo);
    if (cinfo->output_components != lclip_pixel_size(mode))
        return lclip_fail(LCLIP_E_FORMAT, "%s: unexpected JPEG output layout", ctx->label);

    if ((s = lclip_pixels_alloc(&ctx->pixels, mode, (int)cinfo->output_width, (int)cinfo->output_height,
                                ctx->label)) != LCLIP_OK)
        return s;
    while (cinfo->output_scanline < cinfo->output_height) {
        JSAMPROW row = ctx->pixels.owned + (size_t)cinfo->output_scanline * ctx->pixels.stride;
        jpeg_read_scanlines(cinfo, &row, 1);
    }
    /* Reads up to the end marker, so a file cut anywhere is refused. */
    jpeg_finish_decompress(cinfo);

    if (mode == LCLIP_MODE_CMYK) {
        size_t n = ctx->pixels.stride * (size_t)ctx->pixels.height;
        for (size_t i = 0; i < n; i++)
            ctx->pixels.owned[i] = (uint8_t)(255 - ctx->pixels.owned[i]);
    }
    return LCLIP_OK;
}

static lclip_status run_decoder(jpeg_context *ctx, const uint8_t *data, size_t size)
{
    if (setjmp(ctx->jump)) {
        /* Sides over libjpeg's 65500 are a size problem, and libjpeg's own
         * allocation failures are memory, not corruption. */
        int code = ctx->errors.msg_code;
        lclip_status s = code == JERR_IMAGE_TOO_BIG ? LCLIP_E_TOO_LARGE
                         : code == JERR_OUT_OF_MEMORY ? LCLIP_E_NOMEM
                                                      : LCLIP_E_FORMAT;
        return lclip_fail(s, "%s: invalid JPEG: %s", ctx->label, ctx->message);
    }
    jpeg_create_decompress(&ctx->cinfo);
    ctx->cinfo.progress = &ctx->progress;
    jpeg_mem_src(&ctx->cinfo, data, (unsigned long)size);
    if (ctx->orientation)
        jpeg_save_markers(&ctx->cinfo, JPEG_APP0 + 1, 0xffff);
    return read_pixels(ctx);
}

lclip_status lclip_decode_jpeg(const uint8_t *data, size_t size, const char *label, uint64_t max_pixels,
                               const lclip_logger *log, int *orientation, lclip_pixels *out)
{
    if (orientation)
        *orientation = 0;
    if (size > (unsigned long)-1)
        return lclip_fail(LCLIP_E_TOO_LARGE, "%s: the JPEG is too large", label);
    jpeg_context *ctx = lclip_calloc(1, sizeof *ctx);
    if (!ctx)
        return lclip_fail(LCLIP_E_NOMEM, "%s: out of memory", label);
    ctx->label = label;
    ctx->max_pixels = max_pixels;
    ctx->log = log;
    ctx->orientation = orientation;
    ctx->cinfo.err = jpeg_std_error(&ctx->errors);
    ctx->errors.error_exit = on_error_exit;
    ctx->errors.emit_message = on_emit_message;
    ctx->errors.output_message = on_output_message;
    ctx->progress.progress_monitor = on_progress;

    lclip_status s = run_decoder(ctx, data, size);
    /* Safe even if creation failed: ctx started zeroed. */
    jpeg_destroy_decompress(&ctx->cinfo);
    if (ctx->errors.num_warnings > LCLIP_MAX_DECODER_WARNINGS)
        lclip_log(log, LCLIP_LOG_WARNING, "%s: %ld JPEG warnings in all", label, ctx->errors.num_warnings);
    if (s == LCLIP_OK)
        *out = ctx->pixels;
    else
        lclip_pixels_free(&ctx->pixels);
    lclip_free(ctx);
    return s;
}
