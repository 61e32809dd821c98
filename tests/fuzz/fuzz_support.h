/* Shared by the fuzz targets: a private scratch directory for targets that
 * must hand the library real files, the self-made BPE vocabulary used when
 * the fixtures are absent, and a crash-on-violation check that libFuzzer
 * and the ctest replay both report. */
#ifndef LCLIP_TESTS_FUZZ_SUPPORT_H
#define LCLIP_TESTS_FUZZ_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include "libclip.h"

/* libFuzzer's entry point; also called by replay_main.c. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A directory private to this process, created on first use and removed at exit. */
const char *fuzz_scratch_dir(void);
/* dir/name in a static buffer (valid until the next call). */
const char *fuzz_scratch_path(const char *name);
/* Writes (or, with data NULL, removes) a file; aborts on I/O failure. */
void fuzz_write_file(const char *path, const void *data, size_t size);

/* A status the API may return, with a message when it is a failure. */
void fuzz_check_status(lclip_status s);

/* Aborts with a message: an invariant of the library's contract broke. */
#define FUZZ_REQUIRE(cond)                                                                                     \
    do {                                                                                                       \
        if (!(cond))                                                                                           \
            fuzz_violation(__FILE__, __LINE__, #cond);                                                         \
    } while (0)
_Noreturn void fuzz_violation(const char *file, int line, const char *what);

/* Tensor i of a parsed table (whose bounds the caller checked): its bytes
 * are shape x dtype size, names are sorted and findable, and its span's
 * ends are read, so that ASan sees any escape from the buffer. */
struct lclip_safetensors;
void fuzz_check_table_entry(const struct lclip_safetensors *st, size_t i);

/* Path of a BPE vocabulary (bpe_simple_vocab_16e6.txt.gz format): the
 * fixtures' when LCLIP_FUZZ_VOCAB or the fixtures directory provides it,
 * otherwise a synthetic one with the same structure (48894 merges) written
 * into the scratch directory. */
const char *fuzz_vocab_path(void);

#endif
