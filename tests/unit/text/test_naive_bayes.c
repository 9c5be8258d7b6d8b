/* Tests of multinomial naive Bayes (ops/text/naive_bayes.c): the model
 * against the formulas of pyspark.mllib computed naively here from the
 * points, predictions against a naive argmax, the prediction operator with
 * the model in its environment and as a broadcast, on local[1], [2], [7]
 * and 1 or 5 slices; bad input gives errors with messages.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "em_test.h"
#include "ember/ml.h"

#define DIM 24
#define NPTS 600

static const char *masters[] = {"local[1]", "local[2]", "local[7]"};
static const double label_of[3] = {0.0, 1.0, 2.5};

/* Points of three classes, each favouring its own third of the features;
 * every third point sparse. Dense copies go to x, labels to y. */
static em_val *make_points(em_arena *a, double (*x)[DIM], double *y)
{
    em_test_rng r = {99};
    em_val *pts = em_arena_alloc(a, NPTS * sizeof(em_val));

    for (int i = 0; i < NPTS; i++) {
        int c = (int)em_test_below(&r, 3);
        uint32_t idx[DIM];
        double val[DIM];
        size_t nnz = 0;
        em_val f;
        for (int j = 0; j < DIM; j++) {
            int favoured = j / (DIM / 3) == c;
            x[i][j] = (double)em_test_below(&r, favoured ? 5 : 2) *
                      (em_test_below(&r, 2) ? 1.0 : 0.5);
            if (x[i][j] != 0) {
                idx[nnz] = (uint32_t)j;
                val[nnz++] = x[i][j];
            }
        }
        if (i % 3 == 0) {
            EM_CHECK(em_spvec_make(a, DIM, idx, val, nnz, &f));
        } else {
            double *d = em_vec_make(a, DIM, &f);
            memcpy(d, x[i], sizeof(x[i]));
        }
        y[i] = label_of[c];
        EM_CHECK(em_ml_labeled_point(a, y[i], f, &pts[i]));
    }
    return pts;
}

/* The naive model: pi[3], theta[3][DIM]. */
static void naive_model(double (*x)[DIM], const double *y, double lambda,
                        double *pi, double (*theta)[DIM])
{
    double n[3] = {0}, s[3][DIM] = {{0}};

    for (int i = 0; i < NPTS; i++) {
        int c = y[i] == 0 ? 0 : y[i] == 1 ? 1 : 2;
        n[c]++;
        for (int j = 0; j < DIM; j++)
            s[c][j] += x[i][j];
    }
    for (int c = 0; c < 3; c++) {
        double tot = 0;
        pi[c] = log(n[c] + lambda) - log(NPTS + 3 * lambda);
        for (int j = 0; j < DIM; j++)
            tot += s[c][j];
        for (int j = 0; j < DIM; j++)
            theta[c][j] = log(s[c][j] + lambda) - log(tot + DIM * lambda);
    }
}

static double naive_predict(const double *pi, double (*theta)[DIM],
                            const double *x)
{
    double best = -INFINITY;
    int arg = 0;

    for (int c = 0; c < 3; c++) {
        double s = pi[c];
        for (int j = 0; j < DIM; j++)
            s += x[j] * theta[c][j];
        if (s > best) {
            best = s;
            arg = c;
        }
    }
    return label_of[arg];
}

static void assert_close(double got, double want)
{
    if (!(fabs(got - want) <= 1e-12 * fmax(1.0, fabs(want))))
        fail_msg("%.17g, want %.17g", got, want);
}

