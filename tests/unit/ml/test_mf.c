/* Tests of matrix factorization (ops/ml/als.c, dsgd.c): one ALS iteration
 * against dense normal equations solved here by Gaussian elimination from
 * the documented initial factors, ALS and DSGD recovering a noisy
 * low-rank matrix (held-out RMSE near the noise), the same model on
 * local[1], [2] and [7], predict and RMSE against sums computed here, and
 * bad input.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "em_test.h"
#include "ember/ml_mf.h"

#define NU 60
#define NI 45
#define RANK 3
#define NOISE 0.1

static const char *masters[] = {"local[1]", "local[2]", "local[7]"};

typedef struct synth {
    em_val *train, *test; /* [user, item, rating] records */
    size_t ntrain, ntest;
    double r[NU][NI];     /* the ratings (NAN where none) of train */
} synth;

/* A standard normal number (sum of 12 uniforms, minus 6). */
static double normal(em_test_rng *g)
{
    double s = 0;
    for (int i = 0; i < 12; i++)
        s += (double)em_test_below(g, 1000000) / 1e6;
    return s - 6;
}

/* Ratings u.v + noise of random rank-RANK factors, 40% of the cells
 * observed; every tenth observed cell is held out. */
static void make_synth(em_arena *a, double noise, synth *s)
{
    em_test_rng g = {11};
    double u[NU][RANK], v[NI][RANK];
    size_t k = 0;

    s->train = em_arena_alloc(a, NU * NI * sizeof(em_val));
    s->test = em_arena_alloc(a, NU * NI * sizeof(em_val));
    s->ntrain = s->ntest = 0;
    for (int i = 0; i < NU; i++)
        for (int j = 0; j < RANK; j++)
            u[i][j] = 0.5 + normal(&g) * 0.4;
    for (int i = 0; i < NI; i++)
        for (int j = 0; j < RANK; j++)
            v[i][j] = 0.5 + normal(&g) * 0.4;
    for (int i = 0; i < NU; i++)
        for (int j = 0; j < NI; j++) {
            double x = 0;
            em_val *rec;
            s->r[i][j] = NAN;
            if (em_test_below(&g, 10) >= 4)
                continue;
            for (int d = 0; d < RANK; d++)
                x += u[i][d] * v[j][d];
            x += noise * normal(&g);
            rec = em_array_make(a, 3, k % 10 == 9 ? &s->test[s->ntest++]
                                                  : &s->train[s->ntrain++]);
            rec[0] = em_int(i);
            rec[1] = em_int(100 + j);
            rec[2] = em_float(x);
            if (k++ % 10 != 9)
                s->r[i][j] = x;
        }
}

/* Solves the n x n system M x = b by Gaussian elimination with partial
 * pivoting (M and b overwritten). */
static void gauss_solve(double *M, double *b, int n)
{
    for (int c = 0; c < n; c++) {
        int p = c;
        for (int i = c + 1; i < n; i++)
            if (fabs(M[i * n + c]) > fabs(M[p * n + c]))
                p = i;
        for (int j = 0; j < n; j++) {
            double t = M[c * n + j];
            M[c * n + j] = M[p * n + j];
            M[p * n + j] = t;
        }
        double t = b[c];
        b[c] = b[p];
        b[p] = t;
        for (int i = c + 1; i < n; i++) {
            double f = M[i * n + c] / M[c * n + c];
            for (int j = c; j < n; j++)
                M[i * n + j] -= f * M[c * n + j];
            b[i] -= f * b[c];
        }
    }
    for (int i = n - 1; i >= 0; i--) {
        for (int j = i + 1; j < n; j++)
            b[i] -= M[i * n + j] * b[j];
        b[i] /= M[i * n + i];
    }
}

/* The factor of row `self` (of a side with `n_self` rows) from the other
 * side's factors `other` (n_other rows): the dense weighted-lambda normal
 * equations over its ratings. by_user: self indexes users. */
