/* Tests of the multilayer perceptron (ops/ml/mlp.c): one full-batch SGD
 * step against central finite differences of the mean loss computed
 * here; on XOR-like blobs (not linearly separable) the network's accuracy
 * above a linear model's, with the same weights on local[1], [2] and [7];
 * bad options, points and models rejected with their reasons.
 */
#include <math.h>
#include <string.h>

#include "em_test.h"
#include "ember/ml.h"
#include "ember/ml_ad.h"
#include "ember/ml_linear.h"

#define NPTS 400

static double uniform(em_test_rng *r)
{
    return (double)(em_test_next(r) >> 11) * 0x1.0p-53 * 2 - 1;
}

/* Four blobs around (+-1, +-1), class 1 where the signs differ (XOR). */
static em_val *xor_points(em_arena *a, int n, double (*x)[2], int *y)
{
    em_test_rng r = {99};
    em_val *pts = em_arena_alloc(a, (size_t)n * sizeof(em_val));

    for (int i = 0; i < n; i++) {
        int sx = i % 2 ? 1 : -1, sy = (i / 2) % 2 ? 1 : -1;
        em_val f;
        double *v = em_vec_make(a, 2, &f);
        v[0] = x[i][0] = sx + 0.35 * (uniform(&r) + uniform(&r));
        v[1] = x[i][1] = sy + 0.35 * (uniform(&r) + uniform(&r));
        y[i] = sx != sy;
        EM_CHECK(em_ml_labeled_point(a, y[i], f, &pts[i]));
    }
    return pts;
}

/* A field of a model map. */
static em_val get(em_val m, const char *k)
{
    for (uint32_t i = 0; i < m.len; i++)
        if (strcmp(m.u.map[2 * i].u.s, k) == 0)
            return m.u.map[2 * i + 1];
    return em_nil();
}

/* The mean cross-entropy of a [2, 3, 2] tanh network, written out. */
static double ref_loss(const double *w, double (*x)[2], const int *y, int n)
{
    const double *w1 = w, *w2 = w + 6, *b1 = w + 12, *b2 = w + 15;
    double s = 0;

    for (int i = 0; i < n; i++) {
        double h[3], z[2];
        for (int j = 0; j < 3; j++)
            h[j] = tanh(x[i][0] * w1[j] + x[i][1] * w1[3 + j] + b1[j]);
        for (int k = 0; k < 2; k++)
            z[k] = h[0] * w2[k] + h[1] * w2[2 + k] + h[2] * w2[4 + k] + b2[k];
        s += log(exp(z[0]) + exp(z[1])) - z[y[i]];
    }
    return s / n;
}

