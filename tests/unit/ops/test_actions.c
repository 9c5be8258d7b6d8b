/* Tests of the actions (ops/core/actions.c, aggregate.c): collect, count,
 * first, take, takeOrdered, top, reduce, fold, aggregate and their tree
 * forms, sum, mean, max, min, stats, histogram, countByValue, isEmpty,
 * takeSample, foreach, foreachPartition, collectAsMap, and failing user
 * functions.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "em_test.h"

/* ---- helpers ---- */

static void expect_val(em_val got, em_val want, const char *what)
{
    char g[512], w[512];

    if (em_val_eq(got, want))
        return;
    em_val_format(got, g, sizeof(g));
    em_val_format(want, w, sizeof(w));
    fail_msg("%s: got %s, want %s", what, g, w);
}

static em_val int_array(em_arena *a, const int64_t *x, size_t n)
{
    em_val v, *items = em_array_make(a, n, &v);

    assert_true(items != NULL || n == 0);
    for (size_t i = 0; i < n; i++)
        items[i] = em_int(x[i]);
    return v;
}

static void expect_ints(em_val arr, const int64_t *x, size_t n,
                        const char *what)
{
    em_arena *a = em_arena_create();

    assert_int_equal(arr.type, EM_ARRAY);
    expect_val(arr, int_array(a, x, n), what);
    em_arena_destroy(a);
}

static em_rdd *ints_rdd(em_ctx *ctx, const int64_t *x, size_t n, int slices)
{
    em_arena *a = em_arena_create();
    em_val v = int_array(a, x, n);
    em_rdd *r = em_ctx_parallelize(ctx, v.u.arr, n, slices);

    em_arena_destroy(a); /* parallelize copied the values */
    assert_non_null(r);
    return r;
}

static em_rdd *floats_rdd(em_ctx *ctx, const double *x, size_t n, int slices)
{
    em_val *v = calloc(n ? n : 1, sizeof(*v));
    em_rdd *r;

    for (size_t i = 0; i < n; i++)
        v[i] = em_float(x[i]);
    r = em_ctx_parallelize(ctx, v, n, slices);
    free(v);
    assert_non_null(r);
    return r;
}

static em_val collect(em_rdd *r, em_arena *a)
{
    em_val out;

    assert_non_null(r);
    EM_CHECK(em_rdd_collect(r, a, &out));
    return out;
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

    return (a > b) - (a < b);
}

/* ---- user functions ---- */

static atomic_long map_calls;

static em_status fn_counted_id(em_task *t, const em_val *env,
                               const em_val *args, size_t nargs, em_val *out)
{
    atomic_fetch_add(&map_calls, 1);
    *out = args[0];
    return EM_OK;
}

static em_status fn_ge_env(em_task *t, const em_val *env, const em_val *args,
                           size_t nargs, em_val *out)
{
    *out = em_bool(args[0].u.i >= env->u.i);
    return EM_OK;
}

static em_status fn_neg(em_task *t, const em_val *env, const em_val *args,
                        size_t nargs, em_val *out)
{
    *out = em_int(-args[0].u.i);
    return EM_OK;
}

/* |x| as the key */
static em_status fn_abs(em_task *t, const em_val *env, const em_val *args,
                        size_t nargs, em_val *out)
{
    *out = em_int(llabs(args[0].u.i));
    return EM_OK;
}

static em_status fn_str_len(em_task *t, const em_val *env, const em_val *args,
                            size_t nargs, em_val *out)
{
    *out = em_int(args[0].len);
    return EM_OK;
}

static em_status fn_boom(em_task *t, const em_val *env, const em_val *args,
                         size_t nargs, em_val *out)
{
    if (args[0].u.i == env->u.i)
        return em_task_fail(t, "boom %d", 7);
    *out = args[0];
    return EM_OK;
}

/* aggregate seq: (sum, count), x -> (sum + x, count + 1) */
static em_status fn_seq_sum_count(em_task *t, const em_val *env,
                                  const em_val *args, size_t nargs, em_val *out)
{
    const em_val *acc = args[0].u.arr;

    assert_int_equal(nargs, 2);
    assert_true(em_val_is_pair(args[0]));
    return em_pair_make(em_task_arena(t), em_int(acc[0].u.i + args[1].u.i),
                        em_int(acc[1].u.i + 1), out);
}

/* aggregate comb: (s1, c1), (s2, c2) -> (s1 + s2, c1 + c2) */
static em_status fn_comb_sum_count(em_task *t, const em_val *env,
                                   const em_val *args, size_t nargs,
                                   em_val *out)
{
    const em_val *x = args[0].u.arr, *y = args[1].u.arr;

    assert_int_equal(nargs, 2);
    assert_true(em_val_is_pair(args[0]) && em_val_is_pair(args[1]));
    return em_pair_make(em_task_arena(t), em_int(x[0].u.i + y[0].u.i),
                        em_int(x[1].u.i + y[1].u.i), out);
}

/* seq returning its accumulator argument itself when x is even. */
static em_status fn_seq_keep_acc(em_task *t, const em_val *env,
                                 const em_val *args, size_t nargs, em_val *out)
{
    if (args[1].u.i % 2 == 0) {
        *out = args[0];
        return EM_OK;
    }
    return fn_seq_sum_count(t, env, args, nargs, out);
}

/* ---- collect, count, first, take ---- */