static void naive_factor(const synth *s, int self, bool by_user,
                         double (*other)[RANK], int n_other, double lambda,
                         double *out)
{
    double M[RANK * RANK] = {0};
    int n = 0;

    memset(out, 0, RANK * sizeof(double));
    for (int o = 0; o < n_other; o++) {
        double r = by_user ? s->r[self][o] : s->r[o][self];
        if (isnan(r))
            continue;
        n++;
        for (int i = 0; i < RANK; i++) {
            out[i] += r * other[o][i];
            for (int j = 0; j < RANK; j++)
                M[i * RANK + j] += other[o][i] * other[o][j];
        }
    }
    for (int i = 0; i < RANK; i++)
        M[i * RANK + i] += lambda * n;
    gauss_solve(M, out, RANK);
}

/* Asserts that the factor of id in a model's factor array equals want. */
static void assert_factor(em_val fs, int64_t id, const double *want)
{
    for (uint32_t i = 0; i < fs.len; i++)
        if (fs.u.arr[i].u.arr[0].u.i == id) {
            for (int k = 0; k < RANK; k++)
                assert_true(fabs(fs.u.arr[i].u.arr[1].u.vec[k] - want[k]) <
                            1e-9);
            return;
        }
    fail_msg("no factor for %lld", (long long)id);
}

static void test_mf_als_iteration_matches_dense_solve(void **state)
{
    static synth s;
    static double u[NU][RANK], v[NI][RANK];
    em_arena *a = em_arena_create();
    em_ctx *ctx = em_test_ctx("local[2]");
    em_als_opts o = {0};
    em_val model, uf, pf;
    int rank;

    make_synth(a, NOISE, &s);
    for (int i = 0; i < NU; i++)
        em_mf_initial_factor(5, em_int(i), RANK, u[i]);
    for (int j = 0; j < NI; j++) /* items from the initial users */
        naive_factor(&s, j, false, u, NU, 0.05, v[j]);
    for (int i = 0; i < NU; i++) /* then users from those items */
        naive_factor(&s, i, true, v, NI, 0.05, u[i]);
    o.iterations = 1;
    o.lambda = 0.05;
    o.seed = 5;
    o.blocks = 3;
    EM_CHECK(em_als_train(em_ctx_parallelize(ctx, s.train, s.ntrain, 4),
                          RANK, &o, a, &model));
    EM_CHECK(em_mf_model_parts(model, &rank, &uf, &pf));
    assert_int_equal(rank, RANK);
    assert_int_equal(uf.len, NU);
    assert_int_equal(pf.len, NI);
    for (int i = 0; i < NU; i++)
        assert_factor(uf, i, u[i]);
    for (int j = 0; j < NI; j++)
        assert_factor(pf, 100 + j, v[j]);
    em_ctx_destroy(ctx);
    em_arena_destroy(a);
}

/* The RMSE of model on the records, computed here from its factors. */
static double naive_rmse(em_val model, const em_val *recs, size_t n)
{
    em_val uf, pf;
    double s = 0;

    EM_CHECK(em_mf_model_parts(model, NULL, &uf, &pf));
    for (size_t k = 0; k < n; k++) {
        const double *x = NULL, *y = NULL;
        double p = 0, r = recs[k].u.arr[2].u.f;
        for (uint32_t i = 0; i < uf.len; i++)
            if (em_val_eq(uf.u.arr[i].u.arr[0], recs[k].u.arr[0]))
                x = uf.u.arr[i].u.arr[1].u.vec;
        for (uint32_t i = 0; i < pf.len; i++)
            if (em_val_eq(pf.u.arr[i].u.arr[0], recs[k].u.arr[1]))
                y = pf.u.arr[i].u.arr[1].u.vec;
        assert_non_null(x);
        assert_non_null(y);
        for (int d = 0; d < RANK; d++)
            p += x[d] * y[d];
        s += (r - p) * (r - p);
    }
    return sqrt(s / (double)n);
}

