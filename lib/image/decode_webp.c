/* WebP through libwebp, as Pillow's WebPImagePlugin opens it with its
 * animation decoder: "RGBA" when WebPGetFeatures reports alpha, else "RGB";
 * the first frame drawn onto a transparent black canvas (the whole image
 * for a still file), with libwebp's default decoding options (fancy
 * upsampling), alpha not premultiplied.
 *
 * The canvas size is checked against max_pixels from the headers alone,
 * before WebPDemux indexes the frames and before any pixel is allocated.
 * libwebp allocates its own state with malloc(); the pixels are ours. */
#include <string.h>

#include <webp/decode.h>
#include <webp/demux.h>

#include "common/error.h"
#include "image/decode.h"

static lclip_status status_of(VP8StatusCode code)
{
    switch (code) {
    case VP8_STATUS_OUT_OF_MEMORY:
        return LCLIP_E_NOMEM;
    case VP8_STATUS_UNSUPPORTED_FEATURE:
        return LCLIP_E_UNSUPPORTED;
    default:
        return LCLIP_E_FORMAT;
    }
}

static const char *reason_of(VP8StatusCode code)
{
    switch (code) {
    case VP8_STATUS_OUT_OF_MEMORY:
        return "out of memory";
    case VP8_STATUS_UNSUPPORTED_FEATURE:
        return "unsupported feature";
    case VP8_STATUS_NOT_ENOUGH_DATA:
        return "the file is truncated";
    default:
        return "corrupt data";
    }
}

static lclip_status webp_fail(VP8StatusCode code, const char *label)
{
    return lclip_fail(status_of(code), "%s: invalid WebP: %s", label, reason_of(code));
}

/* Decodes frame into the canvas at its offset. */
static lclip_status decode_frame(const WebPIterator *frame, const char *label, lclip_pixels *canvas)
{
    int bpp = lclip_pixel_size(canvas->mode);
    if (frame->x_offset < 0 || frame->y_offset < 0 || frame->width <= 0 || frame->height <= 0 ||
        frame->width > canvas->width - frame->x_offset || frame->height > canvas->height - frame->y_offset)
        return lclip_fail(LCLIP_E_FORMAT, "%s: invalid WebP: the first frame lies outside the canvas", label);
    WebPDecoderConfig config;
    if (!WebPInitDecoderConfig(&config))
        return lclip_fail(LCLIP_E_UNSUPPORTED, "%s: libwebp's version does not match its header", label);
    WebPRGBABuffer *rgba = &config.output.u.RGBA;
    config.output.colorspace = canvas->mode == LCLIP_MODE_RGBA ? MODE_RGBA : MODE_RGB;
    config.output.is_external_memory = 1;
    rgba->rgba = canvas->owned + (size_t)frame->y_offset * canvas->stride + (size_t)frame->x_offset * (size_t)bpp;
    rgba->stride = (int)canvas->stride;
    rgba->size = canvas->stride * (size_t)(frame->height - 1) + (size_t)frame->width * (size_t)bpp;
    VP8StatusCode code = WebPDecode(frame->fragment.bytes, frame->fragment.size, &config);
    WebPFreeDecBuffer(&config.output); /* nothing of ours: the memory is external */
    return code == VP8_STATUS_OK ? LCLIP_OK : webp_fail(code, label);
}

static lclip_status decode_first_frame(const WebPDemuxer *demux, const char *label, lclip_pixel_mode mode,
                                       lclip_pixels *out)
{
    uint32_t width = WebPDemuxGetI(demux, WEBP_FF_CANVAS_WIDTH), height = WebPDemuxGetI(demux, WEBP_FF_CANVAS_HEIGHT);
    WebPIterator frame;
    if (!WebPDemuxGetFrame(demux, 1, &frame))
        return lclip_fail(LCLIP_E_FORMAT, "%s: invalid WebP: no frame", label);
    /* Both sizes come from the same validated headers the caller checked. */
    lclip_status s = lclip_pixels_alloc(out, mode, (int)width, (int)height, label);
    if (s == LCLIP_OK) {
        memset(out->owned, 0, out->stride * (size_t)out->height);
        s = decode_frame(&frame, label, out);
    }
    WebPDemuxReleaseIterator(&frame);
    return s;
}

lclip_status lclip_decode_webp(const uint8_t *data, size_t size, const char *label, uint64_t max_pixels,
                               lclip_pixels *out)
{
    WebPBitstreamFeatures features;
    VP8StatusCode code = WebPGetFeatures(data, size, &features);
    if (code != VP8_STATUS_OK)
        return webp_fail(code, label);
    lclip_status s = lclip_pixels_check_size(label, (uint32_t)features.width, (uint32_t)features.height, max_pixels);
    if (s != LCLIP_OK)
        return s;
    WebPData input = {data, size};
    WebPDemuxer *demux = WebPDemux(&input);
    if (!demux)
        return lclip_fail(LCLIP_E_FORMAT, "%s: invalid WebP: truncated or malformed container", label);
    if (WebPDemuxGetI(demux, WEBP_FF_CANVAS_WIDTH) != (uint32_t)features.width ||
        WebPDemuxGetI(demux, WEBP_FF_CANVAS_HEIGHT) != (uint32_t)features.height)
        s = lclip_fail(LCLIP_E_FORMAT, "%s: invalid WebP: inconsistent canvas size", label);
    else
        s = decode_first_frame(demux, label, features.has_alpha ? LCLIP_MODE_RGBA : LCLIP_MODE_RGB, out);
    WebPDemuxDelete(demux);
    if (s != LCLIP_OK)
        lclip_pixels_free(out);
    return s;
}
