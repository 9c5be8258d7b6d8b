/* Tests of hogwild mode (ops/ml/hogwild.c) on sparse data: on one thread
 * and one shard its sparse steps are plain SGD's, so the model equals ipm
 * mode's; on local[1], [2] and [4] logistic regression, the perceptron
 * and linear regression converge (the loss falls) and reach the quality
 * of batch mode within a stated margin: training accuracy at most 2
 * points below batch's, RMSE at most 0.05 above it.
 */
#include <math.h>
#include <string.h>

#include "em_test.h"
#include "ember/ml.h"
#include "ember/ml_linear.h"

#define D 200  /* features */
#define NNZ 5  /* non-zeros per point */
#define NPTS 3000

static double uniform(em_test_rng *r)
{
    return (double)(em_test_next(r) >> 11) * 0x1.0p-53 * 2 - 1;
}

/* Sparse points of NNZ distinct features each; the label is the sign of
 * the margin under random true weights (classes) or the margin itself
 * (regression). */
static em_val *make_points(em_arena *a, bool regression)
{
    em_test_rng r = {99};
    double w[D];
    em_val *pts = em_arena_alloc(a, NPTS * sizeof(em_val));

    for (int j = 0; j < D; j++)
        w[j] = 2 * uniform(&r);
    for (int i = 0; i < NPTS; i++) {
        uint32_t idx[NNZ];
        double val[NNZ], m = 0.1;
        int n = 0;
        em_val f;
        while (n < NNZ) {
            uint32_t j = (uint32_t)em_test_below(&r, D);
            int k = n;
            for (int q = 0; q < n; q++)
                if (idx[q] == j)
                    k = -1;
            if (k < 0)
                continue;
            while (k > 0 && idx[k - 1] > j) { /* keep indices sorted */
                idx[k] = idx[k - 1];
                val[k] = val[k - 1];
                k--;
            }
            idx[k] = j;
            val[k] = uniform(&r);
            n++;
        }
        for (int k = 0; k < NNZ; k++)
            m += w[idx[k]] * val[k];
        EM_CHECK(em_spvec_make(a, D, idx, val, NNZ, &f));
        EM_CHECK(em_ml_labeled_point(a, regression ? m : m > 0, f,
                                     &pts[i]));
    }
    return pts;
}

static em_val model_get(em_val m, const char *k)
{
    for (uint32_t i = 0; i < m.len; i++)
        if (m.u.map[2 * i].len == strlen(k) &&
            memcmp(m.u.map[2 * i].u.s, k, strlen(k)) == 0)
            return m.u.map[2 * i + 1];
    return em_nil();
}

/* Training accuracy (classes) or RMSE (regression) of a model. */
static double quality(em_val model, const em_val *pts, bool regression)
{
    double s = 0;

    for (int i = 0; i < NPTS; i++) {
        double p, y = pts[i].u.arr[0].u.f;
        EM_CHECK(em_linear_predict(model, pts[i].u.arr[1], &p));
        s += regression ? (p - y) * (p - y) : p == y;
    }
    return regression ? sqrt(s / NPTS) : s / NPTS;
}

static void test_hogwild_one_thread_is_sgd(void **state)
{
    em_ctx *ctx = em_test_ctx("local[1]");
    em_arena *a = em_arena_create();
    em_val *pts = make_points(a, false), hog, ipm, wh, wi;
    em_rdd *rdd = em_ctx_parallelize(ctx, pts, NPTS, 1);
    em_linear_opts o = {.iterations = 3, .step = 0.5, .intercept = true,
                        .mode = EM_LINEAR_HOGWILD};
    double bh, bi;

    EM_CHECK(em_linear_train(rdd, EM_LOSS_LOGISTIC, &o, a, &hog));
    o.mode = EM_LINEAR_IPM;
    EM_CHECK(em_linear_train(rdd, EM_LOSS_LOGISTIC, &o, a, &ipm));
    EM_CHECK(em_linear_model_parts(hog, NULL, &wh, &bh));
    EM_CHECK(em_linear_model_parts(ipm, NULL, &wi, &bi));
    for (int j = 0; j < D; j++)
        if (fabs(wh.u.vec[j] - wi.u.vec[j]) > 1e-12)
            fail_msg("weight %d: hogwild %.15g, ipm %.15g", j, wh.u.vec[j],
                     wi.u.vec[j]);
    assert_true(fabs(bh - bi) < 1e-12);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_hogwild_matches_batch(void **state)
{
    static const char *masters[3] = {"local[1]", "local[2]", "local[4]"};
    static const em_linear_loss losses[3] = {
        EM_LOSS_LOGISTIC, EM_LOSS_PERCEPTRON, EM_LOSS_SQUARED};

    for (int l = 0; l < 3; l++) {
        bool is_reg = losses[l] == EM_LOSS_SQUARED;
        em_arena *a = em_arena_create();
        em_val *pts = make_points(a, is_reg), model, hist;
        em_ctx *ctx = em_test_ctx("local[2]");
        em_linear_opts b = {.iterations = 300, .step = is_reg ? 0.05 : 0.1,
                            .intercept = true, .convergence_tol = -1,
                            .optimizer = EM_OPTIM_ADAM,
                            .schedule = EM_SCHEDULE_CONSTANT,
                            .averaged = losses[l] == EM_LOSS_PERCEPTRON};
        double want, got;
        EM_CHECK(em_linear_train(em_ctx_parallelize(ctx, pts, NPTS, 8),
                                 losses[l], &b, a, &model));
        want = quality(model, pts, is_reg);
        em_ctx_destroy(ctx);
        for (int m = 0; m < 3; m++) {
            em_linear_opts o = {.iterations = 20, .step = 0.5,
                                .schedule = EM_SCHEDULE_CONSTANT,
                                .intercept = true,
                                .averaged = losses[l] == EM_LOSS_PERCEPTRON,
                                .mode = EM_LINEAR_HOGWILD, .seed = 1};
            ctx = em_test_ctx(masters[m]);
            EM_CHECK(em_linear_train(em_ctx_parallelize(ctx, pts, NPTS, 8),
                                     losses[l], &o, a, &model));
            got = quality(model, pts, is_reg);
            hist = model_get(model, "loss");
            print_message("loss %d %s: %s %.4f (batch %.4f), loss %.4f -> "
                          "%.4f\n", (int)losses[l], masters[m],
                          is_reg ? "rmse" : "accuracy", got, want,
                          hist.u.vec[0], hist.u.vec[hist.len - 1]);
            assert_true(hist.u.vec[hist.len - 1] < hist.u.vec[0]);
            if (is_reg ? got > want + 0.05 : got < want - 0.02)
                fail_msg("hogwild on %s: %g against batch's %g", masters[m],
                         got, want);
            em_ctx_destroy(ctx);
        }
        em_arena_destroy(a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_hogwild_one_thread_is_sgd),
        EM_TEST(test_hogwild_matches_batch),
    };
    return cmocka_run_group_tests_name("hogwild", tests, NULL, NULL);
}
