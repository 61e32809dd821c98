/* WebP decode + preprocess from memory (seeded with lossy, lossless and
 * alpha WebPs). */
#include "fuzz_image.h"
#include "fuzz_support.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_image_input(data, size, 0);
}
