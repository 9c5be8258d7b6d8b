/* Tests of the LSH sketches (ops/sketch/lsh.c, minhash.c): cosine
 * estimates from random-hyperplane signatures against exact cosines;
 * approximate nearest neighbours against a brute-force scan (recall at 10
 * of the default index on clustered data); the similarity joins against
 * brute-force pair lists (every pair returned is a true one, and most true
 * ones are returned); MinHash estimates against exact Jaccard similarity;
 * on local[1], [2], [7]; bad input.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "em_test.h"
#include "ember/ml.h"

#define DIM 32
#define NPTS 2000

static const char *masters[] = {"local[1]", "local[2]", "local[7]"};

static double gauss(em_test_rng *r)
{
    double u1 = ((double)(em_test_next(r) >> 11) + 0.5) / 9007199254740992.0;
    double u2 = (double)(em_test_next(r) >> 11) / 9007199254740992.0;

    return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

static double naive_cos(const double *x, const double *y)
{
    double xy = 0, xx = 0, yy = 0;

    for (int j = 0; j < DIM; j++) {
        xy += x[j] * y[j];
        xx += x[j] * x[j];
        yy += y[j] * y[j];
    }
    return xy / sqrt(xx * yy);
}

/* NPTS points around 100 centres; records [id, vector] in a. */
static em_val *make_points(em_arena *a, double (*x)[DIM])
{
    static double centres[100][DIM];
    em_test_rng r = {31};
    em_val *recs = em_arena_alloc(a, NPTS * sizeof(em_val));

    for (int c = 0; c < 100; c++)
        for (int j = 0; j < DIM; j++)
            centres[c][j] = gauss(&r);
    for (int i = 0; i < NPTS; i++) {
        int c = (int)em_test_below(&r, 100);
        em_val v;
        double *d = em_vec_make(a, DIM, &v);
        for (int j = 0; j < DIM; j++)
            x[i][j] = d[j] = centres[c][j] + 0.3 * gauss(&r);
        EM_CHECK(em_pair_make(a, em_int(i), v, &recs[i]));
    }
    return recs;
}

static void test_lsh_cosine_estimates(void **state)
{
    em_arena *a = em_arena_create();
    em_rplsh *lsh = em_rplsh_create(DIM, 1024, 7);
    em_test_rng r = {4};

    for (int iter = 0; iter < 60; iter++) {
        double x[DIM], y[DIM], est, exact, mix = (double)iter / 60;
        uint32_t idx[DIM];
        em_val sx, sy, sp, ssp;
        for (int j = 0; j < DIM; j++) {
            x[j] = gauss(&r);
            y[j] = mix * x[j] + (1 - mix) * gauss(&r);
            idx[j] = (uint32_t)j;
        }
        EM_CHECK(em_rplsh_signature(lsh, em_vec(x, DIM), a, &sx));
        EM_CHECK(em_rplsh_signature(lsh, em_vec(y, DIM), a, &sy));
        EM_CHECK(em_spvec_make(a, DIM, idx, x, DIM, &sp));
        EM_CHECK(em_rplsh_signature(lsh, sp, a, &ssp));
        assert_true(em_val_eq(sx, ssp)); /* dense and sparse agree */
        assert_int_equal(sx.len, 128);
        EM_CHECK(em_rplsh_estimate_cosine(sx, sy, 1024, &est));
        EM_CHECK(em_ml_cosine(em_vec(x, DIM), em_vec(y, DIM), &exact));
        assert_true(fabs(exact - naive_cos(x, y)) < 1e-12);
        if (fabs(est - exact) > 0.12)
            fail_msg("estimate %g, exact %g", est, exact);
    }
    {
        em_val s;
        double c;
        assert_int_equal(em_rplsh_signature(lsh, em_vec((double[3]){1, 2, 3},
                                                        3), a, &s),
                         EM_EINVAL);
        assert_int_equal(em_rplsh_estimate_cosine(em_int(1), em_int(1), 8,
                                                  &c), EM_EINVAL);
        assert_null(em_rplsh_create(0, 8, 1));
        assert_null(em_rplsh_create(4, 5000, 1));
    }
    em_rplsh_destroy(lsh);
    em_arena_destroy(a);
}