/* Trains with ALS (dsgd false) or DSGD on every master: the models equal
 * each other, and the held-out RMSE (checked against naive_rmse) is below
 * `bound`. */
static void check_recovers(bool dsgd, double bound)
{
    static synth s;
    em_arena *a = em_arena_create();
    em_val first = em_nil();

    make_synth(a, NOISE, &s);
    for (int m = 0; m < 3; m++) {
        em_ctx *ctx = em_test_ctx(masters[m]);
        em_rdd *train = em_ctx_parallelize(ctx, s.train, s.ntrain, 5);
        em_val model;
        double rmse, rmse_train;
        int64_t skipped = -1;
        if (dsgd) {
            em_dsgd_opts o = {0};
            o.iterations = 60;
            o.d = 3;
            o.seed = 3;
            o.step = 0.3;
            o.lambda = 0.02;
            EM_CHECK(em_dsgd_train(train, RANK, &o, a, &model));
        } else {
            em_als_opts o = {0};
            o.iterations = 10;
            o.blocks = 4;
            o.seed = 3;
            EM_CHECK(em_als_train(train, RANK, &o, a, &model));
        }
        EM_CHECK(em_mf_rmse(model, em_ctx_parallelize(ctx, s.test, s.ntest,
                                                      3),
                            &rmse, &skipped));
        EM_CHECK(em_mf_rmse(model, train, &rmse_train, NULL));
        print_message("%s %s: held-out RMSE %.4f, training %.4f (noise "
                      "%.2f)\n", dsgd ? "DSGD" : "ALS", masters[m], rmse,
                      rmse_train, NOISE);
        assert_true(fabs(rmse - naive_rmse(model, s.test, s.ntest)) < 1e-12);
        assert_int_equal(skipped, 0);
        assert_true(rmse < bound);
        if (m == 0)
            first = model;
        else
            assert_true(em_val_eq(model, first));
        em_ctx_destroy(ctx);
    }
    em_arena_destroy(a);
}

static void test_mf_als_recovers_low_rank(void **state)
{
    check_recovers(false, 1.5 * NOISE);
}

static void test_mf_dsgd_recovers_low_rank(void **state)
{
    check_recovers(true, 1.5 * NOISE);
}

static void test_mf_predict(void **state)
{
    double x[2] = {1, 2}, y[2] = {3, -1}, z[2] = {0.5, 0.5}, p;
    em_val up[2], pp[2], us, ps, model, recs[2], out, pair[2];
    em_arena *a = em_arena_create();
    em_ctx *ctx = em_test_ctx("local[2]");
    em_broadcast *b;

    pair[0] = em_cstr("bob");
    pair[1] = em_vec(x, 2);
    up[0] = em_array(pair, 2);
    EM_CHECK(em_pair_make(a, em_cstr("amy"), em_vec(z, 2), &up[1]));
    EM_CHECK(em_pair_make(a, em_int(7), em_vec(y, 2), &pp[0]));
    EM_CHECK(em_pair_make(a, em_int(3), em_vec(z, 2), &pp[1]));
    EM_CHECK(em_mf_model_make(2, em_array(up, 2), em_array(pp, 2), a,
                              &model));
    EM_CHECK(em_mf_model_parts(model, NULL, &us, &ps));
    assert_true(em_val_eq(us.u.arr[0].u.arr[0], em_cstr("amy")));
    assert_true(em_val_eq(ps.u.arr[0].u.arr[0], em_int(3)));
    EM_CHECK(em_mf_predict(model, em_cstr("bob"), em_int(7), &p));
    assert_true(p == 1.0); /* 1*3 + 2*-1 */
    EM_CHECK(em_mf_predict(model, em_cstr("amy"), em_float(3.0), &p));
    assert_true(p == 0.5);
    assert_int_equal(em_mf_predict(model, em_cstr("cy"), em_int(7), &p),
                     EM_ENOENT);
    assert_non_null(strstr(em_last_error(), "cy"));
    b = em_ctx_broadcast(ctx, model);
    recs[0] = em_array(pair, 2); /* only the first two fields count */
    EM_CHECK(em_pair_make(a, em_cstr("bob"), em_int(7), &recs[0]));
    EM_CHECK(em_pair_make(a, em_cstr("amy"), em_int(7), &recs[1]));
    EM_CHECK(em_rdd_collect(
        em_rdd_map(em_ctx_parallelize(ctx, recs, 2, 2),
                   em_fn_of(em_mf_predict_op, em_broadcast_ref(b))),
        a, &out));
    assert_int_equal(out.len, 2);
    assert_true(out.u.arr[0].u.arr[2].u.f == 1.0);
    assert_true(out.u.arr[1].u.arr[2].u.f == 1.0); /* 1.5 - 0.5 */
    em_ctx_destroy(ctx);
    em_arena_destroy(a);
}

