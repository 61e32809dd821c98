/* BMP decode + preprocess from memory (seeded with 24-bit, 8-bit palette and
 * grey BMPs, both header kinds, both row orders, and refused variants). */
#include "fuzz_image.h"
#include "fuzz_support.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_image_input(data, size, 0);
}