static int dbl_desc(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;

    return a > b ? -1 : a < b;
}

static void test_lsh_nearest_recall(void **state)
{
    static double x[NPTS][DIM], sims[NPTS];
    em_arena *a = em_arena_create();
    em_val *recs = make_points(a, x);
    em_rplsh *lsh = em_rplsh_create(DIM, 0, 11);

    assert_int_equal(em_rplsh_bits(lsh), 64);
    for (int m = 0; m < 3; m++) {
        em_ctx *ctx = em_test_ctx(masters[m]);
        em_lsh_index *idx = em_rplsh_index_create(
            lsh, em_ctx_parallelize(ctx, recs, NPTS, 4), 0);
        int hits = 0, total = 0;
        assert_non_null(idx);
        for (int q = 0; q < 100; q++) {
            int qi = q * 17;
            em_val got;
            double kth;
            for (int i = 0; i < NPTS; i++)
                sims[i] = naive_cos(x[qi], x[i]);
            qsort(sims, NPTS, sizeof(double), dbl_desc);
            kth = sims[9];
            EM_CHECK(em_lsh_index_nearest(idx, recs[qi].u.arr[1], 10, a,
                                          &got));
            assert_int_equal(got.len, 10);
            for (uint32_t i = 0; i < got.len; i++) {
                const em_val *p = got.u.arr[i].u.arr;
                double c = naive_cos(x[qi], x[p[0].u.i]);
                assert_true(fabs(p[1].u.f - c) < 1e-12);
                if (i > 0)
                    assert_true(got.u.arr[i - 1].u.arr[1].u.f >= p[1].u.f);
                hits += c >= kth;
            }
            total += 10;
        }
        if ((double)hits / total < 0.9)
            fail_msg("%s: recall at 10 is %g", masters[m],
                     (double)hits / total);
        {
            em_val got;
            EM_CHECK(em_lsh_index_nearest(idx, recs[0].u.arr[1], 0, a, &got));
            assert_int_equal(got.len, 0);
            assert_int_equal(em_lsh_index_nearest(idx, em_int(1), 3, a, &got),
                             EM_EINVAL);
        }
        em_lsh_index_destroy(idx);
        em_ctx_destroy(ctx);
    }
    em_rplsh_destroy(lsh);
    em_arena_destroy(a);
}

static void test_lsh_similarity_join(void **state)
{
    static double x[NPTS][DIM];
    em_arena *a = em_arena_create();
    em_val *recs = make_points(a, x);
    em_rplsh *lsh = em_rplsh_create(DIM, 64, 2);
    const int na = 300, nb = 400;
    const double thr = 0.95;
    int want = 0;

    for (int i = 0; i < na; i++)
        for (int j = na; j < na + nb; j++)
            want += naive_cos(x[i], x[j]) >= thr;
    assert_true(want > 50);
    for (int m = 0; m < 3; m++) {
        em_ctx *ctx = em_test_ctx(masters[m]);
        em_val got;
        EM_CHECK(em_rdd_collect(em_rplsh_similarity_join(
                                    lsh, em_ctx_parallelize(ctx, recs, na, 3),
                                    em_ctx_parallelize(ctx, recs + na, nb, 2),
                                    thr, 0),
                                a, &got));
        for (uint32_t i = 0; i < got.len; i++) {
            const em_val *r = got.u.arr[i].u.arr;
            double c = naive_cos(x[r[0].u.i], x[r[1].u.i]);
            assert_true(r[0].u.i < na && r[1].u.i >= na);
            assert_true(c >= thr && fabs(r[2].u.f - c) < 1e-12);
            for (uint32_t j = 0; j < i; j++) /* each pair once */
                assert_false(em_val_eq(got.u.arr[j].u.arr[0], r[0]) &&
                             em_val_eq(got.u.arr[j].u.arr[1], r[1]));
        }
        if (got.len < 0.9 * want)
            fail_msg("%s: %u of %d pairs found", masters[m], got.len, want);
        em_ctx_destroy(ctx);
    }
    em_rplsh_destroy(lsh);
    em_arena_destroy(a);
}

