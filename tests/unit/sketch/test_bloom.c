/* Tests of Bloom filters (ops/sketch/bloom.c): sizing against the formulas
 * worked by hand; no false negatives and a measured false-positive rate
 * within 20% of the configured one (a property of the sizing); merging
 * equals building from the union; the value form round-trips and corrupt
 * values are rejected; the RDD builder equals a filter built record by
 * record on local[1], [2], [7]; dropSingletons keeps every repeated value
 * and few singletons.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "em_test.h"
#include "ember/ml.h"

static const char *masters[] = {"local[1]", "local[2]", "local[7]"};

static em_val item(em_arena *a, const char *prefix, int i)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%s%d", prefix, i);
    em_val v;

    EM_CHECK(em_str_copy(a, buf, (size_t)n, &v));
    return v;
}

static void test_bloom_sizing(void **state)
{
    em_bloom *bf = em_bloom_create(1000, 0.01);

    /* m = ceil(1000 * ln(100) / ln(2)^2) = ceil(9585.06); k = round(6.64) */
    assert_int_equal(em_bloom_bit_size(bf), 9586);
    assert_int_equal(em_bloom_num_hashes(bf), 7);
    assert_true(em_bloom_expected_fpp(bf) == 0);
    em_bloom_destroy(bf);
    assert_null(em_bloom_create(0, 0.01));
    assert_null(em_bloom_create(10, 1.0));
    assert_null(em_bloom_create(10, 0));
    assert_null(em_bloom_create_bits(10, 0));
    assert_null(em_bloom_create_bits(((int64_t)1 << 34) + 1, 3));
    assert_non_null(strstr(em_last_error(), "Bloom"));
}

static void test_bloom_fpp_property(void **state)
{
    const int n = 20000, queries = 200000;
    const double p = 0.03;
    em_arena *a = em_arena_create();
    em_bloom *bf = em_bloom_create(n, p);
    int fp = 0;
    double rate;

    for (int i = 0; i < n; i++)
        em_bloom_put(bf, item(a, "member", i));
    for (int i = 0; i < n; i++)
        assert_true(em_bloom_might_contain(bf, item(a, "member", i)));
    for (int i = 0; i < queries; i++)
        fp += em_bloom_might_contain(bf, item(a, "other", i));
    rate = (double)fp / queries;
    if (fabs(rate - p) > 0.2 * p)
        fail_msg("measured fpp %g, configured %g", rate, p);
    assert_true(fabs(em_bloom_expected_fpp(bf) - p) < 0.2 * p);
    /* ints and equal floats are the same item */
    em_bloom_put(bf, em_int(123456789));
    assert_true(em_bloom_might_contain(bf, em_float(123456789.0)));
    em_bloom_destroy(bf);
    em_arena_destroy(a);
}

static void test_bloom_merge_and_values(void **state)
{
    em_arena *a = em_arena_create();
    em_bloom *x = em_bloom_create(500, 0.05), *y = em_bloom_create(500, 0.05);
    em_bloom *u = em_bloom_create(500, 0.05), *other = em_bloom_create(50, 0.05);
    em_bloom *back;
    em_val vx, vu, bad;
    em_test_rng r = {5};
    bool hit;

    for (int i = 0; i < 400; i++) {
        em_val v = item(a, "k", (int)em_test_below(&r, 1000));
        em_bloom_put(i % 2 ? x : y, v);
        em_bloom_put(u, v);
    }
    EM_CHECK(em_bloom_merge_in_place(x, y));
    EM_CHECK(em_bloom_to_val(x, a, &vx));
    EM_CHECK(em_bloom_to_val(u, a, &vu));
    assert_true(em_val_eq(vx, vu));
    assert_int_equal(em_bloom_merge_in_place(x, other), EM_EINVAL);
    assert_non_null(strstr(em_last_error(), "cannot merge"));
    back = em_bloom_from_val(vx);
    assert_non_null(back);
    for (int i = 0; i < 1000; i++) {
        em_val v = item(a, "k", i);
        EM_CHECK(em_bloom_val_might_contain(vx, v, &hit));
        assert_int_equal(hit, em_bloom_might_contain(u, v));
        assert_int_equal(em_bloom_might_contain(back, v), hit);
    }
    /* corrupt values: wrong type, magic, length; random header bytes */
    assert_null(em_bloom_from_val(em_int(3)));
    assert_int_equal(em_bloom_val_might_contain(em_cstr("EMBF"), em_int(1),
                                                &hit), EM_EFORMAT);
    bad = em_bytes(vx.u.bytes, vx.len - 8);
    assert_null(em_bloom_from_val(bad));
    for (int i = 0; i < 2000; i++) {
        uint8_t *copy = em_arena_alloc(a, vx.len);
        em_bloom *f;
        memcpy(copy, vx.u.bytes, vx.len);
        copy[em_test_below(&r, 24)] = (uint8_t)em_test_next(&r);
        f = em_bloom_from_val(em_bytes(copy, vx.len));
        if (f != NULL) { /* still a valid layout: usable */
            em_bloom_put(f, em_int(i));
            assert_true(em_bloom_might_contain(f, em_int(i)));
        }
        em_bloom_destroy(f);
    }
    em_bloom_destroy(back);
    em_bloom_destroy(x);
    em_bloom_destroy(y);
    em_bloom_destroy(u);
    em_bloom_destroy(other);
    em_arena_destroy(a);
}

