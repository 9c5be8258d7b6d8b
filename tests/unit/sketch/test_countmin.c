/* Tests of count-min sketches (ops/sketch/countmin.c): the classic sizing
 * by hand; the error bound as a property on a skewed stream against exact
 * counts (never under, over by more than eps N for at most a 1 -
 * confidence fraction), with and without conservative update; merging
 * equals counting the union; values round-trip and corrupt ones are
 * rejected; the RDD builder equals a sketch filled record by record on
 * local[1], [2], [7]; heavy hitters against exact counts.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "em_test.h"
#include "ember/ml.h"

#define DISTINCT 20000
#define N 200000

static const char *masters[] = {"local[1]", "local[2]", "local[7]"};

/* A skewed stream of ints in [0, DISTINCT) and their exact counts. */
static em_val *make_stream(int64_t *counts)
{
    em_test_rng r = {77};
    em_val *s = malloc(N * sizeof(em_val));

    memset(counts, 0, DISTINCT * sizeof(int64_t));
    for (int i = 0; i < N; i++) {
        double u = (double)(em_test_next(&r) >> 11) / 9007199254740992.0;
        int64_t k = (int64_t)(DISTINCT * pow(u, 3)); /* dense near 0 */
        s[i] = em_int(k);
        counts[k]++;
    }
    return s;
}

static void test_cms_sizing(void **state)
{
    em_cms *c = em_cms_create(0.01, 0.99, 1);

    assert_int_equal(em_cms_width(c), 272); /* ceil(e / 0.01) */
    assert_int_equal(em_cms_depth(c), 5);   /* ceil(ln 100) */
    em_cms_destroy(c);
    c = em_cms_create(0.5, 0.5, 1);
    assert_int_equal(em_cms_width(c), 6);
    assert_int_equal(em_cms_depth(c), 1);
    em_cms_destroy(c);
    assert_null(em_cms_create(0, 0.9, 1));
    assert_null(em_cms_create(0.1, 1.0, 1));
    assert_null(em_cms_create(1e-12, 0.9, 1));
    assert_non_null(strstr(em_last_error(), "count-min"));
}

static void check_bound(const em_cms *c, const int64_t *counts, double eps,
                        double conf)
{
    int over = 0;

    assert_int_equal(em_cms_total_count(c), N);
    for (int k = 0; k < DISTINCT; k++) {
        int64_t est = em_cms_estimate_count(c, em_int(k));
        if (est < counts[k])
            fail_msg("item %d: estimate %lld below the count %lld", k,
                     (long long)est, (long long)counts[k]);
        over += (double)(est - counts[k]) > eps * N;
    }
    if ((double)over / DISTINCT > 1 - conf)
        fail_msg("%d of %d estimates over eps N", over, DISTINCT);
}

static void test_cms_error_bound(void **state)
{
    static int64_t counts[DISTINCT];
    em_val *s = make_stream(counts);
    const double eps[3] = {0.0005, 0.002, 0.01}, conf[3] = {0.9, 0.5, 0.99};

    for (int p = 0; p < 3; p++) {
        em_cms *plain = em_cms_create(eps[p], conf[p], 42);
        em_cms *cons = em_cms_create(eps[p], conf[p], 42);
        em_cms_set_conservative(cons, true);
        for (int i = 0; i < N; i++) {
            EM_CHECK(em_cms_add(plain, s[i], 1));
            EM_CHECK(em_cms_add(cons, s[i], 1));
        }
        check_bound(plain, counts, eps[p], conf[p]);
        check_bound(cons, counts, eps[p], conf[p]);
        for (int k = 0; k < DISTINCT; k++)
            assert_true(em_cms_estimate_count(cons, em_int(k)) <=
                        em_cms_estimate_count(plain, em_int(k)));
        em_cms_destroy(plain);
        em_cms_destroy(cons);
    }
    free(s);
}

