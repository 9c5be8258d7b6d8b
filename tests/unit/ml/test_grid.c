/* Tests of grid search (ops/ml/grid.c) with the linear trainer
 * (ops/ml/linear_op.c): every cell's fold scores equal a sequential loop
 * written here over scikit-learn's KFold blocks (each fold's model
 * trained by em_linear_train on one partition of the other points, the
 * accuracy or RMSE counted here), and so do the means, deviations and
 * best cell; a metric function gives the same scores as the built-in
 * metric, and a predictor that always says 1 the share of ones per fold; results are identical on local[1] and local[2], shuffled or
 * not; bad grids, options and trainer options fail with messages.
 */
#include <math.h>
#include <string.h>

#include "em_test.h"
#include "ember/ml.h"

#define D 4
#define NPTS 100
#define K 4

static double uniform(em_test_rng *r)
{
    return (double)(em_test_next(r) >> 11) * 0x1.0p-53 * 2 - 1;
}

/* Noisy points: the label is the sign (classes) or the value (regression)
 * of a linear function plus noise, so the cells score differently. */
static em_val *make_points(em_arena *a, bool regression)
{
    static const double w[D] = {1.0, -2.0, 0.5, 1.5};
    em_test_rng r = {31};
    em_val *pts = em_arena_alloc(a, NPTS * sizeof(em_val));

    for (int i = 0; i < NPTS; i++) {
        em_val f;
        double *x = em_vec_make(a, D, &f), m = 0.2 + 0.5 * uniform(&r);
        for (int j = 0; j < D; j++) {
            x[j] = uniform(&r);
            m += w[j] * x[j];
        }
        EM_CHECK(em_ml_labeled_point(a, regression ? m : m > 0, f, &pts[i]));
    }
    return pts;
}

static em_val get(em_val m, const char *k)
{
    for (uint32_t i = 0; i < m.len; i++)
        if (m.u.map[2 * i].len == strlen(k) &&
            memcmp(m.u.map[2 * i].u.s, k, strlen(k)) == 0)
            return m.u.map[2 * i + 1];
    return em_nil();
}

/* The grid {step: [0.05, 1.0], regParam: [0, 0.5], iterations: 3}, and
 * its cells in the documented order (names sorted, the last fastest). */
static em_val make_grid(em_arena *a, double steps[4], double regs[4])
{
    static const double s[2] = {0.05, 1.0}, g[2] = {0, 0.5};
    em_val kv[6], grid, *sv = em_array_make(a, 2, &kv[1]),
                        *gv = em_array_make(a, 2, &kv[3]);

    for (int i = 0; i < 2; i++) {
        sv[i] = em_float(s[i]);
        gv[i] = em_float(g[i]);
    }
    kv[0] = em_cstr("step");
    kv[2] = em_cstr("regParam");
    kv[4] = em_cstr("iterations");
    kv[5] = em_int(3);
    for (int c = 0; c < 4; c++) {
        regs[c] = g[c / 2]; /* "iterations" < "regParam" < "step" */
        steps[c] = s[c % 2];
    }
    EM_CHECK(em_map_make(a, kv, 3, &grid));
    return grid;
}

/* The trainer's fixed options: {loss, mode: "averaging", regType:
 * "l2"}. */
static em_val base_opts(em_arena *a, const char *loss)
{
    em_val kv[6] = {em_cstr("loss"),    em_cstr(loss),
                    em_cstr("mode"),    em_cstr("averaging"),
                    em_cstr("regType"), em_cstr("l2")},
           m;

    EM_CHECK(em_map_make(a, kv, 3, &m));
    return m;
}

/* The reference: fold f of cell (step, reg) trained on one partition of
 * the other points, scored here. */
static double reference(em_ctx *ctx, const em_val *pts, em_linear_loss loss,
                        double step, double reg, int f, em_arena *a)
{
    int q = NPTS / K, r = NPTS % K, lo = f * q + (f < r ? f : r),
        hi = lo + q + (f < r);
    em_val train[NPTS], model;
    int n = 0;
    double s = 0, p;
    em_linear_opts o = {.iterations = 3, .step = step, .reg_param = reg,
                        .reg_type = EM_REG_L2,
                        .mode = EM_LINEAR_AVERAGING};

    for (int i = 0; i < NPTS; i++)
        if (i < lo || i >= hi)
            train[n++] = pts[i];
    EM_CHECK(em_linear_train(em_ctx_parallelize(ctx, train, (size_t)n, 1),
                             loss, &o, a, &model));
    for (int i = lo; i < hi; i++) {
        double y = pts[i].u.arr[0].u.f;
        EM_CHECK(em_linear_predict(model, pts[i].u.arr[1], &p));
        s += loss == EM_LOSS_SQUARED ? (p - y) * (p - y) : p == y;
    }
    return loss == EM_LOSS_SQUARED ? sqrt(s / (hi - lo)) : s / (hi - lo);
}

