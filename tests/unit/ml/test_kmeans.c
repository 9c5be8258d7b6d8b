/* Tests of k-means (ops/ml/kmeans.c): the centres against a naive Lloyd
 * written here from the same initial centres, the same model on local[1],
 * [2] and [7], the cost never increasing with more iterations, k-means||
 * and random initialization finding separated blobs, predict and
 * computeCost against naive nearest-centre searches, and bad input.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "em_test.h"
#include "ember/ml_cluster.h"

#define DIM 5
#define NPTS 900
#define K 4

static const char *masters[] = {"local[1]", "local[2]", "local[7]"};

/* Points around K blob means (spread `spread`; with `zeros`, a seventh
 * of the coordinates zeroed), every third one sparse (its zero
 * coordinates left out); dense copies go to x. */
static em_val *make_points(em_arena *a, double (*x)[DIM], double spread,
                           bool zeros, double (*means)[DIM])
{
    em_test_rng r = {7};
    em_val *pts = em_arena_alloc(a, NPTS * sizeof(em_val));

    for (int c = 0; c < K; c++)
        for (int j = 0; j < DIM; j++)
            means[c][j] = (double)em_test_below(&r, 200) - 100.0;
    for (int i = 0; i < NPTS; i++) {
        int c = (int)em_test_below(&r, K);
        uint32_t idx[DIM];
        double val[DIM];
        size_t nnz = 0;
        for (int j = 0; j < DIM; j++) {
            double u = (double)em_test_below(&r, 2001) / 1000.0 - 1.0;
            x[i][j] = means[c][j] + spread * u;
            if (zeros && em_test_below(&r, 7) == 0)
                x[i][j] = 0;
            if (x[i][j] != 0) {
                idx[nnz] = (uint32_t)j;
                val[nnz++] = x[i][j];
            }
        }
        if (i % 3 == 0) {
            EM_CHECK(em_spvec_make(a, DIM, idx, val, nnz, &pts[i]));
        } else {
            double *d = em_vec_make(a, DIM, &pts[i]);
            memcpy(d, x[i], sizeof(x[i]));
        }
    }
    return pts;
}

static double sq(const double *p, const double *c)
{
    double s = 0;
    for (int j = 0; j < DIM; j++)
        s += (p[j] - c[j]) * (p[j] - c[j]);
    return s;
}

static int naive_nearest(const double *p, double (*c)[DIM])
{
    int best = 0;
    for (int j = 1; j < K; j++)
        if (sq(p, c[j]) < sq(p, c[best]))
            best = j;
    return best;
}

/* Lloyd from c: at most iters rounds, stopping when no centre moved; a
 * centre without points stays. Returns the rounds run. */
static int naive_lloyd(double (*x)[DIM], double (*c)[DIM], int iters)
{
    int it = 0;

    while (it < iters) {
        double s[K][DIM] = {{0}}, n[K] = {0};
        int moved = 0;
        for (int i = 0; i < NPTS; i++) {
            int j = naive_nearest(x[i], c);
            n[j]++;
            for (int d = 0; d < DIM; d++)
                s[j][d] += x[i][d];
        }
        for (int j = 0; j < K; j++)
            for (int d = 0; d < DIM && n[j] > 0; d++) {
                double m = s[j][d] / n[j];
                moved |= m != c[j][d];
                c[j][d] = m;
            }
        it++;
        if (!moved)
            break;
    }
    return it;
}

static double naive_cost(double (*x)[DIM], double (*c)[DIM])
{
    double s = 0;
    for (int i = 0; i < NPTS; i++)
        s += sq(x[i], c[naive_nearest(x[i], c)]);
    return s;
}

/* An array of K vecs from c, in a. */
static em_val centers_val(em_arena *a, double (*c)[DIM])
{
    em_val arr, *items = em_array_make(a, K, &arr);
    for (int j = 0; j < K; j++)
        memcpy(em_vec_make(a, DIM, &items[j]), c[j], sizeof(c[j]));
    return arr;
}

static double (*xs)[DIM];

