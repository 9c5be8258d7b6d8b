/* Tests of the learning operators with ember.gpu on (gpu/gpu.h): k-means,
 * logistic regression, the MLP and the LSH index give the results of the
 * existing CPU code with GPU operators off -- through the device path on the CPU stand-in, after
 * an injected device failure (one warning), and with no device at all
 * (one warning per process) -- in local mode on 1 and 3 threads.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "em_test.h"
#include "ember/ml.h"
#include "ember/ml_ad.h"
#include "ember/ml_cluster.h"
#include "ember/ml_linear.h"
#include "gpu/gpu.h"

#define NPTS 601
#define DIM 7

static const char *masters[] = {"local[1]", "local[3]"};

/* The relative tolerance of results with GPU operators on: the stand-in
 * runs the same arithmetic in the same order, so they agree to rounding
 * of the partition sums' order at most. */
#define TOL 1e-9

static void count_line(em_log_level level, const char *line, void *ud)
{
    (*(int *)ud)++;
}

static em_ctx *ctx_with_gpu(const char *master, int gpu)
{
    em_conf c = {0};

    c.master = master;
    c.progress = -1;
    c.gpu = gpu;
    return em_ctx_create(&c);
}

/* Points around two means: [label, features] when labelled, else the
 * features alone. */
static em_val *make_points(em_arena *a, bool labelled)
{
    em_test_rng r = {21};
    em_val *pts = em_arena_alloc(a, NPTS * sizeof(em_val));

    for (int i = 0; i < NPTS; i++) {
        int c = (int)em_test_below(&r, 2);
        double *x;
        em_val f, *p;
        x = em_vec_make(a, DIM, &f);
        for (int j = 0; j < DIM; j++)
            x[j] = (c ? 1.5 : -1.5) * (j % 3 == 0) +
                   (double)em_test_below(&r, 2001) / 1000.0 - 1.0;
        if (!labelled) {
            pts[i] = f;
            continue;
        }
        p = em_array_make(a, 2, &pts[i]);
        p[0] = em_float(c);
        p[1] = f;
    }
    return pts;
}

static void assert_vec_close(const double *x, const double *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        assert_true(fabs(x[i] - y[i]) <= TOL * (1 + fabs(y[i])));
}

/* The k-means centres (k x DIM) trained on ctx into out. */
static void kmeans_on(em_ctx *ctx, const em_val *pts, double *out)
{
    em_arena *a = em_arena_create();
    em_kmeans_opts o = {0};
    em_val model, cs;

    o.seed = 5;
    o.max_iterations = 8;
    o.init_mode = EM_KMEANS_RANDOM;
    EM_CHECK(em_kmeans_train(em_ctx_parallelize(ctx, pts, NPTS, 4), 3, &o,
                             a, &model));
    EM_CHECK(em_kmeans_model_centers(model, &cs));
    for (uint32_t j = 0; j < cs.len; j++)
        memcpy(out + j * DIM, cs.u.arr[j].u.vec, DIM * sizeof(double));
    em_arena_destroy(a);
}

/* The logistic weights (DIM, then the intercept) trained on ctx. */
static void logistic_on(em_ctx *ctx, const em_val *pts, double *out)
{
    em_arena *a = em_arena_create();
    em_linear_opts o = {0};
    em_val model, w;
    double b;

    o.iterations = 12;
    o.intercept = true;
    o.mini_batch_fraction = 0.7;
    o.seed = 3;
    EM_CHECK(em_linear_train(em_ctx_parallelize(ctx, pts, NPTS, 4),
                             EM_LOSS_LOGISTIC, &o, a, &model));
    EM_CHECK(em_linear_model_parts(model, NULL, &w, &b));
    memcpy(out, w.u.vec, DIM * sizeof(double));
    out[DIM] = b;
    em_arena_destroy(a);
}

/* For each of 5 queries (points 0, 100, ...), the ids and cosines of its
 * 4 nearest neighbours in an LSH index of [i, point] (16 bits, 4-bit
 * chunks), into out (40 values). */
static void lsh_on(em_ctx *ctx, const em_val *pts, double *out)
{
    em_arena *a = em_arena_create();
    em_val *recs = em_arena_alloc(a, NPTS * sizeof(em_val)), got;
    em_rplsh *lsh = em_rplsh_create(DIM, 16, 9);
    em_lsh_index *idx;

    for (int i = 0; i < NPTS; i++)
        EM_CHECK(em_pair_make(a, em_int(i), pts[i], &recs[i]));
    idx = em_rplsh_index_create(lsh, em_ctx_parallelize(ctx, recs, NPTS, 4),
                                4);
    assert_non_null(idx);
    for (int q = 0; q < 5; q++) {
        EM_CHECK(em_lsh_index_nearest(idx, pts[q * 100], 4, a, &got));
        assert_int_equal(got.len, 4);
        for (uint32_t j = 0; j < 4; j++) {
            out[q * 8 + j * 2] = (double)got.u.arr[j].u.arr[0].u.i;
            out[q * 8 + j * 2 + 1] = got.u.arr[j].u.arr[1].u.f;
        }
    }
    em_lsh_index_destroy(idx);
    em_rplsh_destroy(lsh);
    em_arena_destroy(a);
}

/* The layers of the MLP of mlp_on and its number of weights. */
static const int mlp_layers[] = {DIM, 5, 2};
#define MLP_WEIGHTS (DIM * 5 + 5 * 2 + 5 + 2)

