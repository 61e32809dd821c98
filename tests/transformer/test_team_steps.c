/* The steps that a team shares out, at sizes that do not divide evenly
 * (output widths that are not multiples of the 16-column blocks, members
 * with nothing to do): a linear layer with each epilogue (the activation
 * before or after a residual add) and a layer norm,
 * against double-precision definitions, for teams of 1 to 5. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "common/team.h"
#include "transformer/transformer.h"

#define ROWS 7
#define IN 19
#define OUT 37 /* 3 blocks of 16 columns, the last partial */

static float random_value(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return (float)((*seed >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static void fill(float *v, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        v[i] = random_value(&seed);
}

static double quick_gelu(double x)
{
    return x / (1.0 + exp(-1.702 * x));
}

/* want[r][o] = act(x W^T + b), plus residual when given. */
static void linear_reference(const float *x, const float *w, const float *b, int activate, const float *residual,
                             double *want)
{
    for (int r = 0; r < ROWS; r++)
        for (int o = 0; o < OUT; o++) {
            double sum = b[o];
            for (int i = 0; i < IN; i++)
                sum += (double)x[r * IN + i] * w[o * IN + i];
            if (activate)
                sum = quick_gelu(sum);
            want[r * OUT + o] = sum + (residual ? residual[r * OUT + o] : 0.0);
        }
}

static void assert_near(const float *got, const double *want, size_t n, const char *what, int members)
{
    for (size_t i = 0; i < n; i++)
        if (fabs(got[i] - want[i]) > 1e-5 * fmax(1.0, fabs(want[i])))
            fail_msg("%s, team of %d: element %zu is %.7g, expected %.7g", what, members, i, got[i], want[i]);
}

static void test_linear_steps_split_by_columns(void **state)
{
    (void)state;
    float x[ROWS * IN], w[OUT * IN], b[OUT], residual[ROWS * OUT], y[ROWS * OUT], sum[ROWS * OUT];
    double want[ROWS * OUT];
    fill(x, ROWS * IN, 1);
    fill(w, OUT * IN, 2);
    fill(b, OUT, 3);
    fill(residual, ROWS * OUT, 4);
    lclip_linear lin = {.weight = w, .bias = b, .out = OUT, .in = IN};
    for (int members = 1; members <= 5; members++) {
        lclip_team *team = lclip_team_start(members);
        assert_int_equal(lclip_team_size(team), members);

        assert_int_equal(lclip_linear_forward(team, &lin, x, y, ROWS), LCLIP_OK);
        linear_reference(x, w, b, 0, NULL, want);
        assert_near(y, want, ROWS * OUT, "y = x W^T + b", members);

        /* the epilogues, as the MLP's fc1 and the residual projections use them */
        lclip_linear_step activated = {.lin = &lin, .x = x, .y = y, .rows = ROWS, .activate = 1,
                                       .act = LCLIP_ACT_QUICK_GELU};
        assert_int_equal(lclip_linear_run(team, &activated), LCLIP_OK);
        linear_reference(x, w, b, 1, NULL, want);
        assert_near(y, want, ROWS * OUT, "y = quick_gelu(x W^T + b)", members);

        for (size_t i = 0; i < ROWS * OUT; i++)
            sum[i] = residual[i];
        lclip_linear_step added = {.lin = &lin, .x = x, .y = y, .rows = ROWS, .residual = sum};
        assert_int_equal(lclip_linear_run(team, &added), LCLIP_OK);
        linear_reference(x, w, b, 0, residual, want);
        assert_near(sum, want, ROWS * OUT, "residual += x W^T + b", members);

        /* a ResNet block's end: the ReLU applies to the sum, after the add */
        for (size_t i = 0; i < ROWS * OUT; i++)
            sum[i] = residual[i];
        lclip_linear_step block_end = {.lin = &lin, .x = x, .y = y, .rows = ROWS, .activate = 1,
                                       .act = LCLIP_ACT_RELU, .residual = sum, .activate_sum = 1};
        assert_int_equal(lclip_linear_run(team, &block_end), LCLIP_OK);
        for (size_t i = 0; i < ROWS * OUT; i++)
            want[i] = want[i] > 0.0 ? want[i] : 0.0;
        assert_near(sum, want, ROWS * OUT, "residual = relu(residual + x W^T + b)", members);
        lclip_team_stop(team);
    }
}

static void test_layer_norm_split_by_rows(void **state)
{
    (void)state;
    float x[ROWS * OUT], gamma[OUT], beta[OUT], y[ROWS * OUT];
    double want[ROWS * OUT];
    fill(x, ROWS * OUT, 5);
    fill(gamma, OUT, 6);
    fill(beta, OUT, 7);
    for (int r = 0; r < ROWS; r++) {
        double mean = 0, var = 0;
        for (int i = 0; i < OUT; i++)
            mean += x[r * OUT + i] / (double)OUT;
        for (int i = 0; i < OUT; i++)
            var += (x[r * OUT + i] - mean) * (x[r * OUT + i] - mean) / OUT;
        for (int i = 0; i < OUT; i++)
            want[r * OUT + i] = (x[r * OUT + i] - mean) / sqrt(var + 1e-5) * gamma[i] + beta[i];
    }
    lclip_layer_norm ln = {gamma, beta};
    for (int members = 1; members <= ROWS + 2; members += 2) { /* 9: more members than rows */
        lclip_team *team = lclip_team_start(members);
        lclip_layer_norm_forward(team, &ln, 1e-5f, x, y, ROWS, OUT);
        assert_near(y, want, ROWS * OUT, "layer norm", members);
        lclip_team_stop(team);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_steps_split_by_columns),
        cmocka_unit_test(test_layer_norm_split_by_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
