/* Tests of the linear models (ops/ml/linear.c, parallel_sgd.c) and the
 * loaders (ops/ml/loaders.c): gradients against central finite
 * differences; convergence of every mode with every optimizer on a
 * linearly separable synthetic set (the loss falls, from ln 2 at zero
 * weights to below 0.3, and the accuracy ends at 97% or more); batch and averaging models bit-identical on local[1], [2]
 * and [7]; linear regression recovers known weights; predictions against
 * the sigmoid of the margin computed here; save and load; LIBSVM and CSV
 * lines against their known points, and every kind of malformed line
 * failing the job with its fault or counted in an accumulator.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "em_test.h"
#include "ember/ml.h"
#include "ember/ml_linear.h"

#define D 5
#define NPTS 400

static const double w_true[D] = {1.0, -2.0, 0.5, 1.5, -1.0};
static const double b_true = 0.3;

static double uniform(em_test_rng *r)
{
    return (double)(em_test_next(r) >> 11) * 0x1.0p-53 * 2 - 1;
}

/* Points with |margin| >= 0.2 under (w_true, b_true): label 1 above 0
 * (logistic), or the margin itself (regression). Every third point is
 * sparse (its zeros left out). x receives dense copies. */
static em_val *make_points(em_arena *a, bool regression, double (*x)[D],
                           double *y)
{
    em_test_rng r = {2024};
    em_val *pts = em_arena_alloc(a, NPTS * sizeof(em_val));

    for (int i = 0; i < NPTS; i++) {
        double m;
        em_val f;
        do {
            m = b_true;
            for (int j = 0; j < D; j++) {
                x[i][j] = (i % 3 == 0 && j % 2 == 1) ? 0 : uniform(&r);
                m += w_true[j] * x[i][j];
            }
        } while (fabs(m) < 0.2);
        y[i] = regression ? m : m > 0;
        if (i % 3 == 0) {
            uint32_t idx[D];
            double val[D];
            size_t n = 0;
            for (int j = 0; j < D; j++)
                if (x[i][j] != 0) {
                    idx[n] = (uint32_t)j;
                    val[n++] = x[i][j];
                }
            EM_CHECK(em_spvec_make(a, D, idx, val, n, &f));
        } else {
            memcpy(em_vec_make(a, D, &f), x[i], sizeof(x[i]));
        }
        EM_CHECK(em_ml_labeled_point(a, y[i], f, &pts[i]));
    }
    return pts;
}

static void test_linear_gradient_finite_differences(void **state)
{
    em_arena *a = em_arena_create();
    double x[NPTS][D], y[NPTS];
    em_val *pts = make_points(a, false, x, y);
    em_test_rng r = {5};

    for (int loss = 0; loss <= EM_LOSS_SQUARED; loss++) {
        for (int i = 0; i < 12; i++) {
            double w[D + 1], g[D + 1] = {0}, l = 0;
            em_val p = pts[i];
            for (int j = 0; j <= D; j++)
                w[j] = 2 * uniform(&r);
            if (loss == EM_LOSS_SQUARED)
                EM_CHECK(em_ml_labeled_point(a, 3 * uniform(&r),
                                             pts[i].u.arr[1], &p));
            EM_CHECK(em_linear_loss_grad(loss, w, D, true, p, g, &l));
            for (int j = 0; j <= D; j++) {
                double wp[D + 1], lp = 0, lm = 0, h = 1e-6, fd;
                memcpy(wp, w, sizeof(w));
                wp[j] = w[j] + h;
                EM_CHECK(em_linear_loss_grad(loss, wp, D, true, p, NULL,
                                             &lp));
                wp[j] = w[j] - h;
                EM_CHECK(em_linear_loss_grad(loss, wp, D, true, p, NULL,
                                             &lm));
                fd = (lp - lm) / (2 * h);
                if (fabs(fd - g[j]) > 1e-6 * fmax(1, fabs(g[j])))
                    fail_msg("loss %d point %d weight %d: %g, finite "
                             "difference %g", loss, i, j, g[j], fd);
            }
        }
    }
    /* the loss values themselves, by their formulas */
    {
        double w[D] = {0}, l = 0;
        EM_CHECK(em_linear_loss_grad(EM_LOSS_LOGISTIC, w, D, false, pts[0],
                                     NULL, &l));
        assert_true(fabs(l - log(2)) < 1e-15);
        l = 0;
        EM_CHECK(em_linear_loss_grad(EM_LOSS_LOGISTIC, w, D, false, pts[1],
                                     NULL, &l));
        assert_true(fabs(l - log(2)) < 1e-15);
    }
    em_arena_destroy(a);
}

