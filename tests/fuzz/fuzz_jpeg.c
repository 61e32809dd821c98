/* JPEG decode + preprocess from memory, EXIF orientation applied (seeded
 * with baseline, progressive, restart-marker, grey, CMYK and YCCK JPEGs). */
#include "fuzz_image.h"
#include "fuzz_support.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_image_input(data, size, 1);
}
