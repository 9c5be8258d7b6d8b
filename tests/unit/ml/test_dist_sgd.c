/* Tests of the linear models' allreduce and ps modes (ops/ml/dist_sgd.c).
 * Allreduce is batch mode's mathematics, so its weights and losses equal
 * batch mode's within 1e-9 for every loss on local[1], [2] and [4] with 1
 * to 4 partitions, and the tasks' copies of the weights are bit for bit
 * the same (an allGather of their checksums). Ps mode on one task is
 * sequential mini-batch SGD with a per-key optimizer, so it equals a naive
 * one; on several tasks, all running at once (partitions = task slots),
 * it reaches batch mode's accuracy within 2 points. The MLP's allreduce
 * mode equals its per-step jobs within 1e-9 in the same way.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "em_test.h"
#include "ember/barrier.h"
#include "ember/ml.h"
#include "ember/ml_ad.h"
#include "ember/ml_linear.h"
#include "ops/ml/dist_sgd.h"

#define NDENSE 240 /* dense points */
#define DD 4       /* their features */
#define D 200      /* sparse features */
#define NNZ 5      /* non-zeros per sparse point */
#define NSP 3000   /* sparse points */

static double uniform(em_test_rng *r)
{
    return (double)(em_test_next(r) >> 11) * 0x1.0p-53 * 2 - 1;
}

/* Dense points with a noisy linear rule: classes (the sign, flipped for
 * one point in eight) or values. */
static em_val *dense_points(em_arena *a, bool regression)
{
    static const double w[DD] = {1.5, -2, 0.5, 1};
    em_test_rng r = {7};
    em_val *pts = em_arena_alloc(a, NDENSE * sizeof(em_val));

    for (int i = 0; i < NDENSE; i++) {
        double *x, m = 0.3;
        em_val f;
        assert_non_null(x = em_vec_make(a, DD, &f));
        for (int j = 0; j < DD; j++) {
            x[j] = uniform(&r);
            m += w[j] * x[j];
        }
        m += 0.3 * uniform(&r);
        EM_CHECK(em_ml_labeled_point(
            a, regression ? m : (m > 0) != (i % 8 == 0), f, &pts[i]));
    }
    return pts;
}

/* Sparse points of NNZ distinct sorted features; the class is the sign of
 * the margin under random weights. */
