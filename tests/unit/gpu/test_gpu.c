/* Tests of gpu/ (gpu.h, cpu.c, gpu.c): each CPU-path operation against a
 * naive reference written here (random inputs, odd sizes, k = 1, empty
 * batches), the device path on the CPU stand-in giving the same results,
 * an injected device failure falling back with one warning, and no
 * device meaning the CPU path with one warning per process.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "em_test.h"
#include "gpu/backend.h"
#include "gpu/gpu.h"
#include "runtime/mem.h"

/* Uniform in [-1, 1). */
static double unit(em_test_rng *r)
{
    return (double)em_test_below(r, 1u << 20) / (1 << 19) - 1.0;
}

static double *random_array(em_test_rng *r, size_t n)
{
    double *x = calloc(n > 0 ? n : 1, sizeof(double));

    for (size_t i = 0; i < n; i++)
        x[i] = unit(r);
    return x;
}

/* Counts the warnings the library logs. */
static void count_line(em_log_level level, const char *line, void *ud)
{
    if (level == EM_LOG_WARN)
        (*(int *)ud)++;
}

/* ---- naive references ---- */

static void naive_kmeans(const double *x, size_t n, size_t d,
                         const double *c, size_t k, double *acc)
{
    for (size_t i = 0; i < n; i++) {
        double best = INFINITY;
        size_t bj = 0;
        for (size_t j = 0; j < k; j++) {
            double s = 0;
            for (size_t t = 0; t < d; t++)
                s += pow(x[i * d + t] - c[j * d + t], 2);
            if (s < best) {
                best = s;
                bj = j;
            }
        }
        acc[bj]++;
        acc[k + k * d] += best;
        for (size_t t = 0; t < d; t++)
            acc[k + bj * d + t] += x[i * d + t];
    }
}

/* log(1 + e^m) - y m and its derivative, written directly (fine for the
 * moderate margins of these inputs). */
static void naive_logistic(const double *x, const double *y, size_t n,
                           size_t d, const double *w, bool icpt,
                           double *grad, double *loss)
{
    for (size_t i = 0; i < n; i++) {
        double m = icpt ? w[d] : 0, p;
        for (size_t j = 0; j < d; j++)
            m += w[j] * x[i * d + j];
        *loss += log(1 + exp(m)) - y[i] * m;
        p = exp(m) / (1 + exp(m));
        for (size_t j = 0; j < d; j++)
            grad[j] += (p - y[i]) * x[i * d + j];
        if (icpt)
            grad[d] += p - y[i];
    }
}

static bool naive_bit(const double *x, const double *planes, size_t d,
                      int i)
{
    double s = 0;

    for (size_t j = 0; j < d; j++)
        s += x[j] * planes[(size_t)i * d + j];
    return s >= 0;
}

static void assert_close(const double *got, const double *want, size_t n,
                         double tol)
{
    for (size_t i = 0; i < n; i++)
        assert_true(fabs(got[i] - want[i]) <=
                    tol * (1 + fabs(want[i])));
}

/* ---- the CPU path ---- */

static void check_kmeans(size_t n, size_t d, size_t k, uint64_t seed)
{
    em_test_rng r = {seed};
    double *x = random_array(&r, n * d), *c = random_array(&r, k * d);
    double *got = calloc(k + k * d + 1, sizeof(double));
    double *want = calloc(k + k * d + 1, sizeof(double));

    em__gpu_cpu_kmeans(x, n, d, c, k, got);
    naive_kmeans(x, n, d, c, k, want);
    assert_close(got, want, k + k * d + 1, 1e-12);
    free(x);
    free(c);
    free(got);
    free(want);
}

static void test_gpu_kmeans_matches_naive(void **state)
{
    check_kmeans(1001, 7, 13, 1);
    check_kmeans(37, 3, 1, 2);   /* k = 1: every point to it */
    check_kmeans(0, 5, 4, 3);    /* an empty batch adds nothing */
    check_kmeans(5, 1, 9, 4);    /* more centres than points */
}

static void test_gpu_kmeans_ties_first(void **state)
{
    double x[2] = {0, 0}, c[4] = {1, 0, -1, 0}, acc[2 + 4 + 1] = {0};

    em__gpu_cpu_kmeans(x, 1, 2, c, 2, acc);
    assert_true(acc[0] == 1 && acc[1] == 0); /* equidistant: the first */
    assert_true(acc[6] == 1);
}

