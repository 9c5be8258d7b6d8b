/* GPU-only tests of gpu/ (label gpu): every device operation against the
 * CPU path on the same rows, within the tolerance docs/gpu.md states
 * (relative 1e-9 on sums, losses and gradients). Skips, saying why, on a
 * machine without a CUDA device.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "em_test.h"
#include "gpu/backend.h"
#include "gpu/gpu.h"

#define N 20011 /* odd, more than one block */
#define D 33
#define K 17
#define BITS 45

static double unit(em_test_rng *r)
{
    return (double)em_test_below(r, 1u << 20) / (1 << 19) - 1.0;
}

static void assert_close(const double *got, const double *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        assert_true(fabs(got[i] - want[i]) <= 1e-9 * (1 + fabs(want[i])));
}

static void test_gpu_cuda_matches_cpu(void **state)
{
    static double c[K * D], w[D + 1], planes[BITS * D], a[K * D];
    static double acc[K + K * D + 1], wacc[K + K * D + 1], g[D + 1],
        wg[D + 1], prod[K * K], wprod[K * K];
    static uint8_t sigs[N * 6], wsigs[N * 6];
    em_test_rng r = {3};
    double *rows, l = 0, wl = 0;
    em__gpu *gpu;

    if (em_gpu_count() == 0) {
        printf("SKIP: no CUDA device\n");
        skip();
    }
    assert_non_null(gpu = em__gpu_open(true));
    assert_non_null(rows = em__gpu_rows(gpu, N, D));
    for (size_t i = 0; i < N * D; i++)
        rows[i] = unit(&r);
    for (size_t i = 0; i < N; i++)
        rows[N * D + i] = (double)em_test_below(&r, 2);
    for (size_t i = 0; i < K * D; i++)
        c[i] = a[i] = unit(&r);
    for (size_t i = 0; i < D + 1; i++)
        w[i] = unit(&r);
    for (size_t i = 0; i < BITS * D; i++)
        planes[i] = unit(&r);
    em__gpu_kmeans(gpu, c, K, acc);
    em__gpu_cpu_kmeans(rows, N, D, c, K, wacc);
    assert_close(acc, wacc, K + K * D + 1);
    em__gpu_logistic(gpu, w, true, g, &l);
    em__gpu_cpu_logistic(rows, rows + N * D, N, D, w, true, wg, &wl);
    assert_close(g, wg, D + 1);
    assert_close(&l, &wl, 1);
    em__gpu_signs(gpu, planes, BITS, sigs);
    em__gpu_cpu_signs(rows, N, D, planes, BITS, wsigs);
    assert_memory_equal(sigs, wsigs, sizeof(sigs));
    em__gpu_gemm(gpu, false, true, K, K, D, a, c, prod);
    em__gpu_cpu_gemm(false, true, K, K, D, a, c, wprod);
    assert_close(prod, wprod, K * K);
    em__gpu_close(gpu);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_gpu_cuda_matches_cpu),
    };

    return cmocka_run_group_tests_name("gpu_cuda", tests, NULL, NULL);
}
