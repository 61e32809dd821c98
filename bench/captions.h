#ifndef BENCH_CAPTIONS_H
#define BENCH_CAPTIONS_H

#define BENCH_N_CAPTIONS 64
#define BENCH_N_LONG_TEXTS 32

/* Realistic captions, 5 to 20 tokens each with the start and end tokens. */
extern const char *const bench_captions[BENCH_N_CAPTIONS];

/* Long text number i (0 <= i < BENCH_N_LONG_TEXTS): more than 77 tokens, so
 * that it fills the whole context once truncated. malloc'd; NULL when out of
 * memory. */
char *bench_long_text(int i);

#endif