static void test_kmeans_matches_naive_lloyd(void **state)
{
    double means[K][DIM], c0[K][DIM], c[K][DIM];
    em_arena *a = em_arena_create();
    em_val pts_model[3], got;
    em_val *pts;
    int iters;

    xs = calloc(NPTS, sizeof(*xs));
    pts = make_points(a, xs, 60.0, true, means);
    for (int j = 0; j < K; j++)
        memcpy(c0[j], xs[j * 5 + 1], sizeof(c0[j])); /* overlapping blobs */
    memcpy(c, c0, sizeof(c));
    iters = naive_lloyd(xs, c, 100);
    for (int m = 0; m < 3; m++) {
        em_ctx *ctx = em_test_ctx(masters[m]);
        em_kmeans_opts o = {0};
        int64_t n;
        o.initial_centers = centers_val(a, c0);
        o.epsilon = -1;
        EM_CHECK(em_kmeans_train(em_ctx_parallelize(ctx, pts, NPTS, 5), K,
                                 &o, a, &pts_model[m]));
        EM_CHECK(em_kmeans_model_centers(pts_model[m], &got));
        assert_int_equal(got.len, K);
        for (int j = 0; j < K; j++)
            for (int d = 0; d < DIM; d++)
                assert_true(fabs(got.u.arr[j].u.vec[d] - c[j][d]) < 1e-9);
        for (uint32_t i = 0; i < pts_model[m].len; i++)
            if (pts_model[m].u.map[2 * i].len == 7) /* numIter */
                n = pts_model[m].u.map[2 * i + 1].u.i;
        assert_int_equal(n, iters);
        if (m > 0)
            assert_true(em_val_eq(pts_model[m], pts_model[0]));
        em_ctx_destroy(ctx);
    }
    free(xs);
    em_arena_destroy(a);
}

static void test_kmeans_cost_never_increases(void **state)
{
    double means[K][DIM], c0[K][DIM], last = INFINITY;
    em_arena *a = em_arena_create();
    em_ctx *ctx = em_test_ctx("local[2]");
    em_val *pts, model;
    em_rdd *rdd;

    xs = calloc(NPTS, sizeof(*xs));
    pts = make_points(a, xs, 90.0, true, means);
    rdd = em_ctx_parallelize(ctx, pts, NPTS, 3);
    EM_CHECK(em_rdd_cache(rdd));
    for (int j = 0; j < K; j++)
        memcpy(c0[j], xs[j], sizeof(c0[j]));
    for (int it = 1; it <= 10; it++) {
        em_kmeans_opts o = {0};
        double cost;
        o.initial_centers = centers_val(a, c0);
        o.max_iterations = it;
        o.epsilon = -1;
        EM_CHECK(em_kmeans_train(rdd, K, &o, a, &model));
        EM_CHECK(em_kmeans_compute_cost(model, rdd, &cost));
        assert_true(cost <= last * (1 + 1e-12));
        last = cost;
    }
    free(xs);
    em_ctx_destroy(ctx);
    em_arena_destroy(a);
}

/* Every blob mean has a model centre within `tol`. */
static void assert_finds_blobs(em_val model, double (*means)[DIM], double tol)
{
    em_val c;

    EM_CHECK(em_kmeans_model_centers(model, &c));
    assert_int_equal(c.len, K);
    for (int b = 0; b < K; b++) {
        double best = INFINITY;
        for (uint32_t j = 0; j < c.len; j++)
            best = fmin(best, sqrt(sq(c.u.arr[j].u.vec, means[b])));
        assert_true(best < tol);
    }
}

static void test_kmeans_init_modes(void **state)
{
    double means[K][DIM];
    em_arena *a = em_arena_create();
    em_val *pts, first = em_nil();

    xs = calloc(NPTS, sizeof(*xs));
    pts = make_points(a, xs, 2.0, false, means);
    for (int m = 0; m < 3; m++) {
        em_ctx *ctx = em_test_ctx(masters[m]);
        em_rdd *rdd = em_ctx_parallelize(ctx, pts, NPTS, 4);
        em_kmeans_opts o = {0};
        em_val model, rnd, c;
        o.seed = 42;
        EM_CHECK(em_kmeans_train(rdd, K, &o, a, &model));
        assert_finds_blobs(model, means, 1.0);
        if (m == 0)
            first = model;
        else
            assert_true(em_val_eq(model, first));
        o.init_mode = EM_KMEANS_RANDOM;
        o.max_iterations = 1;
        EM_CHECK(em_kmeans_train(rdd, K, &o, a, &rnd));
        EM_CHECK(em_kmeans_model_centers(rnd, &c));
        assert_int_equal(c.len, K);
        em_ctx_destroy(ctx);
    }
    free(xs);
    em_arena_destroy(a);
}