static em_val *sparse_points(em_arena *a)
{
    em_test_rng r = {99};
    double w[D];
    em_val *pts = em_arena_alloc(a, NSP * sizeof(em_val));

    for (int j = 0; j < D; j++)
        w[j] = 2 * uniform(&r);
    for (int i = 0; i < NSP; i++) {
        uint32_t idx[NNZ];
        double val[NNZ], m = 0.1;
        int n = 0;
        em_val f;
        while (n < NNZ) {
            uint32_t j = (uint32_t)em_test_below(&r, D);
            int k = n;
            for (int q = 0; q < n; q++)
                k = idx[q] == j ? -1 : k;
            if (k < 0)
                continue;
            for (; k > 0 && idx[k - 1] > j; k--) {
                idx[k] = idx[k - 1];
                val[k] = val[k - 1];
            }
            idx[k] = j;
            val[k] = uniform(&r);
            n++;
        }
        for (int k = 0; k < NNZ; k++)
            m += w[idx[k]] * val[k];
        EM_CHECK(em_spvec_make(a, D, idx, val, NNZ, &f));
        EM_CHECK(em_ml_labeled_point(a, m > 0, f, &pts[i]));
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

static void expect_close(em_val x, em_val y, double tol, const char *what)
{
    assert_int_equal(x.len, y.len);
    for (uint32_t j = 0; j < x.len; j++)
        if (!(fabs(x.u.vec[j] - y.u.vec[j]) <= tol))
            fail_msg("%s %u: %.17g against %.17g", what, j, x.u.vec[j],
                     y.u.vec[j]);
}

/* Allreduce against batch, every loss, masters and partitionings that
 * have the slots; also a half mini-batch and the convergence stop. */
static void test_dist_allreduce_equals_batch(void **state)
{
    static const int slots[3] = {1, 2, 4};
    static const em_linear_loss losses[3] = {
        EM_LOSS_LOGISTIC, EM_LOSS_SQUARED, EM_LOSS_PERCEPTRON};
    em_arena *a = em_arena_create();

    for (int l = 0; l < 3; l++) {
        em_val *pts = dense_points(a, losses[l] == EM_LOSS_SQUARED);
        for (int s = 0; s < 3; s++) {
            char master[16];
            em_ctx *ctx;
            snprintf(master, sizeof(master), "local[%d]", slots[s]);
            ctx = em_test_ctx(master);
            for (int p = 1; p <= slots[s]; p++) {
                em_rdd *rdd = em_ctx_parallelize(ctx, pts, NDENSE, p);
                em_linear_opts o = {.iterations = 25, .step = 0.5,
                                    .intercept = true, .seed = 3,
                                    .reg_type = EM_REG_L2,
                                    .reg_param = 0.01,
                                    .mini_batch_fraction = p == 3 ? 0.5 : 1,
                                    .convergence_tol = l == 1 ? 0.01 : -1};
                em_val bm, am, bw, aw;
                double bb, ab;
                EM_CHECK(em_linear_train(rdd, losses[l], &o, a, &bm));
                o.mode = EM_LINEAR_ALLREDUCE;
                EM_CHECK(em_linear_train(rdd, losses[l], &o, a, &am));
                EM_CHECK(em_linear_model_parts(bm, NULL, &bw, &bb));
                EM_CHECK(em_linear_model_parts(am, NULL, &aw, &ab));
                expect_close(aw, bw, 1e-9, "weight");
                assert_true(fabs(ab - bb) <= 1e-9);
                expect_close(model_get(am, "loss"), model_get(bm, "loss"),
                             1e-9, "loss");
                assert_int_equal(model_get(am, "iterations").u.i,
                                 model_get(bm, "iterations").u.i);
            }
            em_ctx_destroy(ctx);
        }
    }
    em_arena_destroy(a);
}

/* A checksum of a vector's bits (FNV-1a). */
static int64_t checksum(em_val v)
{
    const unsigned char *p = (const unsigned char *)v.u.vec;
    uint64_t h = 1469598103934665603ULL;

    for (size_t i = 0; i < v.len * sizeof(double); i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return (int64_t)(h >> 1);
}

/* A barrier task: allreduce mode's loop, then every task's checksum of
 * its weights gathered; -> [[checksums array, weights vec]]. */
static em_status copy_task(em_task *t, const em_val *env, const em_val *args,
                           size_t nargs, em_val *out)
{
    em_arena *a = em_task_arena(t);
    em_val res, all, *row;
    em_status st;

    (void)nargs;
    if ((st = em__lin_allreduce_run(t, env, args[0], a, &res)) != EM_OK ||
        (st = em_barrier_all_gather(em_task_barrier(t),
                                    em_int(checksum(res.u.arr[0])), a,
                                    &all)) != EM_OK)
        return st;
    if ((row = em_array_make(a, 1, out)) == NULL ||
        em_array_make(a, 2, &row[0]) == NULL)
        return EM_ENOMEM;
    ((em_val *)row[0].u.arr)[0] = all;
    ((em_val *)row[0].u.arr)[1] = res.u.arr[0];
    return EM_OK;
}

static void test_dist_allreduce_copies_identical(void **state)
{
    em_ctx *ctx = em_test_ctx("local[4]");
    em_arena *a = em_arena_create();
    em_val *pts = dense_points(a, false), env[EM__LIN_NENV_DIST], rows;
    double ov[5] = {EM_OPTIM_ADAM, 0.1, EM_SCHEDULE_CONSTANT, EM_REG_NONE, 0};

    env[EM__LIN_W] = em_nil();
    env[EM__LIN_LOSS] = em_int(EM_LOSS_LOGISTIC);
    env[EM__LIN_ICPT] = em_bool(true);
    env[EM__LIN_FRAC] = em_float(0.7);
    env[EM__LIN_SEED] = em_int(5);
    env[EM__LIN_ITER] = em_int(1);
    env[EM__LIN_EPOCHS] = em_int(30);
    env[EM__LIN_OPTIM] = em_vec(ov, 5);
    env[EM__LIN_AVG] = em_bool(false);
    env[EM__LIN_GPU] = em_bool(false);
    env[EM__LIN_TOL] = em_float(-1);
    env[EM__LIN_DIM] = em_int(DD + 1);
    env[EM__LIN_PS] = em_nil();
    env[EM__LIN_BATCH] = em_int(1);
    for (int p = 2; p <= 4; p++) {
        em_rdd *r = em_rdd_barrier_map_partitions(
            em_ctx_parallelize(ctx, pts, NDENSE, p),
            em_fn_of(copy_task, em_array(env, EM__LIN_NENV_DIST)));
        EM_CHECK(em_rdd_collect(r, a, &rows));
        assert_int_equal(rows.len, p);
        for (int i = 0; i < p; i++) {
            em_val sums = rows.u.arr[i].u.arr[0];
            assert_int_equal(sums.len, p);
            /* every task saw the same checksums, each its own copy's */
            for (int j = 0; j < p; j++)
                assert_int_equal(sums.u.arr[j].u.i,
                                 rows.u.arr[0].u.arr[0].u.arr[j].u.i);
            assert_int_equal(sums.u.arr[i].u.i,
                             checksum(rows.u.arr[i].u.arr[1]));
            assert_int_equal(sums.u.arr[i].u.i, sums.u.arr[0].u.i);
        }
    }
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* Naive sequential ps mode: mini-batches of b sampled points in order, the
 * mean gradient of the batch's touched keys at the weights before the
 * batch, L2 on features, per-key sgd with step / sqrt(pushes of the key)
 * or a constant step. w: D + 1 weights. */
static void naive_ps(const em_val *pts, int epochs, int b, double step,
                     bool is_inv_sqrt, double l2, double *w)
{
    double g[D + 1], cnt[D + 1] = {0};
    bool hit[D + 1];
    int n = 0;

    memset(w, 0, (D + 1) * sizeof(double));
    for (int ep = 0; ep < epochs; ep++) {
        for (int i = 0; i <= NSP; i++) {
            if (n == b || (i == NSP && n > 0)) {
                for (int k = 0; k <= D; k++) {
                    if (!hit[k])
                        continue;
                    cnt[k] += 1;
                    g[k] = g[k] / n + (k < D ? l2 * w[k] : 0);
                    w[k] -= (is_inv_sqrt ? step / sqrt(cnt[k]) : step) * g[k];
                }
                n = 0;
            }
            if (i == NSP)
                break;
            if (n == 0) {
                memset(g, 0, sizeof(g));
                memset(hit, 0, sizeof(hit));
            }
            {
                const em_spvec *f = pts[i].u.arr[1].u.sp;
                uint32_t nnz = pts[i].u.arr[1].len;
                double y = pts[i].u.arr[0].u.f, m = w[D];
                for (uint32_t j = 0; j < nnz; j++)
                    m += w[f->idx[j]] * f->val[j];
                /* the weights before the batch: only g changes here */
                for (uint32_t j = 0; j < nnz; j++) {
                    g[f->idx[j]] += (1 / (1 + exp(-m)) - y) * f->val[j];
                    hit[f->idx[j]] = true;
                }
                g[D] += 1 / (1 + exp(-m)) - y;
                hit[D] = true;
                n++;
            }
        }
    }
}

static void test_dist_ps_one_task_is_sequential(void **state)
{
    em_ctx *ctx = em_test_ctx("local[1]");
    em_arena *a = em_arena_create();
    em_val *pts = sparse_points(a), model, w;
    em_rdd *rdd = em_ctx_parallelize(ctx, pts, NSP, 1);
    double want[D + 1], b;

    for (int c = 0; c < 2; c++) {
        em_linear_opts o = {.iterations = 3, .step = 0.5, .intercept = true,
                            .mode = EM_LINEAR_PS, .batch_size = 7,
                            .reg_type = c ? EM_REG_L2 : EM_REG_NONE,
                            .reg_param = 0.01,
                            .schedule = c ? EM_SCHEDULE_INV_SQRT
                                          : EM_SCHEDULE_CONSTANT};
        EM_CHECK(em_linear_train(rdd, EM_LOSS_LOGISTIC, &o, a, &model));
        EM_CHECK(em_linear_model_parts(model, NULL, &w, &b));
        naive_ps(pts, 3, 7, 0.5, c == 1, c ? 0.01 : 0, want);
        for (int j = 0; j < D; j++)
            if (fabs(w.u.vec[j] - want[j]) > 1e-12)
                fail_msg("case %d weight %d: ps %.17g, naive %.17g", c, j,
                         w.u.vec[j], want[j]);
        assert_true(fabs(b - want[D]) <= 1e-12);
        assert_int_equal(model_get(model, "iterations").u.i, 3);
    }
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static double accuracy(em_val model, const em_val *pts, int n)
{
    double s = 0, p;

    for (int i = 0; i < n; i++) {
        EM_CHECK(em_linear_predict(model, pts[i].u.arr[1], &p));
        s += p == pts[i].u.arr[0].u.f;
    }
    return s / n;
}

static void test_dist_ps_matches_batch(void **state)
{
    static const char *masters[2] = {"local[2]", "local[4]"};
    em_arena *a = em_arena_create();
    em_val *pts = sparse_points(a), model, hist;
    em_ctx *ctx = em_test_ctx("local[2]");
    em_linear_opts bo = {.iterations = 300, .step = 0.1, .intercept = true,
                         .convergence_tol = -1, .optimizer = EM_OPTIM_ADAM,
                         .schedule = EM_SCHEDULE_CONSTANT};
    double want, got;

    EM_CHECK(em_linear_train(em_ctx_parallelize(ctx, pts, NSP, 4),
                             EM_LOSS_LOGISTIC, &bo, a, &model));
    want = accuracy(model, pts, NSP);
    em_ctx_destroy(ctx);
    /* blocking reads on local[2], staleness 4 on local[4] */
    for (int m = 0; m < 2; m++) {
        em_linear_opts o = {.iterations = 20, .step = 0.5, .intercept = true,
                            .mode = EM_LINEAR_PS,
                            .optimizer = EM_OPTIM_ADAGRAD,
                            .schedule = EM_SCHEDULE_CONSTANT,
                            .batch_size = 8, .staleness = m ? 4 : -1};
        ctx = em_test_ctx(masters[m]);
        EM_CHECK(em_linear_train(em_ctx_parallelize(ctx, pts, NSP, 2 + 2 * m),
                                 EM_LOSS_LOGISTIC, &o, a, &model));
        got = accuracy(model, pts, NSP);
        hist = model_get(model, "loss");
        print_message("ps %s staleness %d: accuracy %.4f (batch %.4f), "
                      "loss %.4f -> %.4f\n", masters[m], o.staleness, got,
                      want, hist.u.vec[0], hist.u.vec[hist.len - 1]);
        assert_int_equal(hist.len, 20);
        assert_true(hist.u.vec[hist.len - 1] < hist.u.vec[0]);
        if (got < want - 0.02)
            fail_msg("ps on %s: %g against batch's %g", masters[m], got,
                     want);
        em_ctx_destroy(ctx);
    }
    em_arena_destroy(a);
}

/* The MLP's allreduce mode against its per-step jobs: the same draws and
 * steps, so the same weights and losses within 1e-9. */
static void test_dist_mlp_allreduce_equals_batch(void **state)
{
    static const int slots[3] = {1, 2, 4};
    static const int layers[3] = {DD, 5, 2};
    em_arena *a = em_arena_create();
    em_val *pts = dense_points(a, false);

    for (int s = 0; s < 3; s++) {
        char master[16];
        em_ctx *ctx;
        snprintf(master, sizeof(master), "local[%d]", slots[s]);
        ctx = em_test_ctx(master);
        for (int p = 1; p <= slots[s]; p++) {
            em_rdd *rdd = em_ctx_parallelize(ctx, pts, NDENSE, p);
            em_mlp_opts o = {.layers = layers, .num_layers = 3, .epochs = 4,
                             .batch_size = 50, .seed = 11,
                             .activation = p % 2 ? EM_MLP_TANH : EM_MLP_RELU,
                             .optim = {.kind = EM_OPTIM_ADAM, .step = 0.05,
                                       .reg = EM_REG_L2, .reg_param = 0.001,
                                       .schedule = EM_SCHEDULE_CONSTANT}};
            em_val bm, am;
            EM_CHECK(em_mlp_train(rdd, &o, a, &bm));
            o.mode = EM_MLP_ALLREDUCE;
            EM_CHECK(em_mlp_train(rdd, &o, a, &am));
            expect_close(model_get(am, "weights"), model_get(bm, "weights"),
                         1e-9, "mlp weight");
            expect_close(model_get(am, "loss"), model_get(bm, "loss"), 1e-9,
                         "mlp loss");
            /* and training moved the weights: the loss fell */
            assert_true(model_get(am, "loss").u.vec[3] <
                        model_get(am, "loss").u.vec[0]);
        }
        em_ctx_destroy(ctx);
    }
    em_arena_destroy(a);
}

static void test_dist_bad_options(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_val *pts = dense_points(a, false), model;
    em_rdd *rdd = em_ctx_parallelize(ctx, pts, NDENSE, 2);
    em_linear_opts o = {.mode = EM_LINEAR_PS, .reg_type = EM_REG_L1,
                        .reg_param = 0.1};

    assert_int_equal(em_linear_train(rdd, EM_LOSS_LOGISTIC, &o, a, &model),
                     EM_EINVAL);
    o = (em_linear_opts){.mode = EM_LINEAR_PS, .averaged = true};
    assert_int_equal(em_linear_train(rdd, EM_LOSS_LOGISTIC, &o, a, &model),
                     EM_EINVAL);
    o = (em_linear_opts){.mode = EM_LINEAR_PS, .batch_size = -1};
    assert_int_equal(em_linear_train(rdd, EM_LOSS_LOGISTIC, &o, a, &model),
                     EM_EINVAL);
    o = (em_linear_opts){.mode = EM_LINEAR_PS + 1};
    assert_int_equal(em_linear_train(rdd, EM_LOSS_LOGISTIC, &o, a, &model),
                     EM_EINVAL);
    /* a barrier stage of 3 tasks cannot run on 2 slots: it fails */
    o = (em_linear_opts){.mode = EM_LINEAR_ALLREDUCE, .iterations = 2};
    assert_int_not_equal(
        em_linear_train(em_ctx_parallelize(ctx, pts, NDENSE, 3),
                        EM_LOSS_LOGISTIC, &o, a, &model),
        EM_OK);
    assert_non_null(strstr(em_last_error(), "slots"));
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_dist_allreduce_equals_batch),
        EM_TEST(test_dist_allreduce_copies_identical),
        EM_TEST(test_dist_ps_one_task_is_sequential),
        EM_TEST(test_dist_ps_matches_batch),
        EM_TEST(test_dist_mlp_allreduce_equals_batch),
        EM_TEST(test_dist_bad_options),
    };
    return cmocka_run_group_tests_name("dist_sgd", tests, NULL, NULL);
}
