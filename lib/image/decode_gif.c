/* GIF through giflib's record-level API, into what Pillow's GifImagePlugin
 * gives for the first frame:
 *   mode "P" with the frame's palette (the local one if present, else the
 *   global one) over Pillow's grey ramp; mode "L" when there is none or it
 *   is the identity grey ramp (entry i = (i, i, i)), the indices then being
 *   grey levels. The canvas is the logical screen, grown to hold the frame
 *   if that reaches past it; pixels outside the frame are the transparent
 *   index of a graphic control extension before the frame, else 0. The
 *   transparent index otherwise keeps its palette colour.
 *
 * Only the records up to the first image are read (DGifSlurp would decode
 * every frame), so a file of thousands of frames costs no more than its
 * first. giflib allocates with malloc(): it has no allocator hook.
 *
 * One known difference: Pillow skips stray bytes between blocks, giflib
 * refuses them, so such a file is LCLIP_E_FORMAT here. */
#include <gif_lib.h>
#include <string.h>

#include "common/error.h"
#include "image/decode.h"

typedef struct gif_reader {
    const uint8_t *data;
    size_t size, pos;
    int terminated; /* the one zero byte past the end has been given */
} gif_reader;

typedef struct gif_frame {
    int left, top, width, height, interlaced;
    int transparent; /* index, or -1 */
    const ColorMapObject *palette; /* NULL: mode L */
} gif_frame;

/* Past the end, one single-byte read gets a 0: giflib insists on reading
 * the image data's terminating empty block after the last pixel, which
 * Pillow never needs. Anywhere else a 0 there is still an error (giflib
 * rejects an empty block inside the pixel data), and reads after it fail. */
static int on_read(GifFileType *gif, GifByteType *out, int n)
{
    gif_reader *r = gif->UserData;
    if (r->pos == r->size && n == 1 && !r->terminated) {
        r->terminated = 1;
        out[0] = 0;
        return 1;
    }
    size_t count = n > 0 ? (size_t)n : 0;
    if (count > r->size - r->pos)
        count = r->size - r->pos;
    memcpy(out, r->data + r->pos, count);
    r->pos += count;
    return (int)count;
}

static lclip_status gif_error(int code, const char *label)
{
    const char *reason = GifErrorString(code);
    return lclip_fail(code == D_GIF_ERR_NOT_ENOUGH_MEM ? LCLIP_E_NOMEM : LCLIP_E_FORMAT, "%s: invalid GIF: %s",
                      label, reason ? reason : "unknown error");
}

/* Pillow keeps a palette only if some entry differs from the grey ramp. */
static const ColorMapObject *needed_palette(const ColorMapObject *map)
{
    if (!map)
        return NULL;
    for (int i = 0; i < map->ColorCount; i++) {
        const GifColorType *c = &map->Colors[i];
        if (c->Red != i || c->Green != i || c->Blue != i)
            return map;
    }
    return NULL;
}

/* An extension: a graphic control block sets the transparent index (a
 * later one without the flag leaves it, as in Pillow); the rest is skipped. */
static int read_extension(GifFileType *gif, gif_frame *frame)
{
    int code;
    GifByteType *block;
    if (DGifGetExtension(gif, &code, &block) == GIF_ERROR)
        return GIF_ERROR;
    if (code == GRAPHICS_EXT_FUNC_CODE && block && block[0] >= 4 && (block[1] & 1))
        frame->transparent = block[4];
    while (block)
        if (DGifGetExtensionNext(gif, &block) == GIF_ERROR)
            return GIF_ERROR;
    return GIF_OK;
}