static void check_against_reference(em_linear_loss loss, const char *name)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    bool is_reg = loss == EM_LOSS_SQUARED;
    em_val *pts = make_points(a, is_reg), res, mean, sd, splits;
    double steps[4], regs[4], best_mean = 0;
    em_val grid = make_grid(a, steps, regs);
    em_grid_opts o = {.folds = K,
                      .metric = is_reg ? EM_GRID_RMSE : EM_GRID_ACCURACY};
    int best = 0;

    EM_CHECK(em_ml_grid_search(em_ctx_parallelize(ctx, pts, NPTS, 3),
                               em_fn_of(em_linear_train_op,
                                        base_opts(a, name)),
                               grid, &o, a, &res));
    mean = get(res, "mean_test_score");
    sd = get(res, "std_test_score");
    splits = get(res, "split_test_scores");
    assert_int_equal(mean.len, 4);
    for (int c = 0; c < 4; c++) {
        double m = 0, v = 0, want[K];
        em_val params = get(res, "params").u.arr[c];
        assert_true(get(params, "step").u.f == steps[c]);
        assert_true(get(params, "regParam").u.f == regs[c]);
        assert_int_equal(get(params, "iterations").u.i, 3);
        for (int f = 0; f < K; f++) {
            want[f] = reference(ctx, pts, loss, steps[c], regs[c], f, a);
            m += want[f] / K;
            if (fabs(splits.u.arr[c].u.vec[f] - want[f]) > 1e-12)
                fail_msg("%s cell %d fold %d: %g, want %g", name, c, f,
                         splits.u.arr[c].u.vec[f], want[f]);
        }
        for (int f = 0; f < K; f++)
            v += (want[f] - m) * (want[f] - m) / K;
        print_message("%s step %g reg %g: mean %.4f sd %.4f\n", name,
                      steps[c], regs[c], m, sqrt(v));
        assert_true(fabs(mean.u.vec[c] - m) < 1e-12);
        assert_true(fabs(sd.u.vec[c] - sqrt(v)) < 1e-12);
        if (c == 0 || (is_reg ? m < best_mean : m > best_mean)) {
            best = c;
            best_mean = m;
        }
    }
    assert_int_equal(get(res, "best_index").u.i, best);
    assert_true(em_val_eq(get(res, "best_params"),
                          get(res, "params").u.arr[best]));
    assert_true(fabs(get(res, "best_score").u.f - best_mean) < 1e-12);
    assert_true(get(res, "lower_is_better").u.b == is_reg);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_grid_logistic_equals_reference(void **state)
{
    check_against_reference(EM_LOSS_LOGISTIC, "logistic");
}

static void test_grid_regression_equals_reference(void **state)
{
    check_against_reference(EM_LOSS_SQUARED, "linear");
}

/* A metric function: the accuracy, counted again. */
static em_status my_accuracy(em_task *t, const em_val *env,
                             const em_val *args, size_t nargs, em_val *out)
{
    em_val pts = args[1];
    double right = 0, p;

    for (uint32_t i = 0; i < pts.len; i++) {
        if (em_linear_predict(args[0], pts.u.arr[i].u.arr[1], &p) != EM_OK)
            return em_task_fail(t, "%s", "predict failed");
        right += p == pts.u.arr[i].u.arr[0].u.f;
    }
    *out = em_float(right / pts.len);
    return EM_OK;
}

/* A predictor that says 1 whatever the model and features. */
static em_status always_one(em_task *t, const em_val *env,
                            const em_val *args, size_t nargs, em_val *out)
{
    *out = em_int(1);
    return EM_OK;
}

