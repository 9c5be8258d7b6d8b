/* Tests of the narrow transformations (ops/core/narrow.c, partitions.c,
 * sources.c): map, filter, flatMap, mapPartitions(WithIndex), glom, the
 * pair operators, zip and its index forms, sample, coalesce, union, range,
 * emptyRDD, and NULL propagation along a chain.
 */
#include <math.h>
#include <stdio.h>
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

/* An array of the ints x[0..n) in a. */
static em_val int_array(em_arena *a, const int64_t *x, size_t n)
{
    em_val v, *items = em_array_make(a, n, &v);

    assert_true(items != NULL || n == 0);
    for (size_t i = 0; i < n; i++)
        items[i] = em_int(x[i]);
    return v;
}

/* An array of lo, lo+1, ..., lo+n-1 in a. */
static em_val iota(em_arena *a, int64_t lo, size_t n)
{
    em_val v, *items = em_array_make(a, n, &v);

    assert_true(items != NULL);
    for (size_t i = 0; i < n; i++)
        items[i] = em_int(lo + (int64_t)i);
    return v;
}

static em_rdd *iota_rdd(em_ctx *ctx, em_arena *a, int64_t lo, size_t n,
                        int slices)
{
    em_val v = iota(a, lo, n);
    em_rdd *r = em_ctx_parallelize(ctx, v.u.arr, n, slices);

    assert_non_null(r);
    return r;
}

static em_val collect(em_rdd *r, em_arena *a)
{
    em_val out;

    assert_non_null(r);
    EM_CHECK(em_rdd_collect(r, a, &out));
    assert_int_equal(out.type, EM_ARRAY);
    return out;
}

static void expect_ints(em_val arr, const int64_t *x, size_t n,
                        const char *what)
{
    em_arena *a = em_arena_create();

    assert_int_equal(arr.type, EM_ARRAY);
    expect_val(arr, int_array(a, x, n), what);
    em_arena_destroy(a);
}

/* ---- user functions ---- */

static em_status fn_square(em_task *t, const em_val *env, const em_val *args,
                           size_t nargs, em_val *out)
{
    assert_int_equal(nargs, 1);
    *out = em_int(args[0].u.i * args[0].u.i);
    return EM_OK;
}

static em_status fn_add_env(em_task *t, const em_val *env, const em_val *args,
                            size_t nargs, em_val *out)
{
    *out = em_int(args[0].u.i + env->u.i);
    return EM_OK;
}

static em_status fn_is_even(em_task *t, const em_val *env, const em_val *args,
                            size_t nargs, em_val *out)
{
    *out = em_bool(args[0].u.i % 2 == 0);
    return EM_OK;
}

static em_status fn_nil_if_odd(em_task *t, const em_val *env,
                               const em_val *args, size_t nargs, em_val *out)
{
    *out = args[0].u.i % 2 ? em_nil() : em_int(1);
    return EM_OK;
}

/* x -> [x, x, ...] with x mod 4 copies (0 copies: an empty array). */
static em_status fn_repeat(em_task *t, const em_val *env, const em_val *args,
                           size_t nargs, em_val *out)
{
    size_t k = (size_t)(args[0].u.i % 4);
    em_val *items = em_array_make(em_task_arena(t), k, out);

    if (items == NULL)
        return EM_ENOMEM;
    for (size_t i = 0; i < k; i++)
        items[i] = args[0];
    return EM_OK;
}

/* Odd -> nil, even -> [x]. */
static em_status fn_nil_or_one(em_task *t, const em_val *env,
                               const em_val *args, size_t nargs, em_val *out)
{
    em_val *items;

    if (args[0].u.i % 2)
        return EM_OK; /* out is nil */
    items = em_array_make(em_task_arena(t), 1, out);
    if (items == NULL)
        return EM_ENOMEM;
    items[0] = args[0];
    return EM_OK;
}

static em_status fn_empty_array(em_task *t, const em_val *env,
                                const em_val *args, size_t nargs, em_val *out)
{
    *out = em_array(NULL, 0);
    return EM_OK;
}

static em_status fn_int(em_task *t, const em_val *env, const em_val *args,
                        size_t nargs, em_val *out)
{
    *out = em_int(1);
    return EM_OK;
}

/* mapPartitions: [sum, count] of the partition. */
static em_status fn_part_sum(em_task *t, const em_val *env, const em_val *args,
                             size_t nargs, em_val *out)
{
    int64_t s = 0;
    em_val *items;

    assert_int_equal(nargs, 1);
    assert_int_equal(args[0].type, EM_ARRAY);
    for (size_t i = 0; i < args[0].len; i++)
        s += args[0].u.arr[i].u.i;
    items = em_array_make(em_task_arena(t), 2, out);
    if (items == NULL)
        return EM_ENOMEM;
    items[0] = em_int(s);
    items[1] = em_int(args[0].len);
    return EM_OK;
}