static void test_actions_collect_count(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_val items[4], got;
    int64_t n;

    items[0] = em_cstr("a");
    items[1] = em_float(1.5);
    items[2] = em_nil();
    items[3] = em_array(items, 2);
    got = collect(em_ctx_parallelize(ctx, items, 4, 3), a);
    expect_val(got, em_array(items, 4), "collect");
    EM_CHECK(em_rdd_count(em_ctx_range(ctx, 0, 12345, 1, 7), &n));
    assert_int_equal(n, 12345);
    EM_CHECK(em_rdd_count(em_ctx_empty(ctx), &n));
    assert_int_equal(n, 0);
    EM_CHECK(em_rdd_count(em_ctx_parallelize(ctx, NULL, 0, 5), &n));
    assert_int_equal(n, 0);
    assert_int_not_equal(em_rdd_count(NULL, &n), EM_OK);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_actions_first(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    int64_t one = 42;
    em_val v;

    EM_CHECK(em_rdd_first(em_ctx_range(ctx, 5, 100, 1, 4), a, &v));
    expect_val(v, em_int(5), "first");
    /* the only record in the last of 10 partitions */
    EM_CHECK(em_rdd_first(ints_rdd(ctx, &one, 1, 10), a, &v));
    expect_val(v, em_int(42), "first in last partition");
    assert_int_equal(em_rdd_first(em_ctx_empty(ctx), a, &v), EM_EEMPTY);
    assert_int_equal(em_rdd_first(em_ctx_parallelize(ctx, NULL, 0, 4), a, &v),
                     EM_EEMPTY);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_actions_take(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_rdd *r = em_ctx_range(ctx, 0, 100, 1, 10);
    int64_t first5[] = {0, 1, 2, 3, 4}, last[] = {90, 91, 92, 93, 94};
    int64_t small[] = {0, 1, 2};
    em_val v;

    EM_CHECK(em_rdd_take(r, 5, a, &v));
    expect_ints(v, first5, 5, "take 5");
    EM_CHECK(em_rdd_take(r, 0, a, &v));
    assert_int_equal(v.type, EM_ARRAY);
    assert_int_equal(v.len, 0);
    EM_CHECK(em_rdd_take(em_ctx_range(ctx, 0, 3, 1, 2), 50, a, &v));
    expect_ints(v, small, 3, "take more than there is");
    EM_CHECK(em_rdd_take(r, 1000000, a, &v));
    assert_int_equal(v.len, 100);
    /* data only in the last of 10 partitions */
    EM_CHECK(em_rdd_take(em_rdd_filter(r, em_fn_of(fn_ge_env, em_int(90))), 5,
                         a, &v));
    expect_ints(v, last, 5, "take past empty partitions");
    EM_CHECK(em_rdd_take(em_rdd_filter(r, em_fn_of(fn_ge_env, em_int(90))), 30,
                         a, &v));
    assert_int_equal(v.len, 10);
    /* across partition boundaries, in order */
    EM_CHECK(em_rdd_take(r, 35, a, &v));
    assert_int_equal(v.len, 35);
    for (int64_t i = 0; i < 35; i++)
        expect_val(v.u.arr[i], em_int(i), "take 35");
    /* nothing to take */
    EM_CHECK(em_rdd_take(em_ctx_empty(ctx), 3, a, &v));
    assert_int_equal(v.len, 0);
    assert_int_not_equal(em_rdd_take(r, -1, a, &v), EM_OK);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* take with the largest count scans every partition (its batch estimate
 * must not overflow). */
static void test_actions_take_huge_count(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_val v;

    EM_CHECK(em_rdd_take(em_ctx_range(ctx, 0, 10, 1, 10), INT64_MAX, a, &v));
    assert_int_equal(v.len, 10);
    EM_CHECK(
        em_rdd_take(em_ctx_range(ctx, 0, 100, 1, 10), INT64_MAX / 2, a, &v));
    assert_int_equal(v.len, 100);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* take stops the pipeline once it has enough records. */
static void test_actions_take_stops_early(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_rdd *r =
        em_rdd_map(em_ctx_range(ctx, 0, 100000, 1, 10), EM_FN(fn_counted_id));
    em_val v;

    atomic_store(&map_calls, 0);
    EM_CHECK(em_rdd_first(r, a, &v));
    expect_val(v, em_int(0), "first");
    assert_int_equal(atomic_load(&map_calls), 1);
    atomic_store(&map_calls, 0);
    EM_CHECK(em_rdd_take(r, 10, a, &v));
    assert_int_equal(atomic_load(&map_calls), 10);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* ---- takeOrdered, top, max, min ---- */

static void test_actions_take_ordered_top(void **state)
{
    em_ctx *ctx = em_test_ctx("local[3]");
    em_arena *a = em_arena_create();
    em_test_rng rng = {1234};
    int64_t x[500], sorted[500], neg_sorted[5];
    em_rdd *r;
    em_val v;

    for (int i = 0; i < 500; i++)
        x[i] = sorted[i] = (int64_t)em_test_below(&rng, 1000000) - 500000;
    qsort(sorted, 500, sizeof(sorted[0]), cmp_i64);
    r = ints_rdd(ctx, x, 500, 7);

    EM_CHECK(em_rdd_take_ordered(r, 5, EM_FN_NONE, a, &v));
    expect_ints(v, sorted, 5, "takeOrdered");
    EM_CHECK(em_rdd_take_ordered(r, 500, EM_FN_NONE, a, &v));
    expect_ints(v, sorted, 500, "takeOrdered all");
    EM_CHECK(em_rdd_take_ordered(r, 100000, EM_FN_NONE, a, &v));
    expect_ints(v, sorted, 500, "takeOrdered more than all");
    EM_CHECK(em_rdd_take_ordered(r, 0, EM_FN_NONE, a, &v));
    assert_int_equal(v.len, 0);
    /* with a key: by -x is the largest first */
    for (int i = 0; i < 5; i++)
        neg_sorted[i] = sorted[499 - i];
    EM_CHECK(em_rdd_take_ordered(r, 5, EM_FN(fn_neg), a, &v));
    expect_ints(v, neg_sorted, 5, "takeOrdered by -x");
    EM_CHECK(em_rdd_top(r, 5, EM_FN_NONE, a, &v));
    expect_ints(v, neg_sorted, 5, "top");
    EM_CHECK(em_rdd_top(r, 5, EM_FN(fn_neg), a, &v));
    expect_ints(v, sorted, 5, "top by -x");
    EM_CHECK(em_rdd_top(r, 0, EM_FN_NONE, a, &v));
    assert_int_equal(v.len, 0);
    /* PySpark's examples */
    {
        int64_t y[] = {10, 1, 2, 9, 3, 4, 5, 6, 7}, w1[] = {1, 2, 3, 4, 5, 6};
        int64_t w2[] = {10, 9, 7, 6, 5, 4};
        em_rdd *p = ints_rdd(ctx, y, 9, 2);
        EM_CHECK(em_rdd_take_ordered(p, 6, EM_FN_NONE, a, &v));
        expect_ints(v, w1, 6, "takeOrdered example");
        EM_CHECK(em_rdd_take_ordered(p, 6, EM_FN(fn_neg), a, &v));
        expect_ints(v, w2, 6, "takeOrdered example with key");
    }
    /* empty input */
    EM_CHECK(em_rdd_take_ordered(em_ctx_empty(ctx), 3, EM_FN_NONE, a, &v));
    assert_int_equal(v.len, 0);
    EM_CHECK(
        em_rdd_top(em_ctx_parallelize(ctx, NULL, 0, 3), 3, EM_FN_NONE, a, &v));
    assert_int_equal(v.len, 0);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* takeOrdered over more records per partition than its compaction
 * threshold, and strings. */
static void test_actions_take_ordered_large(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    const size_t n = 5000;
    int64_t *x = calloc(n, sizeof(*x)), *sorted = calloc(n, sizeof(*sorted));
    em_test_rng rng = {99};
    em_val v;
    em_rdd *r;

    for (size_t i = 0; i < n; i++)
        x[i] = sorted[i] = (int64_t)em_test_next(&rng);
    qsort(sorted, n, sizeof(*sorted), cmp_i64);
    r = ints_rdd(ctx, x, n, 2);
    EM_CHECK(em_rdd_take_ordered(r, 700, EM_FN_NONE, a, &v));
    expect_ints(v, sorted, 700, "takeOrdered 700 of 5000");
    EM_CHECK(em_rdd_take_ordered(r, 3000, EM_FN_NONE, a, &v));
    expect_ints(v, sorted, 3000, "takeOrdered 3000 of 5000");
    /* with a key, through the same compaction */
    {
        int64_t *desc = calloc(n, sizeof(*desc));
        for (size_t i = 0; i < n; i++)
            desc[i] = sorted[n - 1 - i];
        EM_CHECK(em_rdd_take_ordered(r, 700, EM_FN(fn_neg), a, &v));
        expect_ints(v, desc, 700, "takeOrdered 700 by -x");
        EM_CHECK(em_rdd_top(r, 1500, EM_FN_NONE, a, &v));
        expect_ints(v, desc, 1500, "top 1500");
        free(desc);
    }
    {
        const char *s[] = {"pear", "apple", "fig", "banana", "kiwi", "date"};
        em_val items[6], want[3];
        for (int i = 0; i < 6; i++)
            items[i] = em_cstr(s[i]);
        r = em_ctx_parallelize(ctx, items, 6, 3);
        EM_CHECK(em_rdd_take_ordered(r, 3, EM_FN_NONE, a, &v));
        want[0] = em_cstr("apple");
        want[1] = em_cstr("banana");
        want[2] = em_cstr("date");
        expect_val(v, em_array(want, 3), "takeOrdered strings");
        EM_CHECK(em_rdd_top(r, 2, EM_FN(fn_str_len), a, &v));
        want[0] = em_cstr("banana");
        want[1] = em_cstr("apple");
        expect_val(v, em_array(want, 2), "top by length");
        /* ties keep the input order, as heapq.nsmallest/nlargest */
        EM_CHECK(em_rdd_take_ordered(r, 3, EM_FN(fn_str_len), a, &v));
        want[0] = em_cstr("fig");
        want[1] = em_cstr("pear");
        want[2] = em_cstr("kiwi");
        expect_val(v, em_array(want, 3), "takeOrdered ties by length");
        EM_CHECK(em_rdd_top(r, 3, EM_FN(fn_str_len), a, &v));
        want[0] = em_cstr("banana");
        want[1] = em_cstr("apple");
        want[2] = em_cstr("pear");
        expect_val(v, em_array(want, 3), "top ties by length");
    }
    free(x);
    free(sorted);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_actions_max_min(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    int64_t x[] = {3, -17, 8, 12, -2, 0, 11};
    em_rdd *r = ints_rdd(ctx, x, 7, 3);
    em_val v;

    EM_CHECK(em_rdd_max(r, EM_FN_NONE, a, &v));
    expect_val(v, em_int(12), "max");
    EM_CHECK(em_rdd_min(r, EM_FN_NONE, a, &v));
    expect_val(v, em_int(-17), "min");
    EM_CHECK(em_rdd_max(r, EM_FN(fn_abs), a, &v));
    expect_val(v, em_int(-17), "max by abs");
    EM_CHECK(em_rdd_min(r, EM_FN(fn_abs), a, &v));
    expect_val(v, em_int(0), "min by abs");
    EM_CHECK(em_rdd_max(r, EM_FN(fn_neg), a, &v));
    expect_val(v, em_int(-17), "max by -x");
    /* mixed numbers compare by value */
    {
        em_val m[] = {em_int(2), em_float(2.5), em_int(-1), em_float(-1.5)};
        em_rdd *p = em_ctx_parallelize(ctx, m, 4, 2);
        EM_CHECK(em_rdd_max(p, EM_FN_NONE, a, &v));
        expect_val(v, em_float(2.5), "max mixed");
        assert_int_equal(v.type, EM_FLOAT);
        EM_CHECK(em_rdd_min(p, EM_FN_NONE, a, &v));
        expect_val(v, em_float(-1.5), "min mixed");
    }
    assert_int_equal(em_rdd_max(em_ctx_empty(ctx), EM_FN_NONE, a, &v),
                     EM_EEMPTY);
    assert_int_equal(
        em_rdd_min(em_ctx_parallelize(ctx, NULL, 0, 3), EM_FN_NONE, a, &v),
        EM_EEMPTY);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* ---- reduce, fold, aggregate ---- */

static void test_actions_reduce(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_val v;

    EM_CHECK(em_rdd_reduce(em_ctx_range(ctx, 1, 101, 1, 7), EM_FN(em_op_add), a,
                           &v));
    expect_val(v, em_int(5050), "reduce add");
    assert_int_equal(v.type, EM_INT);
    EM_CHECK(
        em_rdd_reduce(em_ctx_range(ctx, 1, 11, 1, 3), EM_FN(em_op_mul), a, &v));
    expect_val(v, em_int(3628800), "reduce mul");
    EM_CHECK(
        em_rdd_reduce(em_ctx_range(ctx, 7, 8, 1, 1), EM_FN(em_op_add), a, &v));
    expect_val(v, em_int(7), "reduce of one");
    assert_int_equal(em_rdd_reduce(em_ctx_empty(ctx), EM_FN(em_op_add), a, &v),
                     EM_EEMPTY);
    assert_int_not_equal(
        em_rdd_reduce(em_ctx_range(ctx, 0, 3, 1, 1), EM_FN_NONE, a, &v), EM_OK);
    /* strings */
    {
        em_val s[] = {em_cstr("b"), em_cstr("zz"), em_cstr("a")};
        EM_CHECK(em_rdd_reduce(em_ctx_parallelize(ctx, s, 3, 2),
                               EM_FN(em_op_max), a, &v));
        expect_val(v, em_cstr("zz"), "reduce max strings");
    }
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* reduce where some partitions (first, middle, last) are empty. */
static void test_actions_reduce_empty_partitions(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    int64_t two[] = {1, 2};
    em_val v;

    /* every partition empty */
    assert_int_equal(em_rdd_reduce(em_ctx_parallelize(ctx, NULL, 0, 4),
                                   EM_FN(em_op_add), a, &v),
                     EM_EEMPTY);
    /* 2 records over 5 slices: slices 0, 1 and 3 are empty */
    EM_CHECK(em_rdd_reduce(ints_rdd(ctx, two, 2, 5), EM_FN(em_op_add), a, &v));
    expect_val(v, em_int(3), "reduce with empty partitions");
    /* only the last partition has data */
    EM_CHECK(em_rdd_reduce(em_rdd_filter(em_ctx_range(ctx, 0, 100, 1, 10),
                                         em_fn_of(fn_ge_env, em_int(95))),
                           EM_FN(em_op_add), a, &v));
    expect_val(v, em_int(95 + 96 + 97 + 98 + 99), "reduce last only");
    for (int depth = 1; depth <= 4; depth++) {
        EM_CHECK(em_rdd_tree_reduce(ints_rdd(ctx, two, 2, 9), EM_FN(em_op_add),
                                    depth, a, &v));
        expect_val(v, em_int(3), "treeReduce with empty partitions");
    }
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_actions_fold(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    int64_t x[] = {1, 2, 3};
    em_val v;

    /* zero once per partition and once at the driver:
     * (1 + 1) + (1 + 2 + 3) + 1 = 9 */
    EM_CHECK(em_rdd_fold(ints_rdd(ctx, x, 3, 2), em_int(1), EM_FN(em_op_add), a,
                         &v));
    expect_val(v, em_int(9), "fold(1, add)");
    /* in general: sum + zero * (partitions + 1) */
    for (int s = 1; s <= 12; s++) {
        EM_CHECK(em_rdd_fold(em_ctx_range(ctx, 0, 10, 1, s), em_int(5),
                             EM_FN(em_op_add), a, &v));
        expect_val(v, em_int(45 + 5 * (s + 1)), "fold zero 5");
    }
    /* the PySpark example: fold(0, add) of [1..5] is 15 */
    {
        int64_t y[] = {1, 2, 3, 4, 5};
        EM_CHECK(em_rdd_fold(ints_rdd(ctx, y, 5, 3), em_int(0),
                             EM_FN(em_op_add), a, &v));
        expect_val(v, em_int(15), "fold(0, add)");
    }
    /* empty: zero per (empty) partition, and at the driver */
    EM_CHECK(em_rdd_fold(em_ctx_parallelize(ctx, NULL, 0, 3), em_int(1),
                         EM_FN(em_op_add), a, &v));
    expect_val(v, em_int(4), "fold of empty partitions");
    EM_CHECK(
        em_rdd_fold(em_ctx_empty(ctx), em_int(1), EM_FN(em_op_add), a, &v));
    expect_val(v, em_int(1), "fold of emptyRDD");
    /* a string zero; partitions are combined in order */
    {
        em_val s[] = {em_cstr("a"), em_cstr("b"), em_cstr("c")};
        EM_CHECK(em_rdd_fold(em_ctx_parallelize(ctx, s, 3, 1), em_cstr(""),
                             EM_FN(em_op_concat), a, &v));
        expect_val(v, em_cstr("abc"), "fold concat");
    }
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_actions_aggregate(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    int64_t x[] = {1, 2, 3, 4};
    em_val zero, v, want, zero_items[2] = {em_int(0), em_int(0)};

    zero = em_array(zero_items, 2);
    EM_CHECK(em_rdd_aggregate(ints_rdd(ctx, x, 4, 2), zero,
                              EM_FN(fn_seq_sum_count), EM_FN(fn_comb_sum_count),
                              a, &v));
    EM_CHECK(em_pair_make(a, em_int(10), em_int(4), &want));
    expect_val(v, want, "aggregate (sum, count)");
    EM_CHECK(em_rdd_aggregate(em_ctx_range(ctx, 0, 1000, 1, 13), zero,
                              EM_FN(fn_seq_sum_count), EM_FN(fn_comb_sum_count),
                              a, &v));
    EM_CHECK(em_pair_make(a, em_int(499500), em_int(1000), &want));
    expect_val(v, want, "aggregate range");
    /* a seq that returns its accumulator argument */
    EM_CHECK(em_rdd_aggregate(em_ctx_range(ctx, 0, 100, 1, 6), zero,
                              EM_FN(fn_seq_keep_acc), EM_FN(fn_comb_sum_count),
                              a, &v));
    EM_CHECK(em_pair_make(a, em_int(2500), em_int(50), &want));
    expect_val(v, want, "aggregate keeping acc");
    /* empty input gives the zero */
    EM_CHECK(em_rdd_aggregate(em_ctx_empty(ctx), zero, EM_FN(fn_seq_sum_count),
                              EM_FN(fn_comb_sum_count), a, &v));
    expect_val(v, zero, "aggregate empty");
    EM_CHECK(em_rdd_aggregate(em_ctx_parallelize(ctx, NULL, 0, 4), zero,
                              EM_FN(fn_seq_sum_count), EM_FN(fn_comb_sum_count),
                              a, &v));
    expect_val(v, zero, "aggregate empty partitions");
    assert_int_not_equal(em_rdd_aggregate(em_ctx_empty(ctx), zero, EM_FN_NONE,
                                          EM_FN(fn_comb_sum_count), a, &v),
                         EM_OK);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_actions_tree(void **state)
{
    em_ctx *ctx = em_test_ctx("local[3]");
    em_arena *a = em_arena_create();
    static const int parts[] = {1, 2, 5, 17, 64, 100};
    em_val zero_items[2] = {em_int(0), em_int(0)}, zero, v, want, agg;

    zero = em_array(zero_items, 2);
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        em_rdd *r = em_ctx_range(ctx, -300, 700, 1, parts[i]);
        EM_CHECK(em_rdd_reduce(r, EM_FN(em_op_add), a, &want));
        expect_val(want, em_int(199500), "reduce");
        EM_CHECK(em_rdd_aggregate(r, zero, EM_FN(fn_seq_sum_count),
                                  EM_FN(fn_comb_sum_count), a, &agg));
        for (int depth = 1; depth <= 4; depth++) {
            EM_CHECK(em_rdd_tree_reduce(r, EM_FN(em_op_add), depth, a, &v));
            expect_val(v, want, "treeReduce");
            EM_CHECK(em_rdd_tree_aggregate(r, zero, EM_FN(fn_seq_sum_count),
                                           EM_FN(fn_comb_sum_count), depth, a,
                                           &v));
            expect_val(v, agg, "treeAggregate");
            EM_CHECK(em_rdd_tree_reduce(r, EM_FN(em_op_max), depth, a, &v));
            expect_val(v, em_int(699), "treeReduce max");
        }
    }
    assert_int_equal(
        em_rdd_tree_reduce(em_ctx_empty(ctx), EM_FN(em_op_add), 2, a, &v),
        EM_EEMPTY);
    EM_CHECK(em_rdd_tree_aggregate(em_ctx_empty(ctx), zero,
                                   EM_FN(fn_seq_sum_count),
                                   EM_FN(fn_comb_sum_count), 3, a, &v));
    expect_val(v, zero, "treeAggregate empty");
    assert_int_equal(em_rdd_tree_reduce(em_ctx_range(ctx, 0, 5, 1, 2),
                                        EM_FN(em_op_add), 0, a, &v),
                     EM_EINVAL);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* ---- sum, mean, stats ---- */

static void test_actions_sum_mean(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_val v;
    double m;

    EM_CHECK(em_rdd_sum(em_ctx_range(ctx, 0, 1001, 1, 6), &v));
    assert_int_equal(v.type, EM_INT);
    assert_int_equal(v.u.i, 500500);
    {
        double x[] = {0.5, 1.25, 2.0};
        EM_CHECK(em_rdd_sum(floats_rdd(ctx, x, 3, 2), &v));
        assert_int_equal(v.type, EM_FLOAT);
        assert_true(v.u.f == 3.75);
    }
    {
        em_val mixed[] = {em_int(1), em_int(2), em_float(0.5), em_int(3)};
        EM_CHECK(em_rdd_sum(em_ctx_parallelize(ctx, mixed, 4, 3), &v));
        assert_int_equal(v.type, EM_FLOAT);
        assert_true(v.u.f == 6.5);
    }
    EM_CHECK(em_rdd_sum(em_ctx_empty(ctx), &v));
    assert_int_equal(v.type, EM_INT);
    assert_int_equal(v.u.i, 0);
    EM_CHECK(em_rdd_sum(em_ctx_parallelize(ctx, NULL, 0, 3), &v));
    assert_int_equal(v.type, EM_INT);
    assert_int_equal(v.u.i, 0);
    {
        em_val bad[] = {em_int(1), em_cstr("x")};
        assert_int_equal(em_rdd_sum(em_ctx_parallelize(ctx, bad, 2, 1), &v),
                         EM_ETYPE);
        assert_int_equal(em_rdd_mean(em_ctx_parallelize(ctx, bad, 2, 2), &m),
                         EM_ETYPE);
    }

    EM_CHECK(em_rdd_mean(em_ctx_range(ctx, 1, 5, 1, 3), &m));
    assert_true(m == 2.5);
    EM_CHECK(em_rdd_mean(em_ctx_empty(ctx), &m));
    assert_true(isnan(m));
    EM_CHECK(em_rdd_mean(em_ctx_parallelize(ctx, NULL, 0, 2), &m));
    assert_true(isnan(m));
    em_ctx_destroy(ctx);
}

static void expect_close(double got, double want, const char *what)
{
    double tol = 1e-9 * fmax(1.0, fabs(want));

    if (isnan(want) ? !isnan(got) : !(fabs(got - want) <= tol))
        fail_msg("%s: got %.17g, want %.17g", what, got, want);
}

static void naive_stats(const double *x, size_t n, em_stats *s)
{
    double sum = 0, ss = 0, mean;

    s->count = (int64_t)n;
    s->min = INFINITY;
    s->max = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        sum += x[i];
        s->min = fmin(s->min, x[i]);
        s->max = fmax(s->max, x[i]);
    }
    mean = n ? sum / (double)n : NAN;
    for (size_t i = 0; i < n; i++)
        ss += (x[i] - mean) * (x[i] - mean);
    s->sum = sum;
    s->mean = mean;
    s->variance = n ? ss / (double)n : NAN;
    s->sample_variance = n > 1 ? ss / (double)(n - 1) : NAN;
    s->stdev = sqrt(s->variance);
    s->sample_stdev = sqrt(s->sample_variance);
}

static void expect_stats(em_ctx *ctx, const double *x, size_t n, int slices)
{
    em_stats got, want;

    EM_CHECK(em_rdd_stats(floats_rdd(ctx, x, n, slices), &got));
    naive_stats(x, n, &want);
    assert_int_equal(got.count, want.count);
    expect_close(got.mean, want.mean, "mean");
    expect_close(got.sum, want.sum, "sum");
    assert_true(got.min == want.min);
    assert_true(got.max == want.max);
    expect_close(got.variance, want.variance, "variance");
    expect_close(got.sample_variance, want.sample_variance, "sample var");
    expect_close(got.stdev, want.stdev, "stdev");
    expect_close(got.sample_stdev, want.sample_stdev, "sample stdev");
}

static void test_actions_stats(void **state)
{
    em_ctx *ctx = em_test_ctx("local[3]");
    em_test_rng rng = {7};
    double x[1000];

    for (int i = 0; i < 1000; i++)
        x[i] = 1e6 + (double)em_test_below(&rng, 100000) / 1000.0;
    expect_stats(ctx, x, 1000, 7);
    expect_stats(ctx, x, 1000, 1);
    expect_stats(ctx, x, 10, 20);
    expect_stats(ctx, x, 2, 2);
    expect_stats(ctx, x, 1, 3);
    expect_stats(ctx, x, 0, 3);
    /* ints count as numbers */
    {
        em_stats s;
        EM_CHECK(em_rdd_stats(em_ctx_range(ctx, 1, 5, 1, 2), &s));
        assert_int_equal(s.count, 4);
        assert_true(s.sum == 10 && s.mean == 2.5 && s.min == 1 && s.max == 4);
        expect_close(s.variance, 1.25, "int variance");
        expect_close(s.sample_variance, 5.0 / 3.0, "int sample variance");
    }
    /* empty: the documented values */
    {
        em_stats s;
        EM_CHECK(em_rdd_stats(em_ctx_empty(ctx), &s));
        assert_int_equal(s.count, 0);
        assert_true(isnan(s.mean) && isnan(s.variance) &&
                    isnan(s.sample_variance));
        assert_true(s.min == INFINITY && s.max == -INFINITY);
    }
    em_ctx_destroy(ctx);
}

/* ---- histogram ---- */

static void expect_hist(em_val h, const double *bounds, const int64_t *counts,
                        int nb, const char *what)
{
    em_arena *a = em_arena_create();
    em_val *b, bv;

    assert_int_equal(h.type, EM_ARRAY);
    assert_int_equal(h.len, 2);
    b = em_array_make(a, (size_t)nb + 1, &bv);
    for (int i = 0; i <= nb; i++)
        b[i] = em_float(bounds[i]);
    expect_val(h.u.arr[0], bv, what);
    expect_val(h.u.arr[1], int_array(a, counts, (size_t)nb), what);
    em_arena_destroy(a);
}

static void test_actions_histogram(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_rdd *r = em_ctx_range(ctx, 0, 51, 1, 4);
    em_val h;

    /* PySpark's examples */
    {
        double b[] = {0, 25, 50};
        int64_t c[] = {25, 26};
        EM_CHECK(em_rdd_histogram(r, 2, NULL, a, &h));
        expect_hist(h, b, c, 2, "histogram(2)");
    }
    {
        double b[] = {0, 5, 25, 50};
        int64_t c[] = {5, 20, 26};
        EM_CHECK(em_rdd_histogram(r, 3, b, a, &h));
        expect_hist(h, b, c, 3, "histogram([0, 5, 25, 50])");
    }
    /* values outside are ignored; the last bucket is closed */
    {
        double b[] = {0, 5, 25, 50};
        int64_t c[] = {1, 1, 1};
        em_val x[] = {em_int(-1),     em_int(0),   em_float(5.0), em_int(50),
                      em_float(50.5), em_int(100), em_float(NAN)};
        EM_CHECK(
            em_rdd_histogram(em_ctx_parallelize(ctx, x, 7, 3), 3, b, a, &h));
        expect_hist(h, b, c, 3, "outside ignored");
    }
    /* even buckets over floats */
    {
        double x[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, b[] = {1, 4, 7, 10};
        int64_t c[] = {3, 3, 4};
        EM_CHECK(em_rdd_histogram(floats_rdd(ctx, x, 10, 3), 3, NULL, a, &h));
        expect_hist(h, b, c, 3, "even float buckets");
    }
    /* all equal: one bucket holding everything */
    {
        double x[] = {5, 5, 5}, b[] = {5, 5};
        int64_t c[] = {3};
        EM_CHECK(em_rdd_histogram(floats_rdd(ctx, x, 3, 2), 4, NULL, a, &h));
        expect_hist(h, b, c, 1, "all equal");
    }
    /* given buckets over empty input count nothing; even ones cannot be
     * made */
    {
        double b[] = {0, 1, 2};
        int64_t c[] = {0, 0};
        EM_CHECK(em_rdd_histogram(em_ctx_empty(ctx), 2, b, a, &h));
        expect_hist(h, b, c, 2, "empty given");
        assert_int_equal(em_rdd_histogram(em_ctx_empty(ctx), 2, NULL, a, &h),
                         EM_EEMPTY);
    }
    /* bad buckets */
    {
        double unsorted[] = {0, 5, 3}, dup[] = {0, 1, 1};
        assert_int_equal(em_rdd_histogram(r, 2, unsorted, a, &h), EM_EINVAL);
        assert_int_equal(em_rdd_histogram(r, 2, dup, a, &h), EM_EINVAL);
        assert_int_equal(em_rdd_histogram(r, 0, NULL, a, &h), EM_EINVAL);
    }
    /* non-numbers */
    {
        em_val x[] = {em_int(1), em_cstr("a")};
        double b[] = {0, 10};
        assert_int_equal(
            em_rdd_histogram(em_ctx_parallelize(ctx, x, 2, 1), 1, b, a, &h),
            EM_ETYPE);
    }
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* Even buckets: every value lands in the bucket its returned bounds say,
 * including values on bucket edges subject to rounding. */
static void test_actions_histogram_even_edges(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    double x[101];
    em_val h;

    for (int i = 0; i <= 100; i++)
        x[i] = 0.1 * i;
    for (int nb = 1; nb <= 13; nb++) {
        int64_t want[13] = {0}, total = 0;
        const em_val *b, *c;
        EM_CHECK(em_rdd_histogram(floats_rdd(ctx, x, 101, 4), nb, NULL, a, &h));
        b = h.u.arr[0].u.arr;
        c = h.u.arr[1].u.arr;
        assert_int_equal(h.u.arr[0].len, nb + 1);
        assert_true(b[0].u.f == 0.0 && b[nb].u.f == x[100]);
        for (int i = 0; i <= 100; i++) {
            int k = nb - 1;
            while (k > 0 && x[i] < b[k].u.f)
                k--;
            want[k]++;
        }
        for (int k = 0; k < nb; k++) {
            if (c[k].u.i != want[k])
                fail_msg("nb=%d bucket %d: %lld, want %lld", nb, k,
                         (long long)c[k].u.i, (long long)want[k]);
            total += c[k].u.i;
        }
        assert_int_equal(total, 101);
    }
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* Even buckets over a span wider than the largest double: either an error,
 * or finite sorted bounds that count every value. */
static void test_actions_histogram_huge_span(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    double x[] = {-1e308, 0.0, 1e308};
    em_val h;
    em_status st = em_rdd_histogram(floats_rdd(ctx, x, 3, 2), 2, NULL, a, &h);
    double b[3] = {0, 0, 0};
    int64_t total = 0;

    if (st == EM_OK) {
        for (int i = 0; i <= 2; i++)
            b[i] = h.u.arr[0].u.arr[i].u.f;
        total = h.u.arr[1].u.arr[0].u.i + h.u.arr[1].u.arr[1].u.i;
    }
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
    if (st == EM_OK) {
        for (int i = 0; i <= 2; i++) {
            if (!isfinite(b[i]))
                fail_msg("bound %d is %g", i, b[i]);
        }
        assert_true(b[0] < b[1] && b[1] < b[2]);
        assert_int_equal(total, 3);
    }
}

/* ---- countByValue, isEmpty, collectAsMap ---- */

static em_val map_get(em_val m, em_val k)
{
    assert_int_equal(m.type, EM_MAP);
    for (size_t i = 0; i < m.len; i++) {
        if (em_val_eq(m.u.map[2 * i], k))
            return m.u.map[2 * i + 1];
    }
    fail_msg("key missing from map");
    return em_nil();
}

static void test_actions_count_by_value(void **state)
{
    em_ctx *ctx = em_test_ctx("local[3]");
    em_arena *a = em_arena_create();
    em_val x[] = {em_cstr("a"), em_cstr("b"),  em_cstr("a"), em_int(1),
                  em_int(1),    em_float(1.0), em_nil(),     em_cstr("a")};
    em_val m;

    EM_CHECK(em_rdd_count_by_value(em_ctx_parallelize(ctx, x, 8, 3), a, &m));
    assert_int_equal(m.type, EM_MAP);
    assert_int_equal(m.len, 4);
    expect_val(map_get(m, em_cstr("a")), em_int(3), "count a");
    expect_val(map_get(m, em_cstr("b")), em_int(1), "count b");
    expect_val(map_get(m, em_int(1)), em_int(3), "count 1");
    expect_val(map_get(m, em_nil()), em_int(1), "count nil");
    /* many distinct values across partitions */
    EM_CHECK(em_rdd_count_by_value(em_ctx_range(ctx, 0, 3000, 1, 7), a, &m));
    assert_int_equal(m.len, 3000);
    for (size_t i = 0; i < m.len; i++) {
        expect_val(m.u.map[2 * i], em_int((int64_t)i), "sorted keys");
        expect_val(m.u.map[2 * i + 1], em_int(1), "count");
    }
    EM_CHECK(em_rdd_count_by_value(em_ctx_empty(ctx), a, &m));
    assert_int_equal(m.type, EM_MAP);
    assert_int_equal(m.len, 0);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_actions_is_empty(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_rdd *r = em_ctx_range(ctx, 0, 100, 1, 10);
    bool b;

    EM_CHECK(em_rdd_is_empty(em_ctx_empty(ctx), &b));
    assert_true(b);
    EM_CHECK(em_rdd_is_empty(em_ctx_parallelize(ctx, NULL, 0, 3), &b));
    assert_true(b);
    EM_CHECK(em_rdd_is_empty(r, &b));
    assert_false(b);
    EM_CHECK(em_rdd_is_empty(
        em_rdd_filter(r, em_fn_of(fn_ge_env, em_int(1000))), &b));
    assert_true(b);
    EM_CHECK(
        em_rdd_is_empty(em_rdd_filter(r, em_fn_of(fn_ge_env, em_int(99))), &b));
    assert_false(b);
    em_ctx_destroy(ctx);
}

static void test_actions_collect_as_map(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_val p[6], m;

    EM_CHECK(em_pair_make(a, em_int(1), em_cstr("a"), &p[0]));
    EM_CHECK(em_pair_make(a, em_int(2), em_cstr("b"), &p[1]));
    EM_CHECK(em_pair_make(a, em_int(3), em_cstr("x"), &p[2]));
    EM_CHECK(em_pair_make(a, em_int(1), em_cstr("c"), &p[3]));
    EM_CHECK(em_pair_make(a, em_int(3), em_cstr("y"), &p[4]));
    EM_CHECK(em_pair_make(a, em_int(1), em_cstr("d"), &p[5]));
    for (int s = 1; s <= 6; s++) {
        EM_CHECK(
            em_rdd_collect_as_map(em_ctx_parallelize(ctx, p, 6, s), a, &m));
        assert_int_equal(m.len, 3);
        expect_val(map_get(m, em_int(1)), em_cstr("d"), "later wins");
        expect_val(map_get(m, em_int(2)), em_cstr("b"), "single");
        expect_val(map_get(m, em_int(3)), em_cstr("y"), "later wins");
    }
    EM_CHECK(em_rdd_collect_as_map(em_ctx_empty(ctx), a, &m));
    assert_int_equal(m.type, EM_MAP);
    assert_int_equal(m.len, 0);
    assert_int_equal(
        em_rdd_collect_as_map(em_ctx_range(ctx, 0, 3, 1, 1), a, &m), EM_ETYPE);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* ---- takeSample ---- */

static void expect_sample_ok(em_val v, size_t want_len, bool distinct,
                             int64_t lo, int64_t hi)
{
    assert_int_equal(v.type, EM_ARRAY);
    assert_int_equal(v.len, want_len);
    for (size_t i = 0; i < v.len; i++) {
        assert_int_equal(v.u.arr[i].type, EM_INT);
        assert_true(v.u.arr[i].u.i >= lo && v.u.arr[i].u.i < hi);
        for (size_t j = i + 1; distinct && j < v.len; j++)
            assert_false(em_val_eq(v.u.arr[i], v.u.arr[j]));
    }
}

static void test_actions_take_sample(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_rdd *r = em_ctx_range(ctx, 0, 100, 1, 5);
    em_val v, w;

    EM_CHECK(em_rdd_take_sample(r, false, 10, 1, a, &v));
    expect_sample_ok(v, 10, true, 0, 100);
    EM_CHECK(em_rdd_take_sample(r, false, 10, 1, a, &w));
    expect_val(w, v, "same seed");
    EM_CHECK(em_rdd_take_sample(r, false, 10, 2, a, &w));
    assert_false(em_val_eq(w, v));
    /* more than there is: everything, once */
    EM_CHECK(em_rdd_take_sample(r, false, 200, 3, a, &v));
    expect_sample_ok(v, 100, true, 0, 100);
    EM_CHECK(em_rdd_take_sample(r, false, 100, 3, a, &v));
    expect_sample_ok(v, 100, true, 0, 100);
    /* with replacement: exactly num */
    EM_CHECK(em_rdd_take_sample(r, true, 200, 4, a, &v));
    expect_sample_ok(v, 200, false, 0, 100);
    EM_CHECK(em_rdd_take_sample(r, true, 200, 4, a, &w));
    expect_val(w, v, "same seed with replacement");
    EM_CHECK(em_rdd_take_sample(r, true, 7, 5, a, &v));
    expect_sample_ok(v, 7, false, 0, 100);
    /* 0 and empty */
    EM_CHECK(em_rdd_take_sample(r, false, 0, 1, a, &v));
    assert_int_equal(v.len, 0);
    EM_CHECK(em_rdd_take_sample(em_ctx_empty(ctx), true, 5, 1, a, &v));
    assert_int_equal(v.len, 0);
    assert_int_not_equal(em_rdd_take_sample(r, false, -1, 1, a, &v), EM_OK);
    /* duplicates in the data may repeat, positions may not */
    {
        int64_t d[] = {7, 7, 7, 7};
        EM_CHECK(
            em_rdd_take_sample(ints_rdd(ctx, d, 4, 2), false, 3, 9, a, &v));
        assert_int_equal(v.len, 3);
    }
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* ---- foreach, foreachPartition ---- */

static em_status fn_add_one(em_task *t, const em_val *env, const em_val *args,
                            size_t nargs, em_val *out)
{
    return em_task_accum_add(t, *env, em_int(1));
}

static em_status fn_add_len(em_task *t, const em_val *env, const em_val *args,
                            size_t nargs, em_val *out)
{
    em_status st;

    assert_int_equal(args[0].type, EM_ARRAY);
    st = em_task_accum_add(t, env->u.arr[0], em_int(args[0].len));
    if (st == EM_OK)
        st = em_task_accum_add(t, env->u.arr[1], em_int(1));
    return st;
}

static void test_actions_foreach(void **state)
{
    em_ctx *ctx = em_test_ctx("local[3]");
    em_arena *a = em_arena_create();
    em_accum *recs =
        em_ctx_accumulator(ctx, EM_ACCUM_SUM, em_int(0), em_nil(), EM_FN_NONE);
    em_accum *calls =
        em_ctx_accumulator(ctx, EM_ACCUM_SUM, em_int(0), em_nil(), EM_FN_NONE);
    em_rdd *r = em_ctx_range(ctx, 0, 1000, 1, 13);
    em_val v, env[2];

    assert_non_null(recs);
    assert_non_null(calls);
    EM_CHECK(em_rdd_foreach(r, em_fn_of(fn_add_one, em_accum_ref(recs))));
    EM_CHECK(em_accum_value(recs, a, &v));
    expect_val(v, em_int(1000), "foreach count");

    EM_CHECK(em_accum_set(recs, em_int(0)));
    env[0] = em_accum_ref(recs);
    env[1] = em_accum_ref(calls);
    /* 5 records over 13 partitions: most are empty, all are visited */
    EM_CHECK(em_rdd_foreach_partition(em_ctx_range(ctx, 0, 5, 1, 13),
                                      em_fn_of(fn_add_len, em_array(env, 2))));
    EM_CHECK(em_accum_value(recs, a, &v));
    expect_val(v, em_int(5), "foreachPartition records");
    EM_CHECK(em_accum_value(calls, a, &v));
    expect_val(v, em_int(13), "foreachPartition calls");
    assert_int_not_equal(em_rdd_foreach(r, EM_FN_NONE), EM_OK);
    assert_int_not_equal(em_rdd_foreach_partition(r, EM_FN_NONE), EM_OK);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* ---- failing user functions ---- */

static void expect_boom(em_status st)
{
    if (st != EM_EUSER)
        fail_msg("got %s (%s), want EM_EUSER", em_status_name(st),
                 em_last_error());
    if (strstr(em_last_error(), "boom 7") == NULL)
        fail_msg("message '%s' lacks 'boom 7'", em_last_error());
}

static void test_actions_user_failure(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_rdd *r = em_ctx_range(ctx, 0, 100, 1, 4);
    em_rdd *bad = em_rdd_map(r, em_fn_of(fn_boom, em_int(60)));
    em_val v;
    int64_t n;
    bool b;

    expect_boom(em_rdd_collect(bad, a, &v));
    expect_boom(em_rdd_count(bad, &n));
    expect_boom(em_rdd_reduce(bad, EM_FN(em_op_add), a, &v));
    expect_boom(em_rdd_take_ordered(bad, 3, EM_FN_NONE, a, &v));
    expect_boom(em_rdd_count_by_value(bad, a, &v));
    expect_boom(em_rdd_sum(bad, &v));
    expect_boom(em_rdd_take(bad, 100, a, &v));
    /* take that stops before the failing record succeeds */
    EM_CHECK(em_rdd_take(bad, 10, a, &v));
    assert_int_equal(v.len, 10);
    /* a failing key function */
    expect_boom(em_rdd_max(r, em_fn_of(fn_boom, em_int(3)), a, &v));
    /* the same context runs a correct job right after */
    EM_CHECK(em_rdd_count(r, &n));
    assert_int_equal(n, 100);
    EM_CHECK(em_rdd_reduce(r, EM_FN(em_op_add), a, &v));
    expect_val(v, em_int(4950), "after failure");
    EM_CHECK(em_rdd_is_empty(r, &b));
    assert_false(b);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* Folding arrays from an empty array made without storage (em_array(NULL,
 * 0), the natural way to write []) with the built-in concat. */
static void test_actions_fold_concat_arrays(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_val one[1] = {em_int(1)}, two[1] = {em_int(2)}, recs[3], v;
    em_val want[2] = {em_int(1), em_int(2)};

    recs[0] = em_array(one, 1);
    recs[1] = em_array(NULL, 0);
    recs[2] = em_array(two, 1);
    EM_CHECK(em_rdd_fold(em_ctx_parallelize(ctx, recs, 3, 2), em_array(NULL, 0),
                         EM_FN(em_op_concat), a, &v));
    expect_val(v, em_array(want, 2), "fold concat arrays");
    EM_CHECK(em_rdd_reduce(em_ctx_parallelize(ctx, recs, 3, 1),
                           EM_FN(em_op_concat), a, &v));
    expect_val(v, em_array(want, 2), "reduce concat arrays");
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_actions_collect_count),
        EM_TEST(test_actions_first),
        EM_TEST(test_actions_take),
        EM_TEST(test_actions_take_stops_early),
        EM_TEST(test_actions_take_ordered_top),
        EM_TEST(test_actions_take_ordered_large),
        EM_TEST(test_actions_max_min),
        EM_TEST(test_actions_reduce),
        EM_TEST(test_actions_fold),
        EM_TEST(test_actions_aggregate),
        EM_TEST(test_actions_tree),
        EM_TEST(test_actions_sum_mean),
        EM_TEST(test_actions_stats),
        EM_TEST(test_actions_histogram),
        EM_TEST(test_actions_histogram_even_edges),
        EM_TEST(test_actions_histogram_huge_span),
        EM_TEST(test_actions_count_by_value),
        EM_TEST(test_actions_is_empty),
        EM_TEST(test_actions_collect_as_map),
        EM_TEST(test_actions_take_sample),
        EM_TEST(test_actions_foreach),
        EM_TEST(test_actions_user_failure),
        /* last: an out-of-bounds read here aborts the process under ASan */
        EM_TEST(test_actions_reduce_empty_partitions),
        /* last: concatenating storage-less empty arrays may abort under
         * UBSan */
        EM_TEST(test_actions_fold_concat_arrays),
        /* last: an overflow in take's estimate aborts under UBSan */
        EM_TEST(test_actions_take_huge_count),
    };

    return cmocka_run_group_tests_name("actions", tests, NULL, NULL);
}