/* Records up to the first image descriptor. */
static lclip_status find_first_image(GifFileType *gif, const char *label, gif_frame *frame)
{
    for (;;) {
        GifRecordType type;
        if (DGifGetRecordType(gif, &type) == GIF_ERROR)
            return gif_error(gif->Error, label);
        if (type == TERMINATE_RECORD_TYPE)
            return lclip_fail(LCLIP_E_FORMAT, "%s: invalid GIF: no image", label);
        if (type == IMAGE_DESC_RECORD_TYPE)
            break;
        if (type != EXTENSION_RECORD_TYPE || read_extension(gif, frame) == GIF_ERROR)
            return gif_error(gif->Error, label);
    }
    if (DGifGetImageDesc(gif) == GIF_ERROR)
        return gif_error(gif->Error, label);
    const GifImageDesc *d = &gif->Image;
    frame->left = d->Left;
    frame->top = d->Top;
    frame->width = d->Width;
    frame->height = d->Height;
    frame->interlaced = d->Interlace;
    frame->palette = d->ColorMap ? needed_palette(d->ColorMap) : needed_palette(gif->SColorMap);
    if (frame->width <= 0 || frame->height <= 0)
        return lclip_fail(LCLIP_E_FORMAT, "%s: invalid GIF: the first frame is %d x %d pixels", label,
                          frame->width, frame->height);
    return LCLIP_OK;
}

static void load_palette(const ColorMapObject *map, lclip_pixels *px)
{
    lclip_pixels_grey_palette(px);
    for (int i = 0; i < map->ColorCount && i < 256; i++) {
        px->palette[3 * i + 0] = map->Colors[i].Red;
        px->palette[3 * i + 1] = map->Colors[i].Green;
        px->palette[3 * i + 2] = map->Colors[i].Blue;
    }
}

/* The frame's rows, in the interlaced pass order if it is interlaced. */
static lclip_status read_rows(GifFileType *gif, const gif_frame *frame, const char *label, lclip_pixels *px)
{
    static const int starts[4] = {0, 4, 2, 1}, steps[4] = {8, 8, 4, 2};
    int passes = frame->interlaced ? 4 : 1;
    for (int pass = 0; pass < passes; pass++) {
        int start = frame->interlaced ? starts[pass] : 0, step = frame->interlaced ? steps[pass] : 1;
        for (int y = start; y < frame->height; y += step) {
            uint8_t *row = px->owned + (size_t)(frame->top + y) * px->stride + (size_t)frame->left;
            if (DGifGetLine(gif, row, frame->width) == GIF_ERROR)
                return gif_error(gif->Error, label);
        }
    }
    return LCLIP_OK;
}

static lclip_status read_first_frame(GifFileType *gif, const char *label, uint64_t max_pixels, lclip_pixels *out)
{
    gif_frame frame = {.transparent = -1};
    lclip_status s = find_first_image(gif, label, &frame);
    if (s != LCLIP_OK)
        return s;
    /* Pillow grows the canvas to the frame; both are at most 2^17 a side. */
    uint32_t width = (uint32_t)(frame.left + frame.width), height = (uint32_t)(frame.top + frame.height);
    if (width < (uint32_t)gif->SWidth)
        width = (uint32_t)gif->SWidth;
    if (height < (uint32_t)gif->SHeight)
        height = (uint32_t)gif->SHeight;
    if ((s = lclip_pixels_check_size(label, width, height, max_pixels)) != LCLIP_OK)
        return s;
    lclip_pixel_mode mode = frame.palette ? LCLIP_MODE_P : LCLIP_MODE_L;
    if ((s = lclip_pixels_alloc(out, mode, (int)width, (int)height, label)) != LCLIP_OK)
        return s;
    memset(out->owned, frame.transparent >= 0 ? frame.transparent : 0, out->stride * (size_t)out->height);
    if (frame.palette)
        load_palette(frame.palette, out);
    return read_rows(gif, &frame, label, out);
}

lclip_status lclip_decode_gif(const uint8_t *data, size_t size, const char *label, uint64_t max_pixels,
                              lclip_pixels *out)
{
    gif_reader reader = {data, size, 0, 0};
    int error = 0;
    GifFileType *gif = DGifOpen(&reader, on_read, &error);
    if (!gif)
        return gif_error(error, label);
    lclip_status s = read_first_frame(gif, label, max_pixels, out);
    DGifCloseFile(gif, &error);
    if (s != LCLIP_OK)
        lclip_pixels_free(out);
    return s;
}
