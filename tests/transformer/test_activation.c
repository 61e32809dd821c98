/* The vectorised activations against double-precision definitions, over the
 * whole range activations take (and beyond, where exp would overflow). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "transformer/activation.h"

#define N 200001

static double quick_gelu_ref(double x)
{
    return x / (1.0 + exp(-1.702 * x));
}

static double gelu_ref(double x)
{
    return 0.5 * x * erfc(-x / sqrt(2.0));
}

static void check(lclip_activation act, double (*ref)(double), double abs_limit)
{
    float *x = malloc(N * sizeof *x);
    for (int i = 0; i < N; i++)
        x[i] = -100.0f + 200.0f * (float)i / (N - 1);
    float *y = malloc(N * sizeof *y);
    for (int i = 0; i < N; i++)
        y[i] = x[i];
    lclip_activation_apply(act, y, N);
    double worst = 0;
    for (int i = 0; i < N; i++) {
        double want = ref(x[i]);
        /* relative for large outputs, absolute near zero */
        double err = fabs(y[i] - want) / fmax(1.0, fabs(want));
        worst = fmax(worst, err);
        assert_true(isfinite(y[i]));
    }
    print_message("  max error %.3g\n", worst);
    assert_true(worst <= abs_limit);
    free(y);
    free(x);
}

static void test_quick_gelu(void **state)
{
    (void)state;
    check(LCLIP_ACT_QUICK_GELU, quick_gelu_ref, 1e-6);
}

static void test_exact_gelu(void **state)
{
    (void)state;
    check(LCLIP_ACT_GELU, gelu_ref, 1e-6);
}

static double relu_ref(double x)
{
    return x > 0.0 ? x : 0.0;
}

static void test_relu(void **state)
{
    (void)state;
    check(LCLIP_ACT_RELU, relu_ref, 0.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quick_gelu),
        cmocka_unit_test(test_exact_gelu),
        cmocka_unit_test(test_relu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
