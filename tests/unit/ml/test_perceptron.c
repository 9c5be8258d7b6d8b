/* Tests of the averaged perceptron (EM_LOSS_PERCEPTRON with averaged, in
 * ops/ml/linear.c, parallel_sgd.c and hogwild.c): one shard trained by
 * every parallel mode equals a naive sequential averaged perceptron
 * written here (Collins's: the mean of the weights after every point);
 * several shards in averaging mode equal the naive perceptron of each
 * shard, weighted by its steps; every mode separates a separable set;
 * the model predicts classes, gives no probability, and saves and loads.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "em_test.h"
#include "ember/ml.h"
#include "ember/ml_linear.h"

#define D 6
#define NPTS 300

static double uniform(em_test_rng *r)
{
    return (double)(em_test_next(r) >> 11) * 0x1.0p-53 * 2 - 1;
}

/* Points separable with margin 0.1 by a fixed hyperplane; every fourth
 * point is sparse (its odd features left out). x gets dense copies. */
static em_val *make_points(em_arena *a, double (*x)[D], double *y)
{
    static const double w[D] = {1.5, -1.0, 0.5, 2.0, -0.5, 1.0};
    em_test_rng r = {77};
    em_val *pts = em_arena_alloc(a, NPTS * sizeof(em_val));

    for (int i = 0; i < NPTS; i++) {
        double m;
        em_val f;
        do {
            m = -0.2;
            for (int j = 0; j < D; j++) {
                x[i][j] = (i % 4 == 0 && j % 2 == 1) ? 0 : uniform(&r);
                m += w[j] * x[i][j];
            }
        } while (fabs(m) < 0.1);
        y[i] = m > 0;
        if (i % 4 == 0) {
            uint32_t idx[D / 2] = {0, 2, 4};
            double val[D / 2] = {x[i][0], x[i][2], x[i][4]};
            EM_CHECK(em_spvec_make(a, D, idx, val, D / 2, &f));
        } else {
            memcpy(em_vec_make(a, D, &f), x[i], sizeof(x[i]));
        }
        EM_CHECK(em_ml_labeled_point(a, y[i], f, &pts[i]));
    }
    return pts;
}

/* The naive averaged perceptron over points lo..hi-1 for `epochs`
 * passes (step 1, intercept in avg[D]): the sum of the weights after
 * every point in sum, the number of points returned. */
static double naive(double (*x)[D], const double *y, int lo, int hi,
                    int epochs, double *sum)
{
    double w[D + 1] = {0}, steps = 0;

    memset(sum, 0, (D + 1) * sizeof(double));
    for (int e = 0; e < epochs; e++)
        for (int i = lo; i < hi; i++) {
            double m = w[D], s = 2 * y[i] - 1;
            for (int j = 0; j < D; j++)
                m += w[j] * x[i][j];
            if (s * m <= 0) {
                for (int j = 0; j < D; j++)
                    w[j] += s * x[i][j];
                w[D] += s;
            }
            for (int j = 0; j <= D; j++)
                sum[j] += w[j];
            steps++;
        }
    return steps;
}

static void assert_model_is(em_val model, const double *want)
{
    em_val w;
    double b;

    EM_CHECK(em_linear_model_parts(model, NULL, &w, &b));
    for (int j = 0; j < D; j++)
        if (fabs(w.u.vec[j] - want[j]) > 1e-9 * fmax(1, fabs(want[j])))
            fail_msg("weight %d: %.12g, want %.12g", j, w.u.vec[j], want[j]);
    if (fabs(b - want[D]) > 1e-9 * fmax(1, fabs(want[D])))
        fail_msg("intercept: %.12g, want %.12g", b, want[D]);
}

static em_linear_opts perceptron_opts(em_linear_mode mode, int iterations)
{
    return (em_linear_opts){.iterations = iterations, .step = 1,
                            .schedule = EM_SCHEDULE_CONSTANT,
                            .intercept = true, .averaged = true,
                            .convergence_tol = -1, .mode = mode};
}