static em_status fn_part_nil(em_task *t, const em_val *env, const em_val *args,
                             size_t nargs, em_val *out)
{
    *out = em_nil();
    return EM_OK;
}

/* mapPartitions returning the records unchanged (pointing into args). */
static em_status fn_part_identity(em_task *t, const em_val *env,
                                  const em_val *args, size_t nargs, em_val *out)
{
    *out = args[0];
    return EM_OK;
}

/* mapPartitionsWithIndex: (index, rec) for each record. */
static em_status fn_part_tag(em_task *t, const em_val *env, const em_val *args,
                             size_t nargs, em_val *out)
{
    em_val *items;

    assert_int_equal(nargs, 2);
    assert_int_equal(args[0].type, EM_INT);
    assert_int_equal(args[0].u.i, em_task_partition(t));
    items = em_array_make(em_task_arena(t), args[1].len, out);
    if (items == NULL && args[1].len > 0)
        return EM_ENOMEM;
    for (size_t i = 0; i < args[1].len; i++) {
        em_status st = em_pair_make(em_task_arena(t), args[0], args[1].u.arr[i],
                                    &items[i]);
        if (st != EM_OK)
            return st;
    }
    return EM_OK;
}

static em_status fn_mod3(em_task *t, const em_val *env, const em_val *args,
                         size_t nargs, em_val *out)
{
    *out = em_int(args[0].u.i % 3);
    return EM_OK;
}

static em_status fn_neg(em_task *t, const em_val *env, const em_val *args,
                        size_t nargs, em_val *out)
{
    *out = em_int(-args[0].u.i);
    return EM_OK;
}

/* v -> [0, 1, ..., v-1] */
static em_status fn_upto(em_task *t, const em_val *env, const em_val *args,
                         size_t nargs, em_val *out)
{
    size_t k = (size_t)args[0].u.i;
    em_val *items = em_array_make(em_task_arena(t), k, out);

    if (items == NULL && k > 0)
        return EM_ENOMEM;
    for (size_t i = 0; i < k; i++)
        items[i] = em_int((int64_t)i);
    return EM_OK;
}

/* x -> "s<x>" */
static em_status fn_to_str(em_task *t, const em_val *env, const em_val *args,
                           size_t nargs, em_val *out)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "s%lld", (long long)args[0].u.i);

    return em_str_copy(em_task_arena(t), buf, (size_t)n, out);
}

/* ---- map, filter, flatMap ---- */

