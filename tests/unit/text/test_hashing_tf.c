/* Tests of feature hashing (ops/text/hashing_tf.c): transforms against a
 * naive dense accumulation of em_hashing_tf_index and em_hashing_tf_sign
 * for every flag combination; the index and sign as hashes (range, equal
 * values agree, uniform buckets by a chi-square bound, balanced signs on
 * fixed inputs); the RDD operator on local[1], [2], [7]; bad input.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "em_test.h"
#include "ember/ml.h"

static const char *masters[] = {"local[1]", "local[2]", "local[7]"};

/* A document of n tokens: words w0..w39 and a few ints and floats. */
static em_val make_doc(em_arena *a, em_test_rng *r, size_t n)
{
    em_val doc, *items = em_array_make(a, n, &doc);

    for (size_t i = 0; i < n; i++) {
        uint64_t k = em_test_below(r, 50);
        if (k < 40) {
            char buf[8];
            int len = snprintf(buf, sizeof(buf), "w%d", (int)k);
            EM_CHECK(em_str_copy(a, buf, (size_t)len, &items[i]));
        } else {
            items[i] = k % 2 ? em_int((int64_t)k) : em_float((double)k - 1);
        }
    }
    return doc;
}

static void check_against_naive(em_val doc, int64_t nf, unsigned flags,
                                em_val got)
{
    static double dense[512];
    uint32_t k = 0;

    assert_true(nf <= 512);
    assert_int_equal(got.type, EM_SPVEC);
    assert_int_equal(got.u.sp->dim, nf);
    memset(dense, 0, sizeof(dense));
    for (uint32_t i = 0; i < doc.len; i++) {
        em_val t = doc.u.arr[i];
        int dup = 0;
        if (flags & EM_HASHING_BINARY)
            for (uint32_t j = 0; j < i; j++)
                dup |= em_val_eq(doc.u.arr[j], t);
        if (!dup)
            dense[em_hashing_tf_index(nf, t)] +=
                (flags & EM_HASHING_SIGNED) ? em_hashing_tf_sign(t) : 1;
    }
    for (int64_t j = 0; j < nf; j++) {
        if (dense[j] == 0)
            continue;
        assert_true(k < got.len);
        assert_int_equal(got.u.sp->idx[k], j);
        assert_true(got.u.sp->val[k] == dense[j]);
        k++;
    }
    assert_int_equal(k, got.len);
}

static void test_hashing_tf_matches_naive(void **state)
{
    em_test_rng r = {17};
    em_arena *a = em_arena_create();

    for (int iter = 0; iter < 400; iter++) {
        em_val doc = make_doc(a, &r, em_test_below(&r, 60));
        int64_t nf = (int64_t)(1 + em_test_below(&r, 300));
        for (unsigned flags = 0; flags < 4; flags++) {
            em_val v;
            EM_CHECK(em_hashing_tf_transform(nf, flags, doc, a, &v));
            check_against_naive(doc, nf, flags, v);
        }
    }
    em_arena_destroy(a);
}

static void test_hashing_tf_hash_properties(void **state)
{
    enum { BUCKETS = 64, N = 64000 };
    int64_t count[BUCKETS] = {0}, plus = 0;
    double chi2 = 0, expect = (double)N / BUCKETS;

    assert_int_equal(em_hashing_tf_index(1000, em_int(7)),
                     em_hashing_tf_index(1000, em_float(7.0)));
    assert_int_equal(em_hashing_tf_sign(em_int(7)),
                     em_hashing_tf_sign(em_float(7.0)));
    assert_int_equal(em_hashing_tf_index(0, em_int(1)), -1);
    assert_int_equal(em_hashing_tf_index(((int64_t)1 << 32) + 1, em_int(1)),
                     -1);
    for (int i = 0; i < N; i++) {
        char buf[16];
        int len = snprintf(buf, sizeof(buf), "term%d", i);
        int64_t k = em_hashing_tf_index(BUCKETS, em_str(buf, (size_t)len));
        assert_true(k >= 0 && k < BUCKETS);
        count[k]++;
        plus += em_hashing_tf_sign(em_str(buf, (size_t)len)) > 0;
    }
    for (int b = 0; b < BUCKETS; b++)
        chi2 += (count[b] - expect) * (count[b] - expect) / expect;
    /* 63 degrees of freedom: the 99.9% quantile is about 103 */
    assert_true(chi2 < 103);
    assert_true(plus > N * 49 / 100 && plus < N * 51 / 100);
}

static void test_hashing_tf_rdd(void **state)
{
    em_test_rng r = {3};
    em_arena *a = em_arena_create();
    em_val docs[200], want[200], bad = em_cstr("not tokens"), got, v;

    for (int i = 0; i < 200; i++) {
        docs[i] = make_doc(a, &r, em_test_below(&r, 30));
        EM_CHECK(em_hashing_tf_transform(1 << 20, EM_HASHING_SIGNED, docs[i],
                                         a, &want[i]));
    }
    for (int m = 0; m < 3; m++) {
        em_ctx *ctx = em_test_ctx(masters[m]);
        em_rdd *rdd = em_ctx_parallelize(ctx, docs, 200, 4);
        EM_CHECK(em_rdd_collect(em_hashing_tf(rdd, 1 << 20,
                                              EM_HASHING_SIGNED), a, &got));
        assert_int_equal(got.len, 200);
        for (int i = 0; i < 200; i++)
            assert_true(em_val_eq(got.u.arr[i], want[i]));
        assert_null(em_hashing_tf(rdd, 0, 0));
        assert_null(em_hashing_tf(rdd, 10, 8));
        rdd = em_ctx_parallelize(ctx, &bad, 1, 1);
        assert_int_equal(em_rdd_collect(em_hashing_tf(rdd, 10, 0), a, &got),
                         EM_EUSER);
        assert_non_null(strstr(em_last_error(), "must be an array"));
        em_ctx_destroy(ctx);
    }
    assert_int_equal(em_hashing_tf_transform(10, 0, bad, a, &v), EM_ETYPE);
    assert_int_equal(em_hashing_tf_transform(-1, 0, docs[0], a, &v),
                     EM_EINVAL);
    EM_CHECK(em_hashing_tf_transform(10, 0, em_array(NULL, 0), a, &v));
    assert_int_equal(v.len, 0);
    em_arena_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_hashing_tf_matches_naive),
        EM_TEST(test_hashing_tf_hash_properties),
        EM_TEST(test_hashing_tf_rdd),
    };
    return cmocka_run_group_tests_name("hashing_tf", tests, NULL, NULL);
}
