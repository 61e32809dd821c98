/* The classifier file reader on arbitrary bytes. The first byte selects: odd,
 * the rest's trailing CRC-32 is recomputed first, so that the fuzzer gets
 * past the checksum to the fields' own checks; even, the rest as given.
 * Whatever loads must be within the documented limits, apply cleanly, and
 * save back to exactly the bytes it came from (the format has one encoding
 * per classifier). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "classify/classifier.h"
#include "fuzz_support.h"

static void check_loaded(const lclip_classifier *cls, const uint8_t *bytes, size_t size)
{
    size_t k = lclip_classifier_classes(cls), dim = lclip_classifier_dim(cls);
    FUZZ_REQUIRE(k >= 1 && k <= LCLIP_CLASSIFIER_MAX_CLASSES && dim >= 1 && dim <= LCLIP_CLASSIFIER_MAX_DIM);
    FUZZ_REQUIRE(isfinite(lclip_classifier_logit_scale(cls)));
    for (size_t c = 0; c < k; c++) {
        const char *name = lclip_classifier_class_name(cls, c);
        FUZZ_REQUIRE(name && lclip_classifier_valid_utf8(name, strlen(name)) && name[0] != '\0');
    }
    /* A unit embedding along the first axis: finite probabilities summing to 1. */
    float *e = calloc(dim, sizeof *e), *probs = malloc(k * sizeof *probs);
    FUZZ_REQUIRE(e && probs);
    e[0] = 1.0f;
    FUZZ_REQUIRE(lclip_classifier_apply(cls, e, 1, dim, NULL, probs) == LCLIP_OK);
    double sum = 0;
    for (size_t c = 0; c < k; c++) {
        FUZZ_REQUIRE(probs[c] >= 0.0f && probs[c] <= 1.0f);
        sum += probs[c];
    }
    FUZZ_REQUIRE(fabs(sum - 1.0) < 1e-3);
    free(e);
    free(probs);
    const char *path = fuzz_scratch_path("saved.lclip");
    FUZZ_REQUIRE(lclip_classifier_save(cls, path) == LCLIP_OK);
    FILE *f = fopen(path, "rb");
    FUZZ_REQUIRE(f);
    uint8_t *saved = malloc(size + 1);
    FUZZ_REQUIRE(saved);
    size_t n = fread(saved, 1, size + 1, f);
    fclose(f);
    FUZZ_REQUIRE(n == size && memcmp(saved, bytes, size) == 0);
    free(saved);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t n = size - 1;
    uint8_t *bytes = malloc(n ? n : 1); /* exact size: an overread is ASan's to see */
    if (!bytes)
        return 0;
    memcpy(bytes, data + 1, n);
    if ((data[0] & 1) && n >= 4) {
        uLong crc = crc32(crc32(0L, Z_NULL, 0), bytes, (uInt)(n - 4));
        for (int i = 0; i < 4; i++)
            bytes[n - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
    }
    lclip_classifier *cls = (lclip_classifier *)bytes;
    lclip_status s = lclip_classifier_load_memory(bytes, n, &cls);
    fuzz_check_status(s);
    FUZZ_REQUIRE(s == LCLIP_OK || s == LCLIP_E_FORMAT || s == LCLIP_E_UNSUPPORTED || s == LCLIP_E_NOMEM);
    FUZZ_REQUIRE((s == LCLIP_OK) == (cls != NULL));
    if (cls)
        check_loaded(cls, bytes, n);
    lclip_classifier_free(cls);
    free(bytes);
    return 0;
}