static void check_logistic(size_t n, size_t d, bool icpt, uint64_t seed)
{
    em_test_rng r = {seed};
    double *x = random_array(&r, n * d), *w = random_array(&r, d + 1);
    double *y = calloc(n + 1, sizeof(double));
    double *got = calloc(d + 1, sizeof(double));
    double *want = calloc(d + 1, sizeof(double));
    double gl = 0, wl = 0;

    for (size_t i = 0; i < n; i++)
        y[i] = (double)em_test_below(&r, 2);
    em__gpu_cpu_logistic(x, y, n, d, w, icpt, got, &gl);
    naive_logistic(x, y, n, d, w, icpt, want, &wl);
    assert_close(got, want, d + 1, 1e-11);
    assert_close(&gl, &wl, 1, 1e-11);
    free(x);
    free(w);
    free(y);
    free(got);
    free(want);
}

static void test_gpu_logistic_matches_naive(void **state)
{
    check_logistic(999, 11, true, 5);
    check_logistic(31, 4, false, 6);
    check_logistic(0, 3, true, 7);
}

static void test_gpu_logistic_large_margins(void **state)
{
    /* margins of +-800: the stable form stays finite where the naive one
     * overflows; the loss is |m| for the wrong label, 0 for the right */
    double x[2] = {1, -1}, y[2] = {0, 0}, w[1] = {800}, g[1] = {0}, l = 0;

    em__gpu_cpu_logistic(x, y, 2, 1, w, false, g, &l);
    assert_true(fabs(l - 800) < 1e-9);
    assert_true(fabs(g[0] - 1) < 1e-12); /* (1 - 0) * 1 + (0 - 0) * -1 */
}

static void check_signs(size_t n, size_t d, int bits, uint64_t seed)
{
    em_test_rng r = {seed};
    double *x = random_array(&r, n * d);
    double *planes = random_array(&r, (size_t)bits * d);
    size_t nb = ((size_t)bits + 7) / 8;
    uint8_t *sigs = malloc(n * nb + 1);

    memset(sigs, 0xff, n * nb + 1);
    em__gpu_cpu_signs(x, n, d, planes, bits, sigs);
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < (int)nb * 8; b++) {
            bool got = (sigs[i * nb + (size_t)b / 8] >> (b % 8)) & 1;
            assert_true(got == (b < bits &&
                                naive_bit(x + i * d, planes, d, b)));
        }
    assert_int_equal(sigs[n * nb], 0xff); /* nothing written past */
    free(x);
    free(planes);
    free(sigs);
}

static void test_gpu_signs_match_naive(void **state)
{
    check_signs(101, 9, 13, 8); /* odd bits: the last byte's top clear */
    check_signs(7, 1, 64, 9);
    check_signs(0, 4, 8, 10);
}

static void check_gemm(bool ta, bool tb, size_t m, size_t n, size_t k)
{
    em_test_rng r = {m * 100 + n * 10 + k + ta * 2 + tb};
    double *a = random_array(&r, m * k), *b = random_array(&r, k * n);
    double *c = random_array(&r, m * n), *want = malloc((m * n + 1) * 8);

    memcpy(want, c, m * n * sizeof(double));
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++)
            for (size_t l = 0; l < k; l++)
                want[i * n + j] += (ta ? a[l * m + i] : a[i * k + l]) *
                                   (tb ? b[j * k + l] : b[l * n + j]);
    em__gpu_gemm(NULL, ta, tb, m, n, k, a, b, c);
    assert_close(c, want, m * n, 1e-12);
    free(a);
    free(b);
    free(c);
    free(want);
}

static void test_gpu_gemm_matches_naive(void **state)
{
    for (int t = 0; t < 4; t++) {
        check_gemm(t & 1, t & 2, 7, 5, 3);
        check_gemm(t & 1, t & 2, 1, 9, 13);
        check_gemm(t & 1, t & 2, 4, 1, 1);
        check_gemm(t & 1, t & 2, 3, 2, 0); /* k = 0: c unchanged */
    }
}

/* ---- the device path, on the CPU stand-in ---- */

/* Runs the three row operations through a device context and checks
 * them against the CPU path on the same rows. */