static void test_grid_predictor(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_val *pts = make_points(a, false), res, splits;
    double steps[4], regs[4];
    em_val grid = make_grid(a, steps, regs);
    em_grid_opts o = {.folds = K, .predict = EM_FN(always_one)};

    EM_CHECK(em_ml_grid_search(em_ctx_parallelize(ctx, pts, NPTS, 3),
                               em_fn_of(em_linear_train_op,
                                        base_opts(a, "logistic")),
                               grid, &o, a, &res));
    splits = get(res, "split_test_scores");
    for (int f = 0; f < K; f++) {
        int q = NPTS / K, ones = 0;
        for (int i = f * q; i < (f + 1) * q; i++)
            ones += pts[i].u.arr[0].u.f == 1;
        for (int c = 0; c < 4; c++)
            assert_true(splits.u.arr[c].u.vec[f] == (double)ones / q);
    }
    assert_int_equal(em_linear_train_local(NULL, em_nil(), EM_LOSS_LOGISTIC,
                                           NULL, a, &res),
                     EM_EINVAL);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_grid_metric_fn_and_masters(void **state)
{
    em_arena *a = em_arena_create();
    em_val *pts = make_points(a, false), first = em_nil(), res;
    double steps[4], regs[4];
    em_val grid = make_grid(a, steps, regs);
    em_fn train = em_fn_of(em_linear_train_op, base_opts(a, "perceptron"));

    for (int shuffle = 0; shuffle <= 1; shuffle++) {
        for (int m = 1; m <= 2; m++) {
            em_ctx *ctx = em_test_ctx(m == 1 ? "local[1]" : "local[2]");
            em_rdd *rdd = em_ctx_parallelize(ctx, pts, NPTS, 2);
            em_grid_opts o = {.folds = 5, .shuffle = shuffle, .seed = 9};
            em_val fres;
            EM_CHECK(em_ml_grid_search(rdd, train, grid, &o, a, &res));
            o.metric = EM_GRID_SCORE_FN;
            o.score = EM_FN(my_accuracy);
            EM_CHECK(em_ml_grid_search(rdd, train, grid, &o, a, &fres));
            assert_true(em_val_eq(res, fres));
            if (m == 1)
                first = res;
            else if (!em_val_eq(first, res))
                fail_msg("shuffle %d: local[2] differs from local[1]",
                         shuffle);
            em_ctx_destroy(ctx);
        }
    }
    em_arena_destroy(a);
}

static void test_grid_bad_input(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_val *pts = make_points(a, false), res, empty, kv[2], bad;
    em_rdd *rdd = em_ctx_parallelize(ctx, pts, 3, 1);
    double steps[4], regs[4];
    em_val grid = make_grid(a, steps, regs);
    em_fn train = em_fn_of(em_linear_train_op, em_nil());
    em_grid_opts one = {.folds = 1}, fn_missing = {.metric = EM_GRID_SCORE_FN},
                 many = {.folds = 4};

    assert_int_equal(em_ml_grid_search(rdd, train, grid, &one, a, &res),
                     EM_EINVAL);
    assert_int_equal(em_ml_grid_search(rdd, train, grid, &fn_missing, a,
                                       &res),
                     EM_EINVAL);
    assert_int_equal(em_ml_grid_search(rdd, train, grid, &many, a, &res),
                     EM_EINVAL);
    assert_non_null(strstr(em_last_error(), "3 points for 4 folds"));
    EM_CHECK(em_map_make(a, kv, 0, &empty));
    assert_int_equal(em_ml_grid_search(rdd, train, empty, NULL, a, &res),
                     EM_EEMPTY);
    assert_int_equal(em_ml_grid_search(rdd, train, em_int(1), NULL, a, &res),
                     EM_EINVAL);
    kv[0] = em_cstr("stepSize");
    kv[1] = em_float(1);
    EM_CHECK(em_map_make(a, kv, 1, &bad));
    assert_int_equal(em_ml_grid_search(rdd, train, bad, NULL, a, &res),
                     EM_EUSER);
    assert_non_null(strstr(em_last_error(), "stepSize is unknown"));
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_grid_logistic_equals_reference),
        EM_TEST(test_grid_regression_equals_reference),
        EM_TEST(test_grid_predictor),
        EM_TEST(test_grid_metric_fn_and_masters),
        EM_TEST(test_grid_bad_input),
    };
    return cmocka_run_group_tests_name("grid", tests, NULL, NULL);
}
