/* The tokenizer on arbitrary bytes (cut at the first NUL, as a C string),
 * with the CLIP vocabulary from the fixtures or a synthetic one of the same
 * shape. Accepted texts must come out framed as clip.tokenize frames them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_support.h"
#include "text/tokenizer.h"
#include "text/vocab.h"

enum { CONTEXT = 77, MAX_BYTES = 1 << 16 };

static lclip_tokenizer *tokenizer(void)
{
    static lclip_tokenizer *tok;
    if (!tok && lclip_tokenizer_open(NULL, fuzz_vocab_path(), &tok) != LCLIP_OK) {
        fprintf(stderr, "cannot load %s: %s\n", fuzz_vocab_path(), lclip_last_error());
        abort();
    }
    return tok;
}

static void check_framing(const int32_t *ids, size_t n, size_t n_vocab)
{
    FUZZ_REQUIRE(n >= 2 && n <= CONTEXT);
    FUZZ_REQUIRE(ids[n - 1] == (int32_t)(n_vocab - 1)); /* the end token is the last id */
    FUZZ_REQUIRE(ids[0] == (int32_t)(n_vocab - 2));
    for (size_t i = 0; i < n; i++)
        FUZZ_REQUIRE(ids[i] >= 0 && (size_t)ids[i] < n_vocab);
    for (size_t i = n; i < CONTEXT; i++)
        FUZZ_REQUIRE(ids[i] == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lclip_tokenizer *tok = tokenizer();
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    /* The special ids are the vocabulary's last two, whichever file it came from. */
    size_t n_vocab = 512 + LCLIP_BPE_MERGES + 2;
    int32_t cut[CONTEXT], whole[CONTEXT];
    size_t n_cut = 0, n_whole = 0;
    lclip_status s = lclip_tokenizer_encode(tok, text, MAX_BYTES, CONTEXT, 1, cut, &n_cut);
    fuzz_check_status(s);
    if (s == LCLIP_OK)
        check_framing(cut, n_cut, n_vocab);
    /* Without truncation: the same ids, or TOO_LARGE exactly when truncation cut. */
    lclip_status t = lclip_tokenizer_encode(tok, text, MAX_BYTES, CONTEXT, 0, whole, &n_whole);
    fuzz_check_status(t);
    if (s == LCLIP_OK && t == LCLIP_OK)
        FUZZ_REQUIRE(n_cut == n_whole && memcmp(cut, whole, sizeof cut) == 0);
    else if (s == LCLIP_OK)
        FUZZ_REQUIRE(t == LCLIP_E_TOO_LARGE && n_cut == CONTEXT);
    else
        FUZZ_REQUIRE(t == s);
    free(text);
    return 0;
}
