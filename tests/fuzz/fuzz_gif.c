/* GIF decode + preprocess from memory (seeded with GIFs with and without a
 * palette, interlaced, transparent, animated, and a frame off the screen). */
#include "fuzz_image.h"
#include "fuzz_support.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_image_input(data, size, 0);
}