static void test_nb_matches_naive(void **state)
{
    static double x[NPTS][DIM], y[NPTS];
    double pi[3], theta[3][DIM];
    em_arena *a = em_arena_create();
    em_val *pts = make_points(a, x, y);

    for (int m = 0; m < 3; m++) {
        em_ctx *ctx = em_test_ctx(masters[m]);
        for (int k = 0; k < 2; k++) {
            double lambda = k == 0 ? 1.0 : 0.1;
            em_rdd *rdd = em_ctx_parallelize(ctx, pts, NPTS, k ? 5 : 1);
            em_val model, labels, mpi, mtheta, preds, preds_b;
            int correct = 0;
            em_broadcast *b;
            naive_model(x, y, lambda, pi, theta);
            EM_CHECK(em_nb_train(rdd, lambda, a, &model));
            EM_CHECK(em_nb_model_parts(model, &labels, &mpi, &mtheta));
            assert_int_equal(labels.len, 3);
            for (int c = 0; c < 3; c++) {
                assert_true(labels.u.vec[c] == label_of[c]);
                assert_close(mpi.u.vec[c], pi[c]);
                assert_int_equal(mtheta.u.arr[c].len, DIM);
                for (int j = 0; j < DIM; j++)
                    assert_close(mtheta.u.arr[c].u.vec[j], theta[c][j]);
            }
            b = em_ctx_broadcast(ctx, model);
            EM_CHECK(em_rdd_collect(
                em_rdd_map(rdd, em_fn_of(em_nb_predict_op, model)), a,
                &preds));
            EM_CHECK(em_rdd_collect(
                em_rdd_map(rdd, em_fn_of(em_nb_predict_op,
                                         em_broadcast_ref(b))),
                a, &preds_b));
            for (int i = 0; i < NPTS; i++) {
                double want = naive_predict(pi, theta, x[i]), got;
                EM_CHECK(em_nb_predict(model, pts[i].u.arr[1], &got));
                assert_true(got == want);
                assert_true(preds.u.arr[i].u.f == want);
                assert_true(preds_b.u.arr[i].u.f == want);
                correct += want == y[i];
            }
            assert_true(correct > NPTS * 8 / 10); /* the classes separate */
        }
        em_ctx_destroy(ctx);
    }
    em_arena_destroy(a);
}

static void test_nb_bad_input(void **state)
{
    em_arena *a = em_arena_create();
    em_ctx *ctx = em_test_ctx(NULL);
    double neg[2] = {1, -1}, ok[3] = {1, 2, 3}, label;
    em_val p[2], model, v2, v3;

    v2 = em_vec(neg, 2);
    v3 = em_vec(ok, 3);
    EM_CHECK(em_ml_labeled_point(a, 1, v2, &p[0]));
    assert_int_equal(em_nb_train(em_ctx_parallelize(ctx, p, 1, 1), 1.0, a,
                                 &model), EM_EUSER);
    assert_non_null(strstr(em_last_error(), ">= 0"));
    v2 = em_vec(ok, 2);
    EM_CHECK(em_ml_labeled_point(a, 1, v2, &p[0]));
    EM_CHECK(em_ml_labeled_point(a, 0, v3, &p[1]));
    assert_int_equal(em_nb_train(em_ctx_parallelize(ctx, p, 2, 1), 1.0, a,
                                 &model), EM_EUSER);
    assert_non_null(strstr(em_last_error(), "dimension"));
    p[1] = em_cstr("not a point");
    assert_int_equal(em_nb_train(em_ctx_parallelize(ctx, p, 2, 2), 1.0, a,
                                 &model), EM_EUSER);
    assert_non_null(strstr(em_last_error(), "[label, features]"));
    assert_int_equal(em_nb_train(em_ctx_empty(ctx), 1.0, a, &model),
                     EM_EEMPTY);
    assert_int_equal(em_nb_train(em_ctx_parallelize(ctx, p, 1, 1), -1, a,
                                 &model), EM_EINVAL);
    /* a good one-point model; then predictions of bad features */
    EM_CHECK(em_nb_train(em_ctx_parallelize(ctx, p, 1, 1), 1.0, a, &model));
    assert_int_equal(em_nb_predict(model, v3, &label), EM_EINVAL);
    EM_CHECK(em_nb_predict(model, v2, &label));
    assert_true(label == 1.0);
    assert_int_equal(em_nb_predict(em_int(3), v2, &label), EM_EFORMAT);
    assert_int_equal(em_nb_model_parts(em_array(p, 1), NULL, NULL, NULL),
                     EM_EFORMAT);
    em_ctx_destroy(ctx);
    em_arena_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_nb_matches_naive),
        EM_TEST(test_nb_bad_input),
    };
    return cmocka_run_group_tests_name("naive_bayes", tests, NULL, NULL);
}