static void test_perceptron_one_shard_is_naive(void **state)
{
    static const em_linear_mode modes[3] = {
        EM_LINEAR_AVERAGING, EM_LINEAR_IPM, EM_LINEAR_HOGWILD};
    em_ctx *ctx = em_test_ctx("local[1]");
    em_arena *a = em_arena_create();
    double x[NPTS][D], y[NPTS], want[D + 1];
    em_val *pts = make_points(a, x, y), model;
    em_rdd *rdd = em_ctx_parallelize(ctx, pts, NPTS, 1);
    double steps = naive(x, y, 0, NPTS, 5, want);

    for (int j = 0; j <= D; j++)
        want[j] /= steps;
    for (int k = 0; k < 3; k++) {
        em_linear_opts o = perceptron_opts(modes[k], 5);
        EM_CHECK(em_linear_train(rdd, EM_LOSS_PERCEPTRON, &o, a, &model));
        assert_model_is(model, want);
    }
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_perceptron_shards_weighted_by_steps(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    double x[NPTS][D], y[NPTS], want[D + 1] = {0}, sum[D + 1], steps = 0;
    em_val *pts = make_points(a, x, y), model;
    em_linear_opts o = perceptron_opts(EM_LINEAR_AVERAGING, 3);

    /* parallelize cuts 300 points into 4 slices of 75 */
    for (int s = 0; s < 4; s++) {
        steps += naive(x, y, 75 * s, 75 * (s + 1), 3, sum);
        for (int j = 0; j <= D; j++)
            want[j] += sum[j];
    }
    for (int j = 0; j <= D; j++)
        want[j] /= steps;
    EM_CHECK(em_linear_train(em_ctx_parallelize(ctx, pts, NPTS, 4),
                             EM_LOSS_PERCEPTRON, &o, a, &model));
    assert_model_is(model, want);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_perceptron_every_mode_separates(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    double x[NPTS][D], y[NPTS];
    em_val *pts = make_points(a, x, y), model;
    em_rdd *rdd = em_ctx_parallelize(ctx, pts, NPTS, 4);

    for (int mode = 0; mode <= EM_LINEAR_HOGWILD; mode++) {
        em_linear_opts o = perceptron_opts((em_linear_mode)mode,
                                           mode == EM_LINEAR_BATCH ? 100
                                                                   : 10);
        int right = 0;
        em_linear_loss loss;
        double p;
        EM_CHECK(em_linear_train(rdd, EM_LOSS_PERCEPTRON, &o, a, &model));
        EM_CHECK(em_linear_model_parts(model, &loss, NULL, NULL));
        assert_int_equal(loss, EM_LOSS_PERCEPTRON);
        for (int i = 0; i < NPTS; i++) {
            double m;
            EM_CHECK(em_linear_predict(model, pts[i].u.arr[1], &p));
            EM_CHECK(em_linear_margin(model, pts[i].u.arr[1], &m));
            assert_true(p == (m > 0 ? 1.0 : 0.0));
            right += p == y[i];
        }
        print_message("mode %d: training accuracy %.3f\n", mode,
                      (double)right / NPTS);
        assert_true(right >= 0.97 * NPTS);
        assert_int_equal(em_linear_predict_probability(
                             model, pts[0].u.arr[1], &p),
                         EM_EINVAL);
    }
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_perceptron_same_on_every_master_and_saves(void **state)
{
    static const char *masters[3] = {"local[1]", "local[2]", "local[7]"};
    em_arena *keep = em_arena_create();
    char dir[256], path[300];
    em_val first = em_nil(), back;

    for (int i = 0; i < 3; i++) {
        em_ctx *ctx = em_test_ctx(masters[i]);
        em_arena *a = em_arena_create();
        double x[NPTS][D], y[NPTS];
        em_val *pts = make_points(a, x, y), model;
        em_linear_opts o = perceptron_opts(EM_LINEAR_IPM, 4);
        o.mini_batch_fraction = 0.7;
        o.seed = 5;
        EM_CHECK(em_linear_train(em_ctx_parallelize(ctx, pts, NPTS, 5),
                                 EM_LOSS_PERCEPTRON, &o, a, &model));
        if (i == 0)
            EM_CHECK(em_val_copy(keep, model, &first));
        else if (!em_val_eq(first, model))
            fail_msg("%s differs from local[1]", masters[i]);
        em_arena_destroy(a);
        em_ctx_destroy(ctx);
    }
    em_test_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/perceptron.msgpack", dir);
    EM_CHECK(em_linear_model_save(first, path));
    EM_CHECK(em_linear_model_load(path, keep, &back));
    assert_true(em_val_eq(first, back));
    em_test_rmtree(dir);
    em_arena_destroy(keep);
}

static void test_perceptron_bad_labels(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    double x[2] = {1, 2};
    em_val pts[2], model;

    EM_CHECK(em_ml_labeled_point(a, 1, em_vec(x, 2), &pts[0]));
    EM_CHECK(em_ml_labeled_point(a, -1, em_vec(x, 2), &pts[1]));
    for (int mode = 0; mode <= EM_LINEAR_HOGWILD; mode++) {
        em_linear_opts o = perceptron_opts((em_linear_mode)mode, 2);
        assert_int_equal(em_linear_train(em_ctx_parallelize(ctx, pts, 2, 1),
                                         EM_LOSS_PERCEPTRON, &o, a, &model),
                         EM_EUSER);
        assert_non_null(strstr(em_last_error(), "not 0 or 1"));
    }
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_perceptron_one_shard_is_naive),
        EM_TEST(test_perceptron_shards_weighted_by_steps),
        EM_TEST(test_perceptron_every_mode_separates),
        EM_TEST(test_perceptron_same_on_every_master_and_saves),
        EM_TEST(test_perceptron_bad_labels),
    };
    return cmocka_run_group_tests_name("perceptron", tests, NULL, NULL);
}