/* A model trained on the synthetic set; its training accuracy. */
static double train_acc(em_ctx *ctx, const em_linear_opts *o, em_arena *a,
                        em_val *model)
{
    double x[NPTS][D], y[NPTS];
    em_val *pts = make_points(a, false, x, y);
    em_rdd *rdd = em_ctx_parallelize(ctx, pts, NPTS, 4);
    int right = 0;

    EM_CHECK(em_linear_train(rdd, EM_LOSS_LOGISTIC, o, a, model));
    for (int i = 0; i < NPTS; i++) {
        double p, m = 0, q;
        EM_CHECK(em_linear_predict(*model, pts[i].u.arr[1], &p));
        right += p == y[i];
        EM_CHECK(em_linear_predict_probability(*model, pts[i].u.arr[1], &q));
        EM_CHECK(em_linear_margin(*model, pts[i].u.arr[1], &m));
        assert_true(fabs(q - 1 / (1 + exp(-m))) < 1e-15);
        assert_true(p == (q > 0.5));
    }
    return (double)right / NPTS;
}

static em_val model_get(em_val m, const char *k)
{
    for (uint32_t i = 0; i < m.len; i++)
        if (m.u.map[2 * i].len == strlen(k) &&
            memcmp(m.u.map[2 * i].u.s, k, strlen(k)) == 0)
            return m.u.map[2 * i + 1];
    return em_nil();
}

static void test_linear_every_mode_and_optimizer_converges(void **state)
{
    /* steps per optimizer: per point (parallel modes) and per batch */
    static const double batch_step[6] = {4, 1, 1, 1, 0.3, 0.3};
    static const double point_step[6] = {1, 0.2, 0.2, 3, 0.3, 0.3};
    static const char *modes[3] = {"batch", "averaging", "ipm"};
    em_ctx *ctx = em_test_ctx("local[2]");

    for (int mode = 0; mode <= EM_LINEAR_IPM; mode++)
        for (int k = 0; k <= EM_OPTIM_ADAM; k++) {
            em_arena *a = em_arena_create();
            em_linear_opts o = {
                .iterations = mode == EM_LINEAR_BATCH ? 60 : 10,
                .step = mode == EM_LINEAR_BATCH ? batch_step[k]
                                                : point_step[k],
                .intercept = true, .convergence_tol = -1,
                .optimizer = (em_optim_kind)k,
                .mode = (em_linear_mode)mode, .seed = 3};
            em_val model, hist;
            double acc = train_acc(ctx, &o, a, &model);
            hist = model_get(model, "loss");
            assert_int_equal(hist.len, o.iterations);
            print_message("%-9s %-8s loss %.4f -> %.4f, accuracy %.3f\n",
                          modes[mode], em_optim_kind_name((em_optim_kind)k),
                          hist.u.vec[0], hist.u.vec[hist.len - 1], acc);
            if (!(hist.u.vec[hist.len - 1] < hist.u.vec[0]) ||
                !(hist.u.vec[hist.len - 1] < 0.3) || acc < 0.97)
                fail_msg("%s %s did not converge", modes[mode],
                         em_optim_kind_name((em_optim_kind)k));
            em_arena_destroy(a);
        }
    em_ctx_destroy(ctx);
}