static void test_narrow_map_filter(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_rdd *r = iota_rdd(ctx, a, 0, 10, 3);
    int64_t sq[10], even[5] = {0, 2, 4, 6, 8}, plus[10];

    for (int i = 0; i < 10; i++) {
        sq[i] = i * i;
        plus[i] = i + 100;
    }
    expect_ints(collect(em_rdd_map(r, EM_FN(fn_square)), a), sq, 10, "map");
    expect_ints(collect(em_rdd_filter(r, EM_FN(fn_is_even)), a), even, 5,
                "filter");
    /* nil is falsy, any other value truthy */
    expect_ints(collect(em_rdd_filter(r, EM_FN(fn_nil_if_odd)), a), even, 5,
                "filter by nil");
    /* the closure's environment is captured (copied at creation) */
    {
        em_val env = em_int(100);
        em_rdd *m = em_rdd_map(r, em_fn_of(fn_add_env, env));
        env = em_int(7);
        expect_ints(collect(m, a), plus, 10, "map with env");
    }
    /* map then filter on the result, fused */
    {
        int64_t want[] = {0, 4, 16, 36, 64};
        em_rdd *m =
            em_rdd_filter(em_rdd_map(r, EM_FN(fn_square)), EM_FN(fn_is_even));
        expect_ints(collect(m, a), want, 5, "map+filter");
    }
    /* a function is required */
    assert_null(em_rdd_map(r, EM_FN_NONE));
    assert_null(em_rdd_filter(r, EM_FN_NONE));
    assert_null(em_rdd_flat_map(r, EM_FN_NONE));
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_narrow_flat_map(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_rdd *r = iota_rdd(ctx, a, 0, 9, 4);
    int64_t want[] = {1, 2, 2, 3, 3, 3, 5, 6, 6, 7, 7, 7};
    int64_t evens[] = {0, 2, 4, 6, 8};
    int64_t n;

    expect_ints(collect(em_rdd_flat_map(r, EM_FN(fn_repeat)), a), want, 12,
                "flatMap repeat");
    expect_ints(collect(em_rdd_flat_map(r, EM_FN(fn_nil_or_one)), a), evens, 5,
                "flatMap nil");
    EM_CHECK(em_rdd_count(em_rdd_flat_map(r, EM_FN(fn_empty_array)), &n));
    assert_int_equal(n, 0);
    {
        em_val out;
        em_status st =
            em_rdd_collect(em_rdd_flat_map(r, EM_FN(fn_int)), a, &out);
        assert_int_equal(st, EM_ETYPE);
    }
    /* the context still works after the failure */
    EM_CHECK(em_rdd_count(r, &n));
    assert_int_equal(n, 9);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* ---- mapPartitions, mapPartitionsWithIndex, glom ---- */

static void test_narrow_map_partitions(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_rdd *r = iota_rdd(ctx, a, 1, 10, 3); /* [1..3] [4..6] [7..10] */
    int64_t want[] = {6, 3, 15, 3, 34, 4};
    em_val out;

    expect_ints(collect(em_rdd_map_partitions(r, EM_FN(fn_part_sum)), a), want,
                6, "mapPartitions");
    expect_val(collect(em_rdd_map_partitions(r, EM_FN(fn_part_identity)), a),
               collect(r, a), "mapPartitions identity");
    /* nil: no records; a non-array: EM_ETYPE */
    assert_int_equal(
        collect(em_rdd_map_partitions(r, EM_FN(fn_part_nil)), a).len, 0);
    assert_int_equal(
        em_rdd_num_partitions(em_rdd_map_partitions(r, EM_FN(fn_part_sum))), 3);
    assert_int_equal(
        em_rdd_collect(em_rdd_map_partitions(r, EM_FN(fn_int)), a, &out),
        EM_ETYPE);
    assert_null(em_rdd_map_partitions(r, EM_FN_NONE));
    assert_null(em_rdd_map_partitions_with_index(r, EM_FN_NONE));
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_narrow_map_partitions_with_index(void **state)
{
    em_ctx *ctx = em_test_ctx("local[3]");
    em_arena *a = em_arena_create();
    const size_t n = 11;
    const int s = 4;
    em_rdd *r = iota_rdd(ctx, a, 0, n, s);
    em_val got =
        collect(em_rdd_map_partitions_with_index(r, EM_FN(fn_part_tag)), a);

    assert_int_equal(got.len, n);
    for (int i = 0; i < s; i++) {
        size_t lo = (size_t)i * n / (size_t)s, hi = (size_t)(i + 1) * n / s;
        for (size_t k = lo; k < hi; k++) {
            assert_true(em_val_is_pair(got.u.arr[k]));
            assert_int_equal(got.u.arr[k].u.arr[0].u.i, i);
            assert_int_equal(got.u.arr[k].u.arr[1].u.i, (int64_t)k);
        }
    }
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* Checks that glom(rdd) shows slice i holding the ints
 * [floor(i*n/s), floor((i+1)*n/s)) plus `base`. */
static void expect_slices(em_rdd *r, size_t n, int s, int64_t base,
                          int64_t step)
{
    em_arena *a = em_arena_create();
    em_val g = collect(em_rdd_glom(r), a);

    assert_int_equal(em_rdd_num_partitions(r), s);
    if (g.len != (uint32_t)s)
        fail_msg("glom n=%zu s=%d: %u partitions", n, s, g.len);
    for (int i = 0; i < s; i++) {
        size_t lo = (size_t)((unsigned __int128)n * (unsigned)i / (unsigned)s);
        size_t hi =
            (size_t)((unsigned __int128)n * (unsigned)(i + 1) / (unsigned)s);
        em_val part = g.u.arr[i];
        assert_int_equal(part.type, EM_ARRAY);
        if (part.len != hi - lo)
            fail_msg("n=%zu s=%d slice %d: %u records, want %zu", n, s, i,
                     part.len, hi - lo);
        for (size_t k = 0; k < part.len; k++)
            assert_int_equal(part.u.arr[k].u.i,
                             base + (int64_t)(lo + k) * step);
    }
    em_arena_destroy(a);
}

static void test_narrow_glom_layout(void **state)
{
    static const size_t ns[] = {0, 1, 2, 3, 5, 7, 10, 17, 100};
    static const int ss[] = {1, 2, 3, 4, 7, 8, 16};
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();

    for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
        for (size_t j = 0; j < sizeof(ss) / sizeof(ss[0]); j++) {
            expect_slices(iota_rdd(ctx, a, 0, ns[i], ss[j]), ns[i], ss[j], 0,
                          1);
            /* range is sliced the same way */
            expect_slices(
                em_ctx_range(ctx, 5, 5 + 3 * (int64_t)ns[i], 3, ss[j]), ns[i],
                ss[j], 5, 3);
        }
    }
    /* num_slices <= 0: the default parallelism */
    assert_int_equal(em_rdd_num_partitions(iota_rdd(ctx, a, 0, 10, 0)),
                     em_ctx_default_parallelism(ctx));
    assert_int_equal(em_rdd_num_partitions(em_ctx_range(ctx, 0, 10, 1, -1)),
                     em_ctx_default_parallelism(ctx));
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* parallelize deep-copies its input. */
static void test_narrow_parallelize_copies(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *src = em_arena_create(), *a = em_arena_create();
    em_val items[3], want[3];
    em_rdd *r;

    EM_CHECK(em_str_copy(src, "hello", 5, &items[0]));
    EM_CHECK(em_pair_make(src, items[0], em_int(3), &items[1]));
    items[2] = em_float(2.5);
    for (int i = 0; i < 3; i++)
        EM_CHECK(em_val_copy(a, items[i], &want[i]));
    r = em_ctx_parallelize(ctx, items, 3, 2);
    assert_non_null(r);
    em_arena_destroy(src);
    expect_val(collect(r, a), em_array(want, 3), "parallelize copy");
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* ---- pair operators ---- */

static em_rdd *pairs_rdd(em_ctx *ctx, em_arena *a, size_t n, int slices)
{
    em_val *items, arr;
    char buf[16];

    items = em_array_make(a, n, &arr);
    for (size_t i = 0; i < n; i++) {
        em_val k;
        int len = snprintf(buf, sizeof(buf), "k%zu", i % 3);
        EM_CHECK(em_str_copy(a, buf, (size_t)len, &k));
        EM_CHECK(em_pair_make(a, k, em_int((int64_t)i), &items[i]));
    }
    return em_ctx_parallelize(ctx, items, n, slices);
}

static void test_narrow_pair_ops(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_rdd *p = pairs_rdd(ctx, a, 7, 3);
    em_val src = collect(p, a), got;

    /* keys and values */
    got = collect(em_rdd_keys(p), a);
    assert_int_equal(got.len, 7);
    for (size_t i = 0; i < 7; i++)
        expect_val(got.u.arr[i], src.u.arr[i].u.arr[0], "keys");
    got = collect(em_rdd_values(p), a);
    for (size_t i = 0; i < 7; i++)
        expect_val(got.u.arr[i], em_int((int64_t)i), "values");

    /* mapValues keeps keys */
    got = collect(em_rdd_map_values(p, EM_FN(fn_neg)), a);
    assert_int_equal(got.len, 7);
    for (size_t i = 0; i < 7; i++) {
        assert_true(em_val_is_pair(got.u.arr[i]));
        expect_val(got.u.arr[i].u.arr[0], src.u.arr[i].u.arr[0], "mapValues k");
        expect_val(got.u.arr[i].u.arr[1], em_int(-(int64_t)i), "mapValues v");
    }

    /* flatMapValues: v -> 0..v-1, each paired with the key */
    got = collect(em_rdd_flat_map_values(p, EM_FN(fn_upto)), a);
    assert_int_equal(got.len, 0 + 1 + 2 + 3 + 4 + 5 + 6);
    {
        size_t k = 0;
        for (size_t i = 0; i < 7; i++) {
            for (size_t j = 0; j < i; j++, k++) {
                expect_val(got.u.arr[k].u.arr[0], src.u.arr[i].u.arr[0],
                           "flatMapValues k");
                expect_val(got.u.arr[k].u.arr[1], em_int((int64_t)j),
                           "flatMapValues v");
            }
        }
    }

    /* keyBy */
    {
        em_rdd *r = iota_rdd(ctx, a, 0, 8, 3);
        got = collect(em_rdd_key_by(r, EM_FN(fn_mod3)), a);
        assert_int_equal(got.len, 8);
        for (int64_t i = 0; i < 8; i++) {
            assert_true(em_val_is_pair(got.u.arr[i]));
            expect_val(got.u.arr[i].u.arr[0], em_int(i % 3), "keyBy k");
            expect_val(got.u.arr[i].u.arr[1], em_int(i), "keyBy v");
        }
        assert_null(em_rdd_key_by(r, EM_FN_NONE));
        assert_null(em_rdd_map_values(p, EM_FN_NONE));
        assert_null(em_rdd_flat_map_values(p, EM_FN_NONE));
    }
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_narrow_pair_ops_need_pairs(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_rdd *r = iota_rdd(ctx, a, 0, 5, 2);
    em_val out, three[3] = {em_int(1), em_int(2), em_int(3)}, bad;
    int64_t n;

    assert_int_equal(em_rdd_collect(em_rdd_keys(r), a, &out), EM_ETYPE);
    assert_int_equal(em_rdd_collect(em_rdd_values(r), a, &out), EM_ETYPE);
    assert_int_equal(
        em_rdd_collect(em_rdd_map_values(r, EM_FN(fn_neg)), a, &out), EM_ETYPE);
    assert_int_equal(
        em_rdd_collect(em_rdd_flat_map_values(r, EM_FN(fn_upto)), a, &out),
        EM_ETYPE);
    /* a 3-element array is not a pair */
    bad = em_array(three, 3);
    assert_int_equal(
        em_rdd_count(em_rdd_values(em_ctx_parallelize(ctx, &bad, 1, 1)), &n),
        EM_ETYPE);
    /* and the context still works */
    EM_CHECK(em_rdd_count(r, &n));
    assert_int_equal(n, 5);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* ---- zip, zipWithIndex, zipWithUniqueId ---- */

static void test_narrow_zip(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_rdd *x = em_ctx_range(ctx, 0, 10, 1, 3);
    em_rdd *y = em_rdd_map(x, EM_FN(fn_to_str));
    em_val got = collect(em_rdd_zip(x, y), a), out;

    assert_int_equal(got.len, 10);
    for (int64_t i = 0; i < 10; i++) {
        char buf[8];
        snprintf(buf, sizeof(buf), "s%lld", (long long)i);
        assert_true(em_val_is_pair(got.u.arr[i]));
        expect_val(got.u.arr[i].u.arr[0], em_int(i), "zip left");
        expect_val(got.u.arr[i].u.arr[1], em_cstr(buf), "zip right");
    }
    assert_int_equal(em_rdd_num_partitions(em_rdd_zip(x, y)), 3);

    /* different partition counts: refused at creation */
    assert_null(em_rdd_zip(x, em_ctx_range(ctx, 0, 10, 1, 4)));
    assert_non_null(strstr(em_last_error(), "partitions"));

    /* same partition counts, different record counts: the action fails */
    {
        em_rdd *z = em_rdd_zip(x, em_ctx_range(ctx, 0, 9, 1, 3));
        em_status st;
        assert_non_null(z);
        st = em_rdd_collect(z, a, &out);
        assert_int_not_equal(st, EM_OK);
        assert_int_equal(st, EM_EINVAL);
    }
    /* zip of an RDD with itself */
    got = collect(em_rdd_zip(x, x), a);
    for (int64_t i = 0; i < 10; i++) {
        expect_val(got.u.arr[i].u.arr[0], em_int(i), "self zip");
        expect_val(got.u.arr[i].u.arr[1], em_int(i), "self zip");
    }
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void expect_zip_with_index(em_ctx *ctx, size_t n, int s)
{
    em_arena *a = em_arena_create();
    em_rdd *r =
        em_rdd_map(em_ctx_range(ctx, 0, (int64_t)n, 1, s), EM_FN(fn_to_str));
    em_val src = collect(r, a);
    em_rdd *z = em_rdd_zip_with_index(r);
    em_val got = collect(z, a);

    assert_non_null(z);
    assert_int_equal(em_rdd_num_partitions(z), s);
    assert_int_equal(got.len, n);
    for (size_t i = 0; i < n; i++) {
        assert_true(em_val_is_pair(got.u.arr[i]));
        expect_val(got.u.arr[i].u.arr[0], src.u.arr[i], "zipWithIndex rec");
        expect_val(got.u.arr[i].u.arr[1], em_int((int64_t)i),
                   "zipWithIndex index");
        assert_int_equal(got.u.arr[i].u.arr[1].type, EM_INT);
    }
    em_arena_destroy(a);
}

static void test_narrow_zip_with_index(void **state)
{
    em_ctx *ctx = em_test_ctx("local[3]");
    em_arena *a = em_arena_create();

    expect_zip_with_index(ctx, 100, 7);
    expect_zip_with_index(ctx, 3, 10); /* empty partitions in between */
    expect_zip_with_index(ctx, 0, 4);
    expect_zip_with_index(ctx, 5, 1);
    /* data only in the last partition */
    {
        em_rdd *r =
            em_rdd_filter(em_ctx_range(ctx, 0, 100, 1, 10), EM_FN(fn_is_even));
        em_val got = collect(em_rdd_values(em_rdd_zip_with_index(r)), a);
        assert_int_equal(got.len, 50);
        for (int64_t i = 0; i < 50; i++)
            expect_val(got.u.arr[i], em_int(i), "index after filter");
    }
    /* zipWithIndex of emptyRDD */
    {
        em_val got = collect(em_rdd_zip_with_index(em_ctx_empty(ctx)), a);
        assert_int_equal(got.len, 0);
    }
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static em_status fn_fail_on_7(em_task *t, const em_val *env, const em_val *args,
                              size_t nargs, em_val *out)
{
    if (args[0].u.i == 7)
        return em_task_fail(t, "no sevens");
    *out = args[0];
    return EM_OK;
}

/* zipWithIndex counts partitions when it is made: a failing parent fails
 * the creation with the task's message. */
static void test_narrow_zip_with_index_failing_parent(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_rdd *bad =
        em_rdd_map(em_ctx_range(ctx, 0, 20, 1, 4), EM_FN(fn_fail_on_7));
    int64_t n;

    assert_null(em_rdd_zip_with_index(bad));
    assert_non_null(strstr(em_last_error(), "no sevens"));
    EM_CHECK(em_rdd_count(em_ctx_range(ctx, 0, 20, 1, 4), &n));
    assert_int_equal(n, 20);
    em_ctx_destroy(ctx);
}

/* RDDs of two contexts cannot be zipped, as they cannot be unioned. */
static void test_narrow_zip_other_context(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_ctx *other = em_test_ctx("local[2]");
    em_rdd *x = em_ctx_range(ctx, 0, 10, 1, 2);
    em_rdd *y = em_ctx_range(other, 0, 10, 1, 2);
    bool is_refused = em_rdd_zip(x, y) == NULL;

    em_ctx_destroy(other);
    em_ctx_destroy(ctx);
    assert_true(is_refused);
}

static void test_narrow_zip_with_unique_id(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    const int s = 5;
    em_rdd *r = em_ctx_range(ctx, 0, 23, 1, s);
    em_val g = collect(em_rdd_glom(r), a);
    em_val got = collect(em_rdd_zip_with_unique_id(r), a);
    size_t k = 0;

    assert_int_equal(got.len, 23);
    for (int p = 0; p < s; p++) {
        for (size_t i = 0; i < g.u.arr[p].len; i++, k++) {
            expect_val(got.u.arr[k].u.arr[0], g.u.arr[p].u.arr[i],
                       "uniqueId rec");
            expect_val(got.u.arr[k].u.arr[1], em_int((int64_t)i * s + p),
                       "uniqueId id");
        }
    }
    for (size_t i = 0; i < got.len; i++) {
        for (size_t j = i + 1; j < got.len; j++)
            assert_false(
                em_val_eq(got.u.arr[i].u.arr[1], got.u.arr[j].u.arr[1]));
    }
    assert_int_equal(em_rdd_num_partitions(em_rdd_zip_with_unique_id(r)), s);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* ---- sample ---- */

static int64_t count_of(em_rdd *r)
{
    int64_t n;

    assert_non_null(r);
    EM_CHECK(em_rdd_count(r, &n));
    return n;
}

/* True when every element of sub appears in sup in the same order. */
static bool is_subsequence(em_val sub, em_val sup)
{
    size_t j = 0;

    for (size_t i = 0; i < sub.len; i++) {
        while (j < sup.len && !em_val_eq(sup.u.arr[j], sub.u.arr[i]))
            j++;
        if (j == sup.len)
            return false;
        j++;
    }
    return true;
}

static void test_narrow_sample(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_ctx *ctx1 = em_test_ctx("local[1]");
    em_arena *a = em_arena_create();
    em_rdd *r = em_ctx_range(ctx, 0, 1000, 1, 4);
    em_rdd *s1 = em_rdd_sample(r, false, 0.5, 1);
    em_val x = collect(s1, a), y = collect(s1, a);
    em_val z = collect(em_rdd_sample(r, false, 0.5, 1), a);
    em_val w = collect(em_rdd_sample(r, false, 0.5, 2), a);
    em_val all = collect(r, a);

    expect_val(x, y, "sample rerun");
    expect_val(x, z, "sample same seed");
    assert_false(em_val_eq(x, w));
    assert_true(x.len > 350 && x.len < 650);
    assert_true(is_subsequence(x, all));
    /* the same on another number of threads */
    expect_val(
        collect(em_rdd_sample(em_ctx_range(ctx1, 0, 1000, 1, 4), false, 0.5, 1),
                a),
        x, "sample on local[1]");
    /* fraction 0 and 1 */
    assert_int_equal(count_of(em_rdd_sample(r, false, 0.0, 3)), 0);
    assert_int_equal(count_of(em_rdd_sample(r, true, 0.0, 3)), 0);
    expect_val(collect(em_rdd_sample(r, false, 1.0, 3), a), all, "fraction 1");
    /* bad fractions */
    assert_null(em_rdd_sample(r, false, 1.5, 3));
    assert_null(em_rdd_sample(r, false, -0.1, 3));
    assert_null(em_rdd_sample(r, true, -1.0, 3));
    assert_null(em_rdd_sample(r, false, NAN, 3));
    em_arena_destroy(a);
    em_ctx_destroy(ctx1);
    em_ctx_destroy(ctx);
}

static void test_narrow_sample_counts(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_rdd *r = em_ctx_range(ctx, 0, 100000, 1, 8);
    int64_t n;

    /* Bernoulli: mean 30000, sd ~145 */
    n = count_of(em_rdd_sample(r, false, 0.3, 42));
    assert_true(n > 28500 && n < 31500);
    /* Poisson with replacement: mean 30000, sd ~173 */
    n = count_of(em_rdd_sample(r, true, 0.3, 42));
    assert_true(n > 28500 && n < 31500);
    /* more copies than records with replacement */
    n = count_of(em_rdd_sample(r, true, 2.0, 7));
    assert_true(n > 197000 && n < 203000);
    /* a large fraction with replacement (split into steps) */
    n = count_of(
        em_rdd_sample(em_ctx_range(ctx, 0, 1000, 1, 2), true, 40.0, 9));
    assert_true(n > 38000 && n < 42000);
    em_ctx_destroy(ctx);
}

/* ---- coalesce, union ---- */

static void test_narrow_coalesce(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_rdd *r = em_ctx_range(ctx, 0, 100, 1, 10);
    em_val all = collect(r, a);
    static const int ks[] = {1, 2, 3, 7, 10, 20};

    for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
        em_rdd *c = em_rdd_coalesce(r, ks[i]);
        int want = ks[i] < 10 ? ks[i] : 10;
        em_val g;
        size_t total = 0;
        assert_non_null(c);
        assert_int_equal(em_rdd_num_partitions(c), want);
        expect_val(collect(c, a), all, "coalesce order");
        /* each new partition is a run of whole old partitions */
        g = collect(em_rdd_glom(c), a);
        assert_int_equal(g.len, want);
        for (size_t p = 0; p < g.len; p++) {
            assert_int_equal(g.u.arr[p].len % 10, 0);
            total += g.u.arr[p].len;
        }
        assert_int_equal(total, 100);
    }
    assert_null(em_rdd_coalesce(r, 0));
    assert_null(em_rdd_coalesce(r, -3));
    /* coalesce of an empty RDD */
    assert_int_equal(
        em_rdd_num_partitions(em_rdd_coalesce(em_ctx_empty(ctx), 3)), 0);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_narrow_union(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_ctx *other = em_test_ctx("local[1]");
    em_arena *a = em_arena_create();
    em_rdd *x = em_ctx_range(ctx, 0, 5, 1, 3);
    em_rdd *y = em_ctx_range(ctx, 100, 103, 1, 2);
    em_rdd *e = em_ctx_empty(ctx);
    em_rdd *parts[] = {x, y, e, x};
    em_rdd *u = em_ctx_union(ctx, parts, 4);
    int64_t want[] = {0, 1, 2, 3, 4, 100, 101, 102, 0, 1, 2, 3, 4};

    assert_non_null(u);
    assert_int_equal(em_rdd_num_partitions(u), 3 + 2 + 0 + 3);
    expect_ints(collect(u, a), want, 13, "union");
    /* the partitions are the parents', in turn */
    {
        em_val g = collect(em_rdd_glom(u), a);
        em_val gx = collect(em_rdd_glom(x), a), gy = collect(em_rdd_glom(y), a);
        assert_int_equal(g.len, 8);
        for (int i = 0; i < 3; i++) {
            expect_val(g.u.arr[i], gx.u.arr[i], "union part");
            expect_val(g.u.arr[5 + i], gx.u.arr[i], "union part");
        }
        for (int i = 0; i < 2; i++)
            expect_val(g.u.arr[3 + i], gy.u.arr[i], "union part");
    }
    assert_null(em_ctx_union(ctx, parts, 0));
    {
        em_rdd *bad[] = {x, NULL};
        assert_null(em_ctx_union(ctx, bad, 2));
    }
    {
        em_rdd *mixed[] = {x, em_ctx_range(other, 0, 3, 1, 1)};
        assert_null(em_ctx_union(ctx, mixed, 2));
    }
    em_arena_destroy(a);
    em_ctx_destroy(other);
    em_ctx_destroy(ctx);
}

/* ---- range, emptyRDD ---- */

static void expect_range(em_ctx *ctx, int64_t start, int64_t end, int64_t step,
                         const int64_t *want, size_t n)
{
    em_arena *a = em_arena_create();
    char what[96];

    snprintf(what, sizeof(what), "range(%lld, %lld, %lld)", (long long)start,
             (long long)end, (long long)step);
    for (int s = 1; s <= 4; s += 3)
        expect_ints(collect(em_ctx_range(ctx, start, end, step, s), a), want, n,
                    what);
    em_arena_destroy(a);
}

static void test_narrow_range(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    int64_t up[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    int64_t down[] = {10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
    int64_t by3[] = {0, 3, 6, 9};
    int64_t down3[] = {10, 7, 4, 1};
    int64_t mixed[] = {-5, -3, -1, 1, 3};
    int64_t one[] = {7};
    int64_t top[] = {INT64_MAX - 10, INT64_MAX - 6, INT64_MAX - 2};
    int64_t bottom[] = {INT64_MIN + 10, INT64_MIN + 6, INT64_MIN + 2};

    expect_range(ctx, 0, 10, 1, up, 10);
    expect_range(ctx, 10, 0, -1, down, 10);
    expect_range(ctx, 0, 10, 3, by3, 4);
    expect_range(ctx, 10, 0, -3, down3, 4);
    expect_range(ctx, -5, 5, 2, mixed, 5);
    expect_range(ctx, 7, 8, 100, one, 1);
    expect_range(ctx, 7, 6, -100, one, 1);
    /* empty ranges */
    expect_range(ctx, 5, 5, 1, NULL, 0);
    expect_range(ctx, 5, 0, 1, NULL, 0);
    expect_range(ctx, 0, 5, -1, NULL, 0);
    expect_range(ctx, 5, 5, -1, NULL, 0);
    /* near the ends of int64 */
    expect_range(ctx, INT64_MAX - 10, INT64_MAX, 4, top, 3);
    expect_range(ctx, INT64_MIN + 10, INT64_MIN, -4, bottom, 3);
    /* step 0 */
    assert_null(em_ctx_range(ctx, 0, 10, 0, 2));
    em_ctx_destroy(ctx);
}

/* A range whose offsets i*step do not fit int64 although every element
 * does: start + i*step must be computed without overflow. */
static void test_narrow_range_wide_span(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    int64_t q = INT64_C(1) << 62;
    int64_t want[] = {INT64_MIN, INT64_MIN + q, 0, q};
    int64_t down[] = {INT64_MAX, INT64_MAX - q, INT64_MAX - q - q,
                      INT64_MAX - q - q - q};

    expect_range(ctx, INT64_MIN, INT64_MAX, q, want, 4);
    expect_range(ctx, INT64_MAX, INT64_MIN, -q, down, 4);
    em_ctx_destroy(ctx);
}

static void test_narrow_empty(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_rdd *e = em_ctx_empty(ctx);
    int64_t n = -1;

    assert_non_null(e);
    assert_int_equal(em_rdd_num_partitions(e), 0);
    assert_int_equal(collect(e, a).len, 0);
    assert_int_equal(collect(em_rdd_glom(e), a).len, 0);
    assert_int_equal(collect(em_rdd_map(e, EM_FN(fn_square)), a).len, 0);
    EM_CHECK(em_rdd_count(e, &n));
    assert_int_equal(n, 0);
    /* parallelize of nothing: partitions, but no records */
    {
        em_rdd *p = em_ctx_parallelize(ctx, NULL, 0, 3);
        em_val g;
        assert_non_null(p);
        assert_int_equal(em_rdd_num_partitions(p), 3);
        g = collect(em_rdd_glom(p), a);
        assert_int_equal(g.len, 3);
        for (int i = 0; i < 3; i++)
            assert_int_equal(g.u.arr[i].len, 0);
    }
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* ---- NULL along a chain ---- */

static void test_narrow_null_propagates(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_rdd *r = em_ctx_range(ctx, 0, 4, 1, 2);
    em_rdd *two[2];
    char first[256];
    em_val out;
    em_arena *a = em_arena_create();

    /* the first error: a map without a function */
    assert_null(em_rdd_map(r, EM_FN_NONE));
    snprintf(first, sizeof(first), "%s", em_last_error());
    assert_true(first[0] != '\0');

    assert_null(em_rdd_map(NULL, EM_FN(fn_square)));
    assert_null(em_rdd_filter(NULL, EM_FN(fn_is_even)));
    assert_null(em_rdd_flat_map(NULL, EM_FN(fn_repeat)));
    assert_null(em_rdd_map_partitions(NULL, EM_FN(fn_part_sum)));
    assert_null(em_rdd_map_partitions_with_index(NULL, EM_FN(fn_part_tag)));
    assert_null(em_rdd_glom(NULL));
    assert_null(em_rdd_map_values(NULL, EM_FN(fn_neg)));
    assert_null(em_rdd_flat_map_values(NULL, EM_FN(fn_upto)));
    assert_null(em_rdd_key_by(NULL, EM_FN(fn_mod3)));
    assert_null(em_rdd_keys(NULL));
    assert_null(em_rdd_values(NULL));
    assert_null(em_rdd_zip(NULL, r));
    assert_null(em_rdd_zip(r, NULL));
    assert_null(em_rdd_zip_with_index(NULL));
    assert_null(em_rdd_zip_with_unique_id(NULL));
    assert_null(em_rdd_sample(NULL, false, 0.5, 1));
    assert_null(em_rdd_coalesce(NULL, 2));
    two[0] = r;
    two[1] = NULL;
    assert_null(em_ctx_union(ctx, two, 2));
    /* a whole chain */
    assert_null(em_rdd_glom(
        em_rdd_filter(em_rdd_map(NULL, EM_FN(fn_square)), EM_FN(fn_is_even))));
    /* the message is still the first one */
    assert_string_equal(em_last_error(), first);
    /* actions on NULL fail cleanly */
    assert_int_not_equal(em_rdd_collect(NULL, a, &out), EM_OK);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_narrow_map_filter),
        EM_TEST(test_narrow_flat_map),
        EM_TEST(test_narrow_map_partitions),
        EM_TEST(test_narrow_map_partitions_with_index),
        EM_TEST(test_narrow_glom_layout),
        EM_TEST(test_narrow_parallelize_copies),
        EM_TEST(test_narrow_pair_ops),
        EM_TEST(test_narrow_pair_ops_need_pairs),
        EM_TEST(test_narrow_zip),
        EM_TEST(test_narrow_zip_with_index),
        EM_TEST(test_narrow_zip_with_index_failing_parent),
        EM_TEST(test_narrow_zip_other_context),
        EM_TEST(test_narrow_zip_with_unique_id),
        EM_TEST(test_narrow_sample),
        EM_TEST(test_narrow_sample_counts),
        EM_TEST(test_narrow_coalesce),
        EM_TEST(test_narrow_union),
        EM_TEST(test_narrow_range),
        EM_TEST(test_narrow_empty),
        EM_TEST(test_narrow_null_propagates),
        /* last: a failure here may abort the process under UBSan */
        EM_TEST(test_narrow_range_wide_span),
    };

    return cmocka_run_group_tests_name("narrow_ops", tests, NULL, NULL);
}