static void test_mlp_one_step_finite_differences(void **state)
{
    static const int layers[3] = {2, 3, 2};
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    double x[40][2], w0[17], h = 1e-6;
    int y[40];
    em_val *pts = xor_points(a, 40, x, y), model, wv;
    em_test_rng r = {3};
    em_mlp_opts o = {.layers = layers, .num_layers = 3, .epochs = 1,
                     .batch_size = 1000, .initial_weights = w0,
                     .optim = {.kind = EM_OPTIM_SGD, .step = 1,
                               .schedule = EM_SCHEDULE_CONSTANT}};

    assert_int_equal(em_mlp_num_weights(layers, 3), 17);
    for (int i = 0; i < 17; i++)
        w0[i] = uniform(&r);
    EM_CHECK(em_mlp_train(em_ctx_parallelize(ctx, pts, 40, 3), &o, a,
                          &model));
    wv = get(model, "weights");
    assert_int_equal(wv.type, EM_VEC);
    assert_int_equal(wv.len, 17);
    /* w1 = w0 - grad: the gradient against finite differences */
    for (int i = 0; i < 17; i++) {
        double wp[17], g = w0[i] - wv.u.vec[i], fd;
        memcpy(wp, w0, sizeof(wp));
        wp[i] = w0[i] + h;
        fd = ref_loss(wp, x, y, 40);
        wp[i] = w0[i] - h;
        fd = (fd - ref_loss(wp, x, y, 40)) / (2 * h);
        if (!(fabs(fd - g) <= 1e-6 * fmax(1, fabs(g))))
            fail_msg("weight %d: step %.12g, finite difference %.12g", i, g,
                     fd);
    }
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static double accuracy_mlp(em_val model, double (*x)[2], const int *y)
{
    int right = 0;

    for (int i = 0; i < NPTS; i++) {
        double p;
        em_val f;
        em_arena *a = em_arena_create();
        memcpy(em_vec_make(a, 2, &f), x[i], sizeof(x[i]));
        EM_CHECK(em_mlp_predict(model, f, &p));
        right += p == y[i];
        em_arena_destroy(a);
    }
    return (double)right / NPTS;
}

static void test_mlp_xor_beats_linear(void **state)
{
    static const char *masters[3] = {"local[1]", "local[2]", "local[7]"};
    static const int layers[3] = {2, 8, 2};
    double x[NPTS][2], w_first[(2 + 1) * 8 + (8 + 1) * 2];
    int y[NPTS];

    for (int act = 0; act <= EM_MLP_RELU; act++)
        for (int m = 0; m < 3; m++) {
            em_ctx *ctx = em_test_ctx(masters[m]);
            em_arena *a = em_arena_create();
            em_val *pts = xor_points(a, NPTS, x, y), model, lin, w, loss;
            em_rdd *rdd = em_ctx_parallelize(ctx, pts, NPTS, 4);
            em_mlp_opts o = {.layers = layers, .num_layers = 3,
                             .activation = (em_mlp_activation)act,
                             .epochs = 30, .batch_size = 32, .seed = 11,
                             .optim = {.kind = EM_OPTIM_ADAM, .step = 0.05,
                                       .schedule = EM_SCHEDULE_CONSTANT}};
            em_linear_opts lo = {.iterations = 200, .intercept = true,
                                 .optimizer = EM_OPTIM_ADAM, .step = 0.1,
                                 .convergence_tol = -1};
            double acc, lin_acc = 0;

            EM_CHECK(em_rdd_cache(rdd));
            EM_CHECK(em_mlp_train(rdd, &o, a, &model));
            acc = accuracy_mlp(model, x, y);
            w = get(model, "weights");
            loss = get(model, "loss");
            assert_int_equal(loss.len, 30);
            assert_true(loss.u.vec[29] < 0.5 * loss.u.vec[0]);
            if (m == 0) {
                memcpy(w_first, w.u.vec, sizeof(w_first));
                EM_CHECK(em_linear_train(rdd, EM_LOSS_LOGISTIC, &lo, a,
                                         &lin));
                for (int i = 0; i < NPTS; i++) {
                    double p;
                    EM_CHECK(em_linear_predict(lin, pts[i].u.arr[1], &p));
                    lin_acc += (p == y[i]) / (double)NPTS;
                }
                print_message("%s: mlp accuracy %.4f, loss %.4f -> %.4f; "
                              "logistic regression %.4f\n",
                              act ? "relu" : "tanh", acc, loss.u.vec[0],
                              loss.u.vec[29], lin_acc);
                assert_true(lin_acc < 0.8);
                assert_true(acc >= 0.97);
            } else {
                assert_memory_equal(w.u.vec, w_first, sizeof(w_first));
            }
            em_arena_destroy(a);
            em_ctx_destroy(ctx);
        }
}

static void test_mlp_errors(void **state)
{
    static const int layers[3] = {2, 4, 2}, bad_in[3] = {3, 4, 2};
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    double x[8][2];
    int y[8];
    em_val *pts = xor_points(a, 8, x, y), model, f;
    em_rdd *rdd = em_ctx_parallelize(ctx, pts, 8, 2);
    em_mlp_opts o = {.layers = layers, .num_layers = 3, .epochs = 2};
    double p;

    assert_int_equal(em_mlp_train(rdd, &(em_mlp_opts){0}, a, &model),
                     EM_EINVAL);
    assert_non_null(strstr(em_last_error(), "layers"));
    assert_int_equal(em_mlp_num_weights(layers, 1), 0);
    assert_int_equal(em_mlp_train(rdd, &(em_mlp_opts){.layers = layers,
                                      .num_layers = 3, .epochs = -1},
                                  a, &model),
                     EM_EINVAL);
    assert_int_equal(em_mlp_train(rdd, &(em_mlp_opts){.layers = layers,
                                      .num_layers = 3,
                                      .optim = {.step = -1}},
                                  a, &model),
                     EM_EINVAL);
    assert_int_equal(em_mlp_train(em_ctx_parallelize(ctx, pts, 0, 1), &o, a,
                                  &model),
                     EM_EEMPTY);
    /* features of another dimension, and a label out of range */
    o.layers = bad_in;
    assert_int_not_equal(em_mlp_train(rdd, &o, a, &model), EM_OK);
    assert_non_null(strstr(em_last_error(), "vector of dimension 3"));
    o.layers = layers;
    EM_CHECK(em_ml_labeled_point(a, 2, pts[1].u.arr[1], &pts[1]));
    assert_int_not_equal(em_mlp_train(em_ctx_parallelize(ctx, pts, 8, 2), &o,
                                      a, &model),
                         EM_OK);
    assert_non_null(strstr(em_last_error(), "class in 0..1"));
    /* prediction: not a model, and features of another dimension */
    assert_int_equal(em_mlp_predict(em_int(1), pts[0].u.arr[1], &p),
                     EM_EFORMAT);
    EM_CHECK(em_mlp_train(rdd, &o, a, &model));
    em_vec_make(a, 3, &f);
    assert_int_equal(em_mlp_predict(model, f, &p), EM_EINVAL);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_mlp_one_step_finite_differences),
        EM_TEST(test_mlp_xor_beats_linear),
        EM_TEST(test_mlp_errors),
    };

    return cmocka_run_group_tests_name("mlp", tests, NULL, NULL);
}