static void test_bloom_rdd(void **state)
{
    em_arena *a = em_arena_create();
    em_val items[3000], want, got;
    em_bloom *seq = em_bloom_create(3000, 0.01);
    em_test_rng r = {8};

    for (int i = 0; i < 3000; i++) {
        items[i] = i % 3 ? item(a, "w", (int)em_test_below(&r, 5000))
                         : em_int((int64_t)em_test_below(&r, 5000));
        em_bloom_put(seq, items[i]);
    }
    EM_CHECK(em_bloom_to_val(seq, a, &want));
    for (int m = 0; m < 3; m++) {
        em_ctx *ctx = em_test_ctx(masters[m]);
        for (int slices = 1; slices <= 9; slices += 4) {
            em_bloom *bf = em_sketch_bloom_filter(
                em_ctx_parallelize(ctx, items, 3000, slices), 3000, 0.01);
            assert_non_null(bf);
            EM_CHECK(em_bloom_to_val(bf, a, &got));
            assert_true(em_val_eq(got, want));
            em_bloom_destroy(bf);
        }
        {
            em_bloom *bf = em_sketch_bloom_filter(em_ctx_empty(ctx), 10, 0.1);
            assert_non_null(bf);
            assert_false(em_bloom_might_contain(bf, em_int(1)));
            em_bloom_destroy(bf);
        }
        em_ctx_destroy(ctx);
    }
    em_bloom_destroy(seq);
    em_arena_destroy(a);
}

static int val_qcmp(const void *x, const void *y)
{
    return em_val_cmp(*(const em_val *)x, *(const em_val *)y);
}

static void test_bloom_drop_singletons(void **state)
{
    enum { DISTINCT = 4000 };
    static int mult[DISTINCT];
    em_arena *a = em_arena_create();
    em_val *items = malloc(4 * DISTINCT * sizeof(em_val)), got;
    em_test_rng r = {21};
    size_t n = 0;
    int singletons = 0;

    for (int i = 0; i < DISTINCT; i++) {
        mult[i] = em_test_below(&r, 2) ? 1 : 2 + (int)em_test_below(&r, 3);
        singletons += mult[i] == 1;
        for (int k = 0; k < mult[i]; k++)
            items[n++] = em_int(i);
    }
    for (size_t i = n - 1; i > 0; i--) { /* shuffle */
        size_t j = em_test_below(&r, i + 1);
        em_val t = items[i];
        items[i] = items[j];
        items[j] = t;
    }
    for (int m = 0; m < 3; m++) {
        em_ctx *ctx = em_test_ctx(masters[m]);
        em_rdd *kept = em_sketch_drop_singletons(
            em_ctx_parallelize(ctx, items, n, 1 + 3 * m), DISTINCT, 0.01);
        int seen[DISTINCT] = {0}, extra = 0;
        EM_CHECK(em_rdd_collect(kept, a, &got));
        qsort((void *)got.u.arr, got.len, sizeof(em_val), val_qcmp);
        for (uint32_t i = 0; i < got.len; i++)
            seen[got.u.arr[i].u.i]++;
        for (int i = 0; i < DISTINCT; i++) {
            if (mult[i] >= 2)
                assert_int_equal(seen[i], mult[i]); /* every copy kept */
            else
                extra += seen[i];
        }
        /* singletons survive at about the fpp (a few times it with many
         * partitions, whose once-filters are intersected pairwise) */
        if (extra > singletons * 0.01 * 4 + 5)
            fail_msg("%s: %d of %d singletons kept", masters[m], extra,
                     singletons);
        em_ctx_destroy(ctx);
    }
    free(items);
    em_arena_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_bloom_sizing),
        EM_TEST(test_bloom_fpp_property),
        EM_TEST(test_bloom_merge_and_values),
        EM_TEST(test_bloom_rdd),
        EM_TEST(test_bloom_drop_singletons),
    };
    return cmocka_run_group_tests_name("bloom", tests, NULL, NULL);
}