static void test_linear_same_on_every_master(void **state)
{
    static const char *masters[3] = {"local[1]", "local[2]", "local[7]"};

    for (int mode = 0; mode <= EM_LINEAR_IPM; mode++) {
        em_val first = em_nil();
        em_arena *keep = em_arena_create();
        for (int i = 0; i < 3; i++) {
            em_ctx *ctx = em_test_ctx(masters[i]);
            em_arena *a = em_arena_create();
            em_linear_opts o = {.iterations = 20, .step = 0.5,
                                .mini_batch_fraction = 0.5, .reg_param = 0.01,
                                .reg_type = EM_REG_L2, .intercept = true,
                                .optimizer = EM_OPTIM_MOMENTUM,
                                .mode = (em_linear_mode)mode, .seed = 7};
            em_val model;
            train_acc(ctx, &o, a, &model);
            if (i == 0)
                EM_CHECK(em_val_copy(keep, model, &first));
            else if (!em_val_eq(first, model))
                fail_msg("mode %d: %s differs from local[1]", mode,
                         masters[i]);
            em_arena_destroy(a);
            em_ctx_destroy(ctx);
        }
        em_arena_destroy(keep);
    }
}

static void test_linear_regression_recovers_weights(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    double x[NPTS][D], y[NPTS];
    em_val *pts = make_points(a, true, x, y), model, w;
    em_rdd *rdd = em_ctx_parallelize(ctx, pts, NPTS, 3);
    em_linear_opts o = {.iterations = 300, .step = 0.1, .intercept = true,
                        .optimizer = EM_OPTIM_ADAM,
                        .schedule = EM_SCHEDULE_CONSTANT,
                        .convergence_tol = 1e-9};
    double b, p;
    em_linear_loss loss;

    EM_CHECK(em_linear_train(rdd, EM_LOSS_SQUARED, &o, a, &model));
    EM_CHECK(em_linear_model_parts(model, &loss, &w, &b));
    assert_int_equal(loss, EM_LOSS_SQUARED);
    for (int j = 0; j < D; j++)
        if (fabs(w.u.vec[j] - w_true[j]) > 1e-3)
            fail_msg("weight %d: %g, want %g", j, w.u.vec[j], w_true[j]);
    assert_true(fabs(b - b_true) < 1e-3);
    EM_CHECK(em_linear_predict(model, pts[7].u.arr[1], &p));
    assert_true(fabs(p - y[7]) < 1e-2);
    assert_int_equal(em_linear_predict_probability(model, pts[7].u.arr[1],
                                                   &p),
                     EM_EINVAL);
    /* L1 with a large regParam zeroes every weight but the intercept */
    o.reg_type = EM_REG_L1;
    o.reg_param = 10;
    o.optimizer = EM_OPTIM_SGD;
    o.schedule = EM_SCHEDULE_INV_SQRT;
    EM_CHECK(em_linear_train(rdd, EM_LOSS_SQUARED, &o, a, &model));
    EM_CHECK(em_linear_model_parts(model, NULL, &w, &b));
    for (int j = 0; j < D; j++)
        assert_true(w.u.vec[j] == 0.0);
    assert_true(fabs(b) > 0.01);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_linear_save_load_and_predict_op(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_linear_opts o = {.iterations = 30, .intercept = true};
    char dir[256], path[300];
    em_val model, back, preds;
    double x[NPTS][D], y[NPTS];
    em_val *pts = make_points(a, false, x, y);
    em_broadcast *bc;

    train_acc(ctx, &o, a, &model);
    em_test_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/model.msgpack", dir);
    EM_CHECK(em_linear_model_save(model, path));
    EM_CHECK(em_linear_model_load(path, a, &back));
    assert_true(em_val_eq(model, back));
    /* the prediction operator with the model broadcast */
    bc = em_ctx_broadcast(ctx, back);
    EM_CHECK(em_rdd_collect(
        em_rdd_map(em_ctx_parallelize(ctx, pts, NPTS, 5),
                   em_fn_of(em_linear_predict_op, em_broadcast_ref(bc))),
        a, &preds));
    for (int i = 0; i < NPTS; i++) {
        double p;
        EM_CHECK(em_linear_predict(model, pts[i].u.arr[1], &p));
        assert_true(preds.u.arr[i].u.f == p);
    }
    /* a file that is not a model */
    EM_CHECK(em_linear_model_save(model, path));
    {
        FILE *f = fopen(path, "wb");
        fputs("not a model", f);
        fclose(f);
    }
    assert_int_not_equal(em_linear_model_load(path, a, &back), EM_OK);
    snprintf(path, sizeof(path), "%s/missing/model", dir);
    assert_int_equal(em_linear_model_load(path, a, &back), EM_EIO);
    assert_int_equal(em_linear_model_save(model, path), EM_EIO);
    assert_int_equal(em_linear_model_save(em_int(1), path), EM_EFORMAT);
    em_test_rmtree(dir);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_linear_bad_input(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_val pts[2], f, model;
    double x[2] = {1, 2}, z[3] = {1, 2, 3};
    em_linear_opts bad = {.mini_batch_fraction = 1.5};

    EM_CHECK(em_ml_labeled_point(a, 1, em_vec(x, 2), &pts[0]));
    EM_CHECK(em_ml_labeled_point(a, 2, em_vec(x, 2), &pts[1]));
    assert_int_equal(em_linear_train(em_ctx_parallelize(ctx, pts, 2, 1),
                                     EM_LOSS_LOGISTIC, NULL, a, &model),
                     EM_EUSER);
    assert_non_null(strstr(em_last_error(), "not 0 or 1"));
    EM_CHECK(em_ml_labeled_point(a, 1, em_vec(z, 3), &pts[1]));
    assert_int_not_equal(em_linear_train(em_ctx_parallelize(ctx, pts, 2, 1),
                                         EM_LOSS_SQUARED, NULL, a, &model),
                         EM_OK);
    assert_non_null(strstr(em_last_error(), "dimension"));
    assert_int_equal(em_linear_train(em_ctx_parallelize(ctx, pts, 2, 1),
                                     EM_LOSS_SQUARED, &bad, a, &model),
                     EM_EINVAL);
    assert_int_equal(em_linear_train(em_ctx_empty(ctx), EM_LOSS_SQUARED,
                                     NULL, a, &model),
                     EM_EEMPTY);
    f = em_int(3);
    assert_int_equal(em_linear_model_parts(f, NULL, NULL, NULL), EM_EFORMAT);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* The lines as an RDD of two slices. */
static em_rdd *lines_rdd(em_ctx *ctx, const char *const *lines, size_t n)
{
    em_val v[16];

    for (size_t i = 0; i < n; i++)
        v[i] = em_cstr(lines[i]);
    return em_ctx_parallelize(ctx, v, n, 2);
}

static void test_linear_load_libsvm(void **state)
{
    static const char *good[] = {
        "1 1:0.5 3:-2", "# a comment line", "0 2:1e-3 4:7 # trailing",
        "", "-1.5\t4:1", "2"};
    static const char *bad[][2] = {
        {"x 1:2", "label"}, {"1 0:2", "outside"}, {"1 5:2", "outside"},
        {"1 3:1 2:1", "increasing"}, {"1 2:1 2:1", "increasing"},
        {"1 2:abc", "value"}, {"1 2", "index:value"}, {"1 2:1x", "junk"},
        {"11:2", "space"}, {"1 2:inf", "value"},
    };
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_ml_load_opts o = {.num_features = 4};
    em_val got, want[4], f;
    em_accum *acc;

    EM_CHECK(em_rdd_collect(em_ml_load_libsvm(lines_rdd(ctx, good, 6), &o),
                            a, &got));
    EM_CHECK(em_spvec_make(a, 4, (uint32_t[]){0, 2}, (double[]){0.5, -2},
                           2, &f));
    EM_CHECK(em_ml_labeled_point(a, 1, f, &want[0]));
    EM_CHECK(em_spvec_make(a, 4, (uint32_t[]){1, 3}, (double[]){1e-3, 7},
                           2, &f));
    EM_CHECK(em_ml_labeled_point(a, 0, f, &want[1]));
    EM_CHECK(em_spvec_make(a, 4, (uint32_t[]){3}, (double[]){1}, 1, &f));
    EM_CHECK(em_ml_labeled_point(a, -1.5, f, &want[2]));
    EM_CHECK(em_spvec_make(a, 4, NULL, NULL, 0, &f));
    EM_CHECK(em_ml_labeled_point(a, 2, f, &want[3]));
    assert_true(em_val_eq(got, em_array(want, 4)));
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *ls[3] = {good[0], bad[i][0], good[2]};
        assert_int_equal(
            em_rdd_collect(em_ml_load_libsvm(lines_rdd(ctx, ls, 3), &o), a,
                           &got),
            EM_EUSER);
        if (strstr(em_last_error(), bad[i][1]) == NULL ||
            strstr(em_last_error(), "LIBSVM: partition") == NULL)
            fail_msg("'%s': %s", bad[i][0], em_last_error());
    }
    /* counted, not failing, with an accumulator */
    acc = em_ctx_accumulator(ctx, EM_ACCUM_SUM, em_int(0), em_nil(),
                             EM_FN_NONE);
    o.bad_lines = acc;
    {
        const char *ls[5] = {good[0], bad[0][0], bad[3][0], good[2],
                             bad[8][0]};
        EM_CHECK(em_rdd_collect(em_ml_load_libsvm(lines_rdd(ctx, ls, 5), &o),
                                a, &got));
    }
    assert_int_equal(got.len, 2);
    EM_CHECK(em_accum_value(acc, a, &f));
    assert_int_equal(f.u.i, 3);
    o.num_features = 0;
    assert_null(em_ml_load_libsvm(lines_rdd(ctx, good, 6), &o));
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_linear_load_csv(void **state)
{
    static const char *good[] = {"3,2,malignant", "1.5, 2, 0", "0,-1,1",
                                 "  ", "4,5e1,1"};
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_ml_load_opts o = {.label_col = -1, .skip_header = 1};
    em_val got, want[3];
    double f[3][2] = {{1.5, 2}, {0, -1}, {4, 50}}, g[2] = {2, 0};
    em_accum *acc;

    EM_CHECK(em_rdd_collect(em_ml_load_csv(lines_rdd(ctx, good, 5), &o), a,
                            &got));
    EM_CHECK(em_ml_labeled_point(a, 0, em_vec(f[0], 2), &want[0]));
    EM_CHECK(em_ml_labeled_point(a, 1, em_vec(f[1], 2), &want[1]));
    EM_CHECK(em_ml_labeled_point(a, 1, em_vec(f[2], 2), &want[2]));
    assert_true(em_val_eq(got, em_array(want, 3)));
    o.label_col = 0;
    EM_CHECK(em_rdd_collect(em_ml_load_csv(lines_rdd(ctx, good, 5), &o), a,
                            &got));
    EM_CHECK(em_ml_labeled_point(a, 1.5, em_vec(g, 2), &want[0]));
    assert_true(em_val_eq(got.u.arr[0], want[0]));
    /* the header is malformed when not skipped */
    o.skip_header = 0;
    assert_int_equal(
        em_rdd_collect(em_ml_load_csv(lines_rdd(ctx, good, 5), &o), a, &got),
        EM_EUSER);
    assert_non_null(strstr(em_last_error(), "CSV: partition 0 line 1: a "
                                            "column is not a finite number"));
    {
        const char *ls[4] = {"1,2,3", "1,2", "1,,3", "1,2,3,"};
        acc = em_ctx_accumulator(ctx, EM_ACCUM_SUM, em_int(0), em_nil(),
                                 EM_FN_NONE);
        o.bad_lines = acc;
        EM_CHECK(em_rdd_collect(em_ml_load_csv(
                                    em_ctx_parallelize(ctx, (em_val[]){
                                        em_cstr(ls[0]), em_cstr(ls[1]),
                                        em_cstr(ls[2]), em_cstr(ls[3])},
                                        4, 1), &o),
                                a, &got));
        assert_int_equal(got.len, 1);
        EM_CHECK(em_accum_value(acc, a, &want[0]));
        assert_int_equal(want[0].u.i, 3);
    }
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_linear_gradient_finite_differences),
        EM_TEST(test_linear_every_mode_and_optimizer_converges),
        EM_TEST(test_linear_same_on_every_master),
        EM_TEST(test_linear_regression_recovers_weights),
        EM_TEST(test_linear_save_load_and_predict_op),
        EM_TEST(test_linear_bad_input),
        EM_TEST(test_linear_load_libsvm),
        EM_TEST(test_linear_load_csv),
    };
    return cmocka_run_group_tests_name("linear", tests, NULL, NULL);
}