static void test_kmeans_predict_and_cost(void **state)
{
    double means[K][DIM], c[K][DIM], cost;
    em_arena *a = em_arena_create();
    em_ctx *ctx = em_test_ctx("local[2]");
    em_val *pts, model, preds;
    em_broadcast *b;
    em_rdd *rdd;

    xs = calloc(NPTS, sizeof(*xs));
    pts = make_points(a, xs, 80.0, true, means);
    for (int j = 0; j < K; j++)
        memcpy(c[j], xs[3 * j + 2], sizeof(c[j]));
    EM_CHECK(em_kmeans_model_make(centers_val(a, c), a, &model));
    rdd = em_ctx_parallelize(ctx, pts, NPTS, 6);
    EM_CHECK(em_kmeans_compute_cost(model, rdd, &cost));
    assert_true(fabs(cost - naive_cost(xs, c)) <= 1e-9 * cost);
    b = em_ctx_broadcast(ctx, model);
    EM_CHECK(em_rdd_collect(
        em_rdd_map(rdd, em_fn_of(em_kmeans_predict_op, em_broadcast_ref(b))),
        a, &preds));
    assert_int_equal(preds.len, NPTS);
    for (int i = 0; i < NPTS; i++) {
        int64_t j;
        EM_CHECK(em_kmeans_predict(model, pts[i], &j));
        assert_int_equal(j, naive_nearest(xs[i], c));
        assert_int_equal(preds.u.arr[i].u.i, j);
    }
    free(xs);
    em_ctx_destroy(ctx);
    em_arena_destroy(a);
}

static void test_kmeans_bad_input(void **state)
{
    em_arena *a = em_arena_create();
    em_ctx *ctx = em_test_ctx("local[2]");
    double x[3] = {1, 2, 3}, y[2] = {1, 2};
    em_val p[3], model, arr;
    em_kmeans_opts o = {0};
    int64_t j;

    p[0] = em_vec(x, 3);
    p[1] = em_vec(y, 2);
    p[2] = em_cstr("no");
    assert_int_equal(em_kmeans_train(em_ctx_parallelize(ctx, p, 1, 1), 0,
                                     NULL, a, &model), EM_EINVAL);
    assert_int_equal(em_kmeans_train(em_ctx_empty(ctx), 2, NULL, a, &model),
                     EM_EEMPTY);
    assert_int_equal(em_kmeans_train(em_ctx_parallelize(ctx, p, 2, 2), 1,
                                     NULL, a, &model), EM_EUSER);
    assert_non_null(strstr(em_last_error(), "dimension"));
    assert_int_equal(em_kmeans_train(em_ctx_parallelize(ctx, p + 2, 1, 1), 1,
                                     NULL, a, &model), EM_EINVAL);
    o.initial_centers = em_array(p, 1);
    assert_int_equal(em_kmeans_train(em_ctx_parallelize(ctx, p, 1, 1), 2, &o,
                                     a, &model), EM_EINVAL);
    assert_int_equal(em_kmeans_model_centers(em_int(3), &arr), EM_EFORMAT);
    EM_CHECK(em_kmeans_model_make(em_array(p, 1), a, &model));
    assert_int_equal(em_kmeans_predict(model, p[1], &j), EM_EINVAL);
    assert_int_equal(em_kmeans_model_make(em_array(p, 2), a, &model),
                     EM_EINVAL);
    em_ctx_destroy(ctx);
    em_arena_destroy(a);
}

static em_status make_model_once(void *arg)
{
    double x[4] = {1, 2, 3, 4};
    em_val c[2] = {em_vec(x, 2), em_vec(x + 2, 2)}, model;
    em_arena *a = em_arena_create();
    em_status st = a == NULL ? EM_ENOMEM
                             : em_kmeans_model_make(em_array(c, 2), a, &model);

    em_arena_destroy(a);
    return st;
}

static void test_kmeans_model_oom(void **state)
{
    assert_true(em_test_oom_sweep(make_model_once, NULL, 100) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_kmeans_matches_naive_lloyd),
        EM_TEST(test_kmeans_cost_never_increases),
        EM_TEST(test_kmeans_init_modes),
        EM_TEST(test_kmeans_predict_and_cost),
        EM_TEST(test_kmeans_bad_input),
        EM_TEST(test_kmeans_model_oom),
    };
    return cmocka_run_group_tests_name("kmeans", tests, NULL, NULL);
}