static void run_device_ops(em__gpu *g)
{
    enum { N = 53, D = 6, K = 5, BITS = 19 };
    em_test_rng r = {11};
    double *rows = em__gpu_rows(g, N, D), c[K * D], w[D + 1];
    double acc[K + K * D + 1] = {0}, want[K + K * D + 1] = {0};
    double gr[D + 1] = {0}, wg[D + 1] = {0}, l = 0, wl = 0;
    double planes[BITS * D];
    uint8_t sigs[N * 3], wsigs[N * 3];

    assert_non_null(rows);
    for (size_t i = 0; i < N * D; i++)
        rows[i] = unit(&r);
    for (size_t i = 0; i < N; i++)
        rows[N * D + i] = (double)em_test_below(&r, 2);
    for (size_t i = 0; i < K * D; i++)
        c[i] = unit(&r);
    for (size_t i = 0; i < D + 1; i++)
        w[i] = unit(&r);
    for (size_t i = 0; i < BITS * D; i++)
        planes[i] = unit(&r);
    em__gpu_kmeans(g, c, K, acc);
    em__gpu_logistic(g, w, true, gr, &l);
    em__gpu_signs(g, planes, BITS, sigs);
    em__gpu_cpu_kmeans(rows, N, D, c, K, want);
    em__gpu_cpu_logistic(rows, rows + N * D, N, D, w, true, wg, &wl);
    em__gpu_cpu_signs(rows, N, D, planes, BITS, wsigs);
    assert_memory_equal(acc, want, sizeof(acc));
    assert_memory_equal(gr, wg, sizeof(gr));
    assert_true(l == wl);
    assert_memory_equal(sigs, wsigs, sizeof(sigs));
}

static void test_gpu_fake_device_same_results(void **state)
{
    int warnings = 0;
    em__gpu *g;

    em_log_set(count_line, &warnings);
    em__gpu_test_fake_device(true);
    assert_int_equal(em_gpu_count(), 1);
    assert_non_null(g = em__gpu_open(true));
    run_device_ops(g);
    em__gpu_close(g);
    em__gpu_test_fake_device(false);
    em_log_set(NULL, NULL);
    assert_int_equal(warnings, 0);
}

static void test_gpu_injected_failure_falls_back_once(void **state)
{
    int warnings = 0;
    em__gpu *g;

    em_log_set(count_line, &warnings);
    em__gpu_test_fake_device(true);
    assert_non_null(g = em__gpu_open(true));
    em__gpu_test_fail(1); /* the first operation: then the CPU path */
    run_device_ops(g);
    em__gpu_close(g);
    em__gpu_test_fail(0);
    em__gpu_test_fake_device(false);
    em_log_set(NULL, NULL);
    assert_int_equal(warnings, 1);
}

static void test_gpu_off_or_missing_is_cpu(void **state)
{
    int warnings = 0;

    em_log_set(count_line, &warnings);
    assert_null(em__gpu_open(false));
    assert_int_equal(warnings, 0);
    setenv("EMBER_GPU_DEVICE", "none", 1); /* a worker without --gpu */
    em__gpu_test_reset();
    assert_null(em__gpu_open(true));
    assert_null(em__gpu_open(true));
    assert_int_equal(warnings, 1); /* once per process */
    em__gpu_test_fake_device(true);
    setenv("EMBER_GPU_DEVICE", "3", 1); /* not one of its devices */
    assert_null(em__gpu_open(true));
    unsetenv("EMBER_GPU_DEVICE");
    em__gpu_test_fake_device(false);
    em_log_set(NULL, NULL);
}

static void test_gpu_device_info(void **state)
{
    em_gpu_info info;
    int n = em_gpu_count();

    assert_int_equal(em_gpu_device_info(n, &info), EM_EINVAL);
    assert_int_equal(em_gpu_device_info(-1, &info), EM_EINVAL);
    em__gpu_test_fake_device(true);
    assert_int_equal(em_gpu_device_info(0, &info), EM_OK);
    assert_string_equal(info.name, "CPU stand-in");
    em__gpu_test_fake_device(false);
    if (em_gpu_build() != NULL)
        assert_memory_equal(em_gpu_build(), "CUDA ", 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_gpu_kmeans_matches_naive),
        EM_TEST(test_gpu_kmeans_ties_first),
        EM_TEST(test_gpu_logistic_matches_naive),
        EM_TEST(test_gpu_logistic_large_margins),
        EM_TEST(test_gpu_signs_match_naive),
        EM_TEST(test_gpu_gemm_matches_naive),
        EM_TEST(test_gpu_fake_device_same_results),
        EM_TEST(test_gpu_injected_failure_falls_back_once),
        EM_TEST(test_gpu_off_or_missing_is_cpu),
        EM_TEST(test_gpu_device_info),
    };

    return cmocka_run_group_tests_name("gpu", tests, NULL, NULL);
}
