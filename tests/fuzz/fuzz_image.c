#include "fuzz_image.h"

#include <math.h>
#include <string.h>

#include "fuzz_support.h"
#include "image/image_input.h"

/* Small enough that decoding stays fast under ASan, large enough for every
 * real code path (interlacing, progressive scans, restart intervals). */
enum { MAX_PIXELS = 1 << 18, MAX_CROP = 24 };

/* A log line is one non-empty line that fits libclip's 1 KiB buffer. */
static void check_log_line(void *user, lclip_log_level level, const char *message)
{
    (void)user;
    FUZZ_REQUIRE(level == LCLIP_LOG_WARNING || level == LCLIP_LOG_INFO);
    size_t len = strlen(message);
    FUZZ_REQUIRE(len > 0 && len < 1024 && !strchr(message, '\n'));
}

int fuzz_image_input(const uint8_t *data, size_t size, int exif_orientation)
{
    /* Vary the geometry by input length, not by content, so that the
     * signature bytes stay under the mutator's control. */
    static const int geometry[3][2] = {{8, 8}, {24, 16}, {5, 7}}; /* resize, crop */
    const int *g = geometry[size % 3];
    lclip_vision_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.resize_size = g[0];
    cfg.crop_size = g[1];
    for (int c = 0; c < 3; c++) {
        cfg.mean[c] = 0.5f;
        cfg.std[c] = 0.25f;
    }
    /* Warnings reach a logger, so the fuzzer walks the warning paths too. */
    const lclip_image_input_options opts = {MAX_PIXELS, exif_orientation, {check_log_line, NULL}};
    float out[3 * MAX_CROP * MAX_CROP];
    size_t n = 3 * (size_t)g[1] * (size_t)g[1];
    lclip_status s = lclip_image_input_memory(data, size, &opts, &cfg, out);
    fuzz_check_status(s);
    if (s == LCLIP_OK) {
        /* Normalised 8-bit values: (v / 255 - 0.5) / 0.25 lies in [-2, 2]. */
        for (size_t i = 0; i < n; i++)
            FUZZ_REQUIRE(out[i] >= -2.0f && out[i] <= 2.0f);
    }
    return 0;
}
