/* PNG decode + preprocess from memory (seeded with PNGs of every colour
 * type, depth and interlacing). */
#include "fuzz_image.h"
#include "fuzz_support.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_image_input(data, size, 0);
}