/* The weights of an MLP trained on ctx for 3 epochs. */
static void mlp_on(em_ctx *ctx, const em_val *pts, double *out)
{
    em_arena *a = em_arena_create();
    em_mlp_opts o = {0};
    em_val model;

    o.layers = mlp_layers;
    o.num_layers = 3;
    o.epochs = 3;
    o.batch_size = 50;
    o.seed = 1;
    EM_CHECK(em_mlp_train(em_ctx_parallelize(ctx, pts, NPTS, 4), &o, a,
                          &model));
    for (uint32_t i = 0; i < model.len; i++) {
        em_val key = model.u.map[2 * i], v = model.u.map[2 * i + 1];
        if (key.len == 7 && memcmp(key.u.s, "weights", 7) == 0) {
            assert_int_equal(v.len, MLP_WEIGHTS);
            memcpy(out, v.u.vec, MLP_WEIGHTS * sizeof(double));
        }
    }
    em_arena_destroy(a);
}

typedef void (*train_fn)(em_ctx *ctx, const em_val *pts, double *out);

/* Trains with GPU operators off, then on under the given set-up; the
 * results must agree and `warnings` lines must have been logged. */
static void check_same(train_fn train, bool labelled, bool fake, int fails,
                       int warnings, size_t nout)
{
    em_arena *a = em_arena_create();
    const em_val *pts = make_points(a, labelled);
    double off[MLP_WEIGHTS], on[MLP_WEIGHTS];
    int logged = 0;

    for (size_t m = 0; m < 2; m++) {
        em_ctx *ctx = ctx_with_gpu(masters[m], -1);
        train(ctx, pts, off);
        em_ctx_destroy(ctx);
        ctx = ctx_with_gpu(masters[m], 1);
        logged = 0;
        em_log_set(count_line, &logged);
        em__gpu_test_reset();
        em__gpu_test_fake_device(fake);
        em__gpu_test_fail(fails);
        train(ctx, pts, on);
        em__gpu_test_fail(0);
        em__gpu_test_fake_device(false);
        em_log_set(NULL, NULL);
        em_ctx_destroy(ctx);
        assert_vec_close(on, off, nout);
        assert_int_equal(logged, warnings);
    }
    em_arena_destroy(a);
}

static void test_gpu_ops_kmeans_device_path(void **state)
{
    check_same(kmeans_on, false, true, 0, 0, 3 * DIM);
}

static void test_gpu_ops_kmeans_fallback(void **state)
{
    check_same(kmeans_on, false, true, 1, 1, 3 * DIM);
}

static void test_gpu_ops_kmeans_no_device(void **state)
{
    setenv("EMBER_GPU_DEVICE", "none", 1);
    check_same(kmeans_on, false, false, 0, 1, 3 * DIM);
    unsetenv("EMBER_GPU_DEVICE");
}

static void test_gpu_ops_logistic_device_path(void **state)
{
    check_same(logistic_on, true, true, 0, 0, DIM + 1);
}

static void test_gpu_ops_logistic_fallback(void **state)
{
    check_same(logistic_on, true, true, 2, 2, DIM + 1);
}

static void test_gpu_ops_logistic_no_device(void **state)
{
    setenv("EMBER_GPU_DEVICE", "none", 1);
    check_same(logistic_on, true, false, 0, 1, DIM + 1);
    unsetenv("EMBER_GPU_DEVICE");
}

static void test_gpu_ops_lsh_device_path(void **state)
{
    check_same(lsh_on, false, true, 0, 0, 40);
}

static void test_gpu_ops_lsh_fallback(void **state)
{
    check_same(lsh_on, false, true, 1, 1, 40);
}

static void test_gpu_ops_mlp_device_path(void **state)
{
    check_same(mlp_on, true, true, 0, 0, MLP_WEIGHTS);
}

static void test_gpu_ops_mlp_fallback(void **state)
{
    check_same(mlp_on, true, true, 1, 1, MLP_WEIGHTS);
}

static void test_gpu_ops_ctx_option(void **state)
{
    em_ctx *ctx = ctx_with_gpu("local[1]", 0);

    assert_false(em_ctx_gpu(ctx)); /* $EMBER_GPU unset: off */
    em_ctx_destroy(ctx);
    setenv("EMBER_GPU", "1", 1);
    ctx = ctx_with_gpu("local[1]", 0);
    assert_true(em_ctx_gpu(ctx));
    em_ctx_destroy(ctx);
    ctx = ctx_with_gpu("local[1]", -1); /* the conf wins */
    assert_false(em_ctx_gpu(ctx));
    em_ctx_destroy(ctx);
    unsetenv("EMBER_GPU");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_gpu_ops_kmeans_device_path),
        EM_TEST(test_gpu_ops_kmeans_fallback),
        EM_TEST(test_gpu_ops_kmeans_no_device),
        EM_TEST(test_gpu_ops_logistic_device_path),
        EM_TEST(test_gpu_ops_logistic_fallback),
        EM_TEST(test_gpu_ops_logistic_no_device),
        EM_TEST(test_gpu_ops_lsh_device_path),
        EM_TEST(test_gpu_ops_lsh_fallback),
        EM_TEST(test_gpu_ops_mlp_device_path),
        EM_TEST(test_gpu_ops_mlp_fallback),
        EM_TEST(test_gpu_ops_ctx_option),
    };

    return cmocka_run_group_tests_name("gpu_ops", tests, NULL, NULL);
}