static void test_mf_bad_input(void **state)
{
    em_arena *a = em_arena_create();
    em_ctx *ctx = em_test_ctx("local[2]");
    em_val rec[3], recs[2], model, *r;

    r = em_array_make(a, 3, &recs[0]);
    r[0] = em_int(1);
    r[1] = em_int(2);
    r[2] = em_float(4.0);
    rec[0] = em_int(1);
    rec[1] = em_int(3);
    rec[2] = em_cstr("five stars");
    recs[1] = em_array(rec, 3);
    for (int algo = 0; algo < 2; algo++) {
        em_rdd *rdd = em_ctx_parallelize(ctx, recs, 2, 2);
        em_status st = algo == 0 ? em_als_train(rdd, 2, NULL, a, &model)
                                 : em_dsgd_train(rdd, 2, NULL, a, &model);
        assert_int_equal(st, EM_EUSER);
        assert_non_null(strstr(em_last_error(),
                               "a rating must be [user, item, number]"));
        assert_non_null(strstr(em_last_error(), "five stars"));
    }
    assert_int_equal(em_als_train(em_ctx_parallelize(ctx, recs, 1, 1), 0,
                                  NULL, a, &model), EM_EINVAL);
    assert_int_equal(em_dsgd_train(em_ctx_parallelize(ctx, recs, 1, 1), 0,
                                   NULL, a, &model), EM_EINVAL);
    assert_int_equal(em_als_train(em_ctx_empty(ctx), 2, NULL, a, &model),
                     EM_EEMPTY);
    assert_int_equal(em_dsgd_train(em_ctx_empty(ctx), 2, NULL, a, &model),
                     EM_EEMPTY);
    assert_int_equal(em_mf_model_parts(em_int(1), NULL, NULL, NULL),
                     EM_EFORMAT);
    assert_int_equal(em_mf_model_make(2, em_array(recs, 1),
                                      em_array(recs, 0), a, &model),
                     EM_EINVAL);
    em_ctx_destroy(ctx);
    em_arena_destroy(a);
}

static em_status make_model_once(void *arg)
{
    double x[2] = {1, 2};
    em_val p[2] = {em_int(1), em_vec(x, 2)}, pairs = em_array(p, 2), model;
    em_arena *a = em_arena_create();
    em_status st = a == NULL ? EM_ENOMEM
                             : em_mf_model_make(2, em_array(&pairs, 1),
                                                em_array(&pairs, 1), a,
                                                &model);

    em_arena_destroy(a);
    return st;
}

static void test_mf_model_oom(void **state)
{
    assert_true(em_test_oom_sweep(make_model_once, NULL, 100) > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_mf_als_iteration_matches_dense_solve),
        EM_TEST(test_mf_als_recovers_low_rank),
        EM_TEST(test_mf_dsgd_recovers_low_rank),
        EM_TEST(test_mf_predict),
        EM_TEST(test_mf_bad_input),
        EM_TEST(test_mf_model_oom),
    };
    return cmocka_run_group_tests_name("mf", tests, NULL, NULL);
}