/* Documents: 300 sets of 20 ints from [0, 2000); every third a near copy
 * of the one before (3 of 20 replaced). */
static em_val *make_docs(em_arena *a, int64_t (*sets)[20])
{
    em_test_rng r = {13};
    em_val *docs = em_arena_alloc(a, 300 * sizeof(em_val));

    for (int d = 0; d < 300; d++) {
        em_val toks, *t = em_array_make(a, 20, &toks);
        for (int k = 0; k < 20; k++) {
            sets[d][k] = d % 3 == 2 && k >= 3
                             ? sets[d - 1][k]
                             : (int64_t)em_test_below(&r, 2000);
            t[k] = em_int(sets[d][k]);
        }
        EM_CHECK(em_pair_make(a, em_int(d), toks, &docs[d]));
    }
    return docs;
}

static double naive_jaccard(const int64_t *x, const int64_t *y)
{
    int both = 0, nx = 0, ny = 0;

    for (int i = 0; i < 20; i++) {
        int dup = 0, in = 0;
        for (int j = 0; j < i; j++)
            dup |= x[j] == x[i];
        for (int j = 0; j < 20; j++)
            in |= y[j] == x[i];
        nx += !dup;
        both += !dup && in;
    }
    for (int i = 0; i < 20; i++) {
        int dup = 0;
        for (int j = 0; j < i; j++)
            dup |= y[j] == y[i];
        ny += !dup;
    }
    return (double)both / (nx + ny - both);
}

static void test_minhash(void **state)
{
    static int64_t sets[300][20];
    em_arena *a = em_arena_create();
    em_val *docs = make_docs(a, sets);
    em_minhash *mh = em_minhash_create(128, 32, 3);
    int want = 0;

    for (int d = 1; d < 300; d++) {
        em_val s1, s2;
        double est, j = naive_jaccard(sets[d - 1], sets[d]);
        EM_CHECK(em_minhash_signature(mh, docs[d - 1].u.arr[1], a, &s1));
        EM_CHECK(em_minhash_signature(mh, docs[d].u.arr[1], a, &s2));
        EM_CHECK(em_minhash_estimate_jaccard(s1, s2, &est));
        if (fabs(est - j) > 0.15)
            fail_msg("docs %d, %d: estimate %g, exact %g", d - 1, d, est, j);
    }
    for (int i = 0; i < 300; i++)
        for (int j = i + 1; j < 300; j++)
            want += naive_jaccard(sets[i], sets[j]) >= 0.6;
    assert_true(want >= 90);
    for (int m = 0; m < 3; m++) {
        em_ctx *ctx = em_test_ctx(masters[m]);
        em_val got;
        EM_CHECK(em_rdd_collect(em_minhash_similarity_join(
                                    mh, em_ctx_parallelize(ctx, docs, 300, 3),
                                    0.6),
                                a, &got));
        for (uint32_t i = 0; i < got.len; i++) {
            const em_val *r = got.u.arr[i].u.arr;
            double j = naive_jaccard(sets[r[0].u.i], sets[r[1].u.i]);
            assert_true(r[0].u.i < r[1].u.i);
            assert_true(j >= 0.6 && fabs(r[2].u.f - j) < 1e-12);
        }
        if (got.len < 0.9 * want)
            fail_msg("%s: %u of %d near-duplicates", masters[m], got.len,
                     want);
        em_ctx_destroy(ctx);
    }
    assert_null(em_minhash_create(10, 3, 1));
    {
        em_val s;
        assert_int_equal(em_minhash_signature(mh, em_int(1), a, &s),
                         EM_ETYPE);
    }
    em_minhash_destroy(mh);
    em_arena_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_lsh_cosine_estimates),
        EM_TEST(test_lsh_nearest_recall),
        EM_TEST(test_lsh_similarity_join),
        EM_TEST(test_minhash),
    };
    return cmocka_run_group_tests_name("lsh", tests, NULL, NULL);
}
