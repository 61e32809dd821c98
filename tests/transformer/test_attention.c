/* Multi-head attention against a double-precision definition: a sequence
 * attending to itself (causal and not), and queries of their own over a
 * sequence's keys and values, as the ResNet's attention pool asks with its
 * one mean-token query per image. Each on every engine that runs attention's
 * products: none given (the CBLAS), the CBLAS engine, and oneDNN's where it
 * is built, on one thread and on its own threads. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "common/error.h"
#include "transformer/attention.h"

#define WIDTH 12
#define HEADS 3
#define ROWS 9 /* two sequences: rows [1, 5) and [5, 9); row 0 belongs to neither */

static void fill(float *v, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        v[i] = (float)((seed >> 8) & 0xffff) / 16384.0f - 2.0f;
    }
}

/* One query row q[WIDTH] over keys and values rows [start, start + n),
 * query index i of the sequence when causal (it sees keys 0..i). */
static void reference_row(const float *q, const float *k, const float *v, int start, int n, int causal, int i,
                          double *out)
{
    int d = WIDTH / HEADS, visible = causal ? i + 1 : n;
    for (int h = 0; h < HEADS; h++) {
        double scores[ROWS], max = -INFINITY, sum = 0;
        for (int j = 0; j < visible; j++) {
            double dot = 0;
            for (int c = h * d; c < (h + 1) * d; c++)
                dot += (double)q[c] * k[(start + j) * WIDTH + c];
            scores[j] = dot / sqrt((double)d);
            max = fmax(max, scores[j]);
        }
        for (int j = 0; j < visible; j++)
            sum += scores[j] = exp(scores[j] - max);
        for (int c = h * d; c < (h + 1) * d; c++) {
            double acc = 0;
            for (int j = 0; j < visible; j++)
                acc += scores[j] / sum * v[(start + j) * WIDTH + c];
            out[c] = acc;
        }
    }
}

static void assert_row_near(const float *got, const double *want, const char *what, int row)
{
    for (int c = 0; c < WIDTH; c++)
        if (fabs(got[c] - want[c]) > 2e-5 * fmax(1.0, fabs(want[c])))
            fail_msg("%s, row %d column %d: %.7g, expected %.7g", what, row, c, got[c], want[c]);
}

static void sequences_attend_to_themselves(const lclip_gemm *gemm)
{
    float q[ROWS * WIDTH], k[ROWS * WIDTH], v[ROWS * WIDTH], out[ROWS * WIDTH], scores[ROWS * ROWS];
    fill(q, ROWS * WIDTH, 1);
    fill(k, ROWS * WIDTH, 2);
    fill(v, ROWS * WIDTH, 3);
    lclip_sequence sequences[2] = {{1, 4}, {5, 4}};
    for (int causal = 0; causal < 2; causal++)
        for (int s = 0; s < 2; s++) {
            for (int h = 0; h < HEADS; h++)
                lclip_attention_head(gemm, q, k, v, out, WIDTH, HEADS, h, &sequences[s], causal, scores);
            for (int i = 0; i < sequences[s].length; i++) {
                int row = sequences[s].start + i;
                double want[WIDTH];
                reference_row(q + row * WIDTH, k, v, sequences[s].start, sequences[s].length, causal, i, want);
                assert_row_near(out + row * WIDTH, want, causal ? "causal self-attention" : "self-attention", row);
            }
        }
}

/* Query row i of q (and of out) attends to sequence i: the attention pool. */
static void one_query_per_sequence(const lclip_gemm *gemm)
{
    float q[2 * WIDTH], k[ROWS * WIDTH], v[ROWS * WIDTH], out[2 * WIDTH], scores[ROWS];
    fill(q, 2 * WIDTH, 4);
    fill(k, ROWS * WIDTH, 5);
    fill(v, ROWS * WIDTH, 6);
    lclip_sequence sequences[2] = {{1, 3}, {4, 5}};
    for (int s = 0; s < 2; s++) {
        for (int h = 0; h < HEADS; h++)
            lclip_attention_head_queries(gemm, q, s, 1, k, v, out, WIDTH, HEADS, h, &sequences[s], 0, scores);
        double want[WIDTH];
        reference_row(q + s * WIDTH, k, v, sequences[s].start, sequences[s].length, 0, 0, want);
        assert_row_near(out + s * WIDTH, want, "one query over a sequence", s);
    }
}

#define ENGINES 4

typedef struct engines {
    lclip_gemm *gemm[ENGINES]; /* [0] NULL; NULL too where that engine is not built */
    const char *name[ENGINES];
} engines;

static int setup(void **state)
{
    engines *e = calloc(1, sizeof *e);
    if (!e)
        return -1;
    e->name[0] = "no engine";
    static const struct {
        int engine, n_threads;
        const char *name;
    } wanted[ENGINES - 1] = {{LCLIP_ENGINE_CBLAS, 1, "cblas"},
                             {LCLIP_ENGINE_ONEDNN, 1, "onednn, 1 thread"},
                             {LCLIP_ENGINE_ONEDNN, 0, "onednn, its own threads"}};
    for (int i = 0; i < ENGINES - 1; i++) {
        lclip_status s = lclip_gemm_open(wanted[i].engine, LCLIP_PRECISION_F32, wanted[i].n_threads, NULL,
                                         &e->gemm[i + 1]);
        if (s != LCLIP_OK && !(s == LCLIP_E_UNSUPPORTED && wanted[i].engine == LCLIP_ENGINE_ONEDNN)) {
            fprintf(stderr, "opening %s: %s\n", wanted[i].name, lclip_last_error());
            return -1;
        }
        if (s != LCLIP_OK)
            fprintf(stderr, "[  SKIPPED ] %s: %s\n", wanted[i].name, lclip_last_error());
        e->name[i + 1] = e->gemm[i + 1] ? wanted[i].name : NULL;
    }
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    engines *e = *state;
    for (int i = 0; i < ENGINES; i++)
        lclip_gemm_close(e->gemm[i]);
    free(e);
    return 0;
}

static void on_every_engine(void **state, void (*check)(const lclip_gemm *gemm))
{
    const engines *e = *state;
    for (int engine = 0; engine < ENGINES; engine++)
        if (e->name[engine]) {
            print_message("%s\n", e->name[engine]);
            check(e->gemm[engine]);
        }
}

static void test_sequences_attend_to_themselves(void **state)
{
    on_every_engine(state, sequences_attend_to_themselves);
}

static void test_one_query_per_sequence(void **state)
{
    on_every_engine(state, one_query_per_sequence);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sequences_attend_to_themselves),
        cmocka_unit_test(test_one_query_per_sequence),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