static void test_cms_merge_and_values(void **state)
{
    em_arena *a = em_arena_create();
    em_cms *x = em_cms_create(0.01, 0.95, 3), *y = em_cms_create(0.01, 0.95, 3);
    em_cms *u = em_cms_create(0.01, 0.95, 3), *z = em_cms_create(0.01, 0.95, 4);
    em_cms *back;
    em_val vx, vu;
    em_test_rng r = {9};
    int64_t est;

    for (int i = 0; i < 5000; i++) {
        em_val v = em_int((int64_t)em_test_below(&r, 300));
        int64_t c = (int64_t)em_test_below(&r, 4);
        EM_CHECK(em_cms_add(i % 2 ? x : y, v, c));
        EM_CHECK(em_cms_add(u, v, c));
    }
    EM_CHECK(em_cms_merge_in_place(x, y));
    EM_CHECK(em_cms_to_val(x, a, &vx));
    EM_CHECK(em_cms_to_val(u, a, &vu));
    assert_true(em_val_eq(vx, vu));
    assert_int_equal(em_cms_merge_in_place(x, z), EM_EINVAL);
    assert_non_null(strstr(em_last_error(), "seed"));
    back = em_cms_from_val(vx);
    for (int k = 0; k < 300; k++) {
        EM_CHECK(em_cms_val_estimate_count(vx, em_int(k), &est));
        assert_int_equal(est, em_cms_estimate_count(u, em_int(k)));
        assert_int_equal(em_cms_estimate_count(back, em_int(k)), est);
    }
    assert_int_equal(em_cms_add(x, em_int(1), -1), EM_EINVAL);
    assert_int_equal(em_cms_add(x, em_int(1), INT64_MAX), EM_ELIMIT);
    assert_null(em_cms_from_val(em_bytes(vx.u.bytes, vx.len - 1)));
    assert_null(em_cms_from_val(em_cstr("EMCM")));
    assert_int_equal(em_cms_val_estimate_count(em_int(1), em_int(1), &est),
                     EM_EFORMAT);
    for (int i = 0; i < 2000; i++) {
        uint8_t *copy = em_arena_alloc(a, vx.len);
        em_cms *c;
        memcpy(copy, vx.u.bytes, vx.len);
        copy[em_test_below(&r, 40)] = (uint8_t)em_test_next(&r);
        c = em_cms_from_val(em_bytes(copy, vx.len));
        if (c != NULL)
            assert_true(em_cms_estimate_count(c, em_int(1)) >= 0 ||
                        em_cms_total_count(c) >= 0);
        em_cms_destroy(c);
    }
    em_cms_destroy(back);
    em_cms_destroy(x);
    em_cms_destroy(y);
    em_cms_destroy(z);
    em_cms_destroy(u);
    em_arena_destroy(a);
}

static void test_cms_rdd_and_heavy_hitters(void **state)
{
    static int64_t counts[DISTINCT];
    em_val *s = make_stream(counts), want, got, hh;
    em_arena *a = em_arena_create();
    em_cms *seq = em_cms_create(0.001, 0.99, 5);
    const double phi = 0.002, eps = 0.0005;

    for (int i = 0; i < N; i++)
        EM_CHECK(em_cms_add(seq, s[i], 1));
    EM_CHECK(em_cms_to_val(seq, a, &want));
    for (int m = 0; m < 3; m++) {
        em_ctx *ctx = em_test_ctx(masters[m]);
        em_rdd *rdd = em_ctx_parallelize(ctx, s, N, 5);
        em_cms *c = em_sketch_count_min(rdd, 0.001, 0.99, 5, false);
        int found = 0;
        assert_non_null(c);
        EM_CHECK(em_cms_to_val(c, a, &got));
        assert_true(em_val_eq(got, want));
        em_cms_destroy(c);
        c = em_sketch_count_min(rdd, 0.001, 0.99, 5, true);
        check_bound(c, counts, 0.001, 0.99);
        em_cms_destroy(c);
        EM_CHECK(em_sketch_heavy_hitters(rdd, phi, eps, 0.99, a, &hh));
        for (uint32_t i = 0; i < hh.len; i++) {
            const em_val *p = hh.u.arr[i].u.arr;
            int64_t k = p[0].u.i;
            assert_true(p[1].u.i >= counts[k]);
            assert_true((double)counts[k] >= (phi - eps) * N);
            if (i > 0)
                assert_true(hh.u.arr[i - 1].u.arr[1].u.i >= p[1].u.i);
        }
        for (int k = 0; k < DISTINCT; k++) {
            if ((double)counts[k] < phi * N)
                continue;
            found++;
            int in = 0;
            for (uint32_t i = 0; i < hh.len; i++)
                in |= hh.u.arr[i].u.arr[0].u.i == k;
            assert_true(in);
        }
        assert_true(found > 10);
        assert_int_equal(em_sketch_heavy_hitters(rdd, 0, eps, 0.99, a, &hh),
                         EM_EINVAL);
        em_ctx_destroy(ctx);
    }
    em_cms_destroy(seq);
    em_arena_destroy(a);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_cms_sizing),
        EM_TEST(test_cms_error_bound),
        EM_TEST(test_cms_merge_and_values),
        EM_TEST(test_cms_rdd_and_heavy_hitters),
    };
    return cmocka_run_group_tests_name("countmin", tests, NULL, NULL);
}
