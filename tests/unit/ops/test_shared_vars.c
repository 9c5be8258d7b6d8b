/* Tests of broadcast variables and accumulators (scheduler/shared.c):
 * values visible in tasks, destroyed broadcasts, the accumulator kinds,
 * reading an accumulator inside a task, and retried tasks counting once.
 */
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

static int64_t accum_int(em_accum *acc)
{
    em_arena *a = em_arena_create();
    em_val v;
    int64_t x;

    EM_CHECK(em_accum_value(acc, a, &v));
    assert_int_equal(v.type, EM_INT);
    x = v.u.i;
    em_arena_destroy(a);
    return x;
}

/* A nested value exercising every kind of the encoding. */
static em_val nested_value(em_arena *a)
{
    static const double xs[] = {1.5, -0.0, 1e300};
    static const uint8_t raw[] = {0, 1, 255, 0};
    em_val kv[6], items[12], m, out;

    kv[0] = em_cstr("one");
    kv[1] = em_int(1);
    kv[2] = em_cstr("pi");
    kv[3] = em_float(3.25);
    kv[4] = em_int(-7);
    kv[5] = em_array(NULL, 0);
    EM_CHECK(em_map_make(a, kv, 3, &m));
    items[0] = em_int(INT64_MIN);
    items[1] = em_int(INT64_MAX);
    items[2] = em_float(2.0); /* an integral float stays a float */
    items[3] = em_float(-0.5);
    items[4] = em_cstr("");
    items[5] = em_cstr("h\xc3\xa9llo");
    items[6] = em_bytes(raw, sizeof(raw));
    items[7] = em_bool(true);
    items[8] = em_nil();
    items[9] = m;
    items[10] = em_vec(xs, 3);
    items[11] = em_array(items, 3);
    EM_CHECK(em_val_copy(a, em_array(items, 12), &out));
    return out;
}

/* ---- broadcast ---- */

/* x -> table[x] where table is the broadcast array in env. */
static em_status fn_lookup(em_task *t, const em_val *env, const em_val *args,
                           size_t nargs, em_val *out)
{
    em_val table;
    em_status st = em_task_broadcast(t, *env, &table);

    if (st != EM_OK)
        return st;
    if (table.type != EM_ARRAY || args[0].u.i >= table.len)
        return em_task_fail(t, "bad table");
    *out = table.u.arr[args[0].u.i];
    return EM_OK;
}

/* Returns the whole broadcast value (env: [ref, anything]). */
static em_status fn_whole(em_task *t, const em_val *env, const em_val *args,
                          size_t nargs, em_val *out)
{
    return em_task_broadcast(t, env->u.arr[0], out);
}

static void test_shared_broadcast(void **state)
{
    em_ctx *ctx = em_test_ctx("local[3]");
    em_arena *src = em_arena_create(), *a = em_arena_create();
    em_val table, *items = em_array_make(src, 50, &table), got, v;
    em_broadcast *b;

    for (int i = 0; i < 50; i++) {
        char buf[16];
        int n = snprintf(buf, sizeof(buf), "v%d", i * i);
        EM_CHECK(em_str_copy(src, buf, (size_t)n, &items[i]));
    }
    b = em_ctx_broadcast(ctx, table);
    assert_non_null(b);
    /* the broadcast copied the value */
    EM_CHECK(em_val_copy(a, table, &table));
    em_arena_destroy(src);
    EM_CHECK(em_broadcast_value(b, &v));
    em_test_expect_identical(v, table, "driver value");
    EM_CHECK(
        em_rdd_collect(em_rdd_map(em_ctx_range(ctx, 0, 50, 1, 7),
                                  em_fn_of(fn_lookup, em_broadcast_ref(b))),
                       a, &got));
    em_test_expect_identical(got, table, "lookup in tasks");
    /* a second job sees it too */
    EM_CHECK(
        em_rdd_collect(em_rdd_map(em_ctx_range(ctx, 10, 12, 1, 2),
                                  em_fn_of(fn_lookup, em_broadcast_ref(b))),
                       a, &got));
    expect_val(got.u.arr[1], table.u.arr[11], "second job");
    em_broadcast_destroy(b);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* Every kind of value survives the broadcast's encoding exactly. */
static void test_shared_broadcast_nested(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_val value = nested_value(a), env[2], got, v;
    em_broadcast *b = em_ctx_broadcast(ctx, value);

    assert_non_null(b);
    EM_CHECK(em_broadcast_value(b, &v));
    em_test_expect_identical(v, value, "driver value");
    env[0] = em_broadcast_ref(b);
    env[1] = em_int(0);
    EM_CHECK(em_rdd_collect(em_rdd_map(em_ctx_range(ctx, 0, 4, 1, 4),
                                       em_fn_of(fn_whole, em_array(env, 2))),
                            a, &got));
    assert_int_equal(got.len, 4);
    for (int i = 0; i < 4; i++)
        em_test_expect_identical(got.u.arr[i], value, "task value");
    /* a scalar broadcast */
    {
        em_broadcast *s = em_ctx_broadcast(ctx, em_int(42));
        assert_non_null(s);
        EM_CHECK(em_broadcast_value(s, &v));
        em_test_expect_identical(v, em_int(42), "scalar");
    }
    /* the context frees broadcasts that are not destroyed */
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_shared_broadcast_destroyed(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_val items[3] = {em_int(10), em_int(20), em_int(30)}, got;
    em_broadcast *b = em_ctx_broadcast(ctx, em_array(items, 3));
    em_broadcast *keep = em_ctx_broadcast(ctx, em_array(items, 3));
    em_rdd *r;
    em_status st;

    assert_non_null(b);
    assert_non_null(keep);
    r = em_rdd_map(em_ctx_range(ctx, 0, 3, 1, 2),
                   em_fn_of(fn_lookup, em_broadcast_ref(b)));
    EM_CHECK(em_rdd_collect(r, a, &got));
    em_broadcast_destroy(b);
    st = em_rdd_collect(r, a, &got);
    if (st != EM_ESTATE)
        fail_msg("got %s (%s), want EM_ESTATE", em_status_name(st),
                 em_last_error());
    /* other broadcasts and the context still work */
    EM_CHECK(
        em_rdd_collect(em_rdd_map(em_ctx_range(ctx, 0, 3, 1, 2),
                                  em_fn_of(fn_lookup, em_broadcast_ref(keep))),
                       a, &got));
    expect_val(got, em_array(items, 3), "other broadcast");
    /* a value that is not a reference */
    st = em_rdd_collect(em_rdd_map(em_ctx_range(ctx, 0, 3, 1, 2),
                                   em_fn_of(fn_lookup, em_int(1))),
                        a, &got);
    assert_int_not_equal(st, EM_OK);
    em_broadcast_destroy(NULL);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* ---- accumulators ---- */

/* Adds env[1] (a value) to accumulator env[0] for each record. */
static em_status fn_add_env(em_task *t, const em_val *env, const em_val *args,
                            size_t nargs, em_val *out)
{
    return em_task_accum_add(t, env->u.arr[0], env->u.arr[1]);
}

/* Adds the record itself to accumulator env. */
static em_status fn_add_rec(em_task *t, const em_val *env, const em_val *args,
                            size_t nargs, em_val *out)
{
    *out = args[0];
    return em_task_accum_add(t, *env, args[0]);
}

/* Adds [rec] to accumulator env (a USER accumulator concatenating). */
static em_status fn_add_singleton(em_task *t, const em_val *env,
                                  const em_val *args, size_t nargs, em_val *out)
{
    return em_task_accum_add(t, *env, em_array(args, 1));
}

static em_accum *sum_accum(em_ctx *ctx, em_val initial)
{
    em_accum *acc =
        em_ctx_accumulator(ctx, EM_ACCUM_SUM, initial, em_nil(), EM_FN_NONE);

    assert_non_null(acc);
    return acc;
}

static void test_shared_accum_sum(void **state)
{
    em_ctx *ctx = em_test_ctx("local[3]");
    em_arena *a = em_arena_create();
    em_accum *n = sum_accum(ctx, em_int(0));
    em_accum *f = sum_accum(ctx, em_float(0.25));
    em_accum *from10 = sum_accum(ctx, em_int(10));
    em_rdd *r = em_ctx_range(ctx, 0, 1000, 1, 13);
    em_val env[2], v;
    int64_t cnt;

    env[0] = em_accum_ref(n);
    env[1] = em_int(1);
    EM_CHECK(em_rdd_foreach(r, em_fn_of(fn_add_env, em_array(env, 2))));
    assert_int_equal(accum_int(n), 1000);
    /* counting in a map: updates arrive with the job's tasks */
    EM_CHECK(em_rdd_count(
        em_rdd_map(r, em_fn_of(fn_add_rec, em_accum_ref(from10))), &cnt));
    assert_int_equal(accum_int(from10), 10 + 499500);
    /* a second job adds on */
    EM_CHECK(em_rdd_foreach(r, em_fn_of(fn_add_env, em_array(env, 2))));
    assert_int_equal(accum_int(n), 2000);
    /* floats */
    env[0] = em_accum_ref(f);
    env[1] = em_float(0.5);
    EM_CHECK(em_rdd_foreach(r, em_fn_of(fn_add_env, em_array(env, 2))));
    EM_CHECK(em_accum_value(f, a, &v));
    assert_int_equal(v.type, EM_FLOAT);
    assert_true(v.u.f == 500.25);
    /* set on the driver */
    EM_CHECK(em_accum_set(n, em_int(5)));
    assert_int_equal(accum_int(n), 5);
    /* nothing added by an empty job */
    EM_CHECK(em_rdd_foreach(em_ctx_empty(ctx),
                            em_fn_of(fn_add_rec, em_accum_ref(n))));
    assert_int_equal(accum_int(n), 5);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_shared_accum_max_min(void **state)
{
    em_ctx *ctx = em_test_ctx("local[3]");
    em_arena *a = em_arena_create();
    em_accum *mx = em_ctx_accumulator(ctx, EM_ACCUM_MAX, em_int(-1000000),
                                      em_nil(), EM_FN_NONE);
    em_accum *mn = em_ctx_accumulator(ctx, EM_ACCUM_MIN, em_int(1000000),
                                      em_nil(), EM_FN_NONE);
    em_accum *big = em_ctx_accumulator(ctx, EM_ACCUM_MAX, em_int(5000),
                                       em_nil(), EM_FN_NONE);
    em_test_rng rng = {3};
    int64_t x[300], hi = INT64_MIN, lo = INT64_MAX;
    em_val vals[300], v;
    em_rdd *r;

    for (int i = 0; i < 300; i++) {
        x[i] = (int64_t)em_test_below(&rng, 2000) - 1000;
        vals[i] = em_int(x[i]);
        hi = x[i] > hi ? x[i] : hi;
        lo = x[i] < lo ? x[i] : lo;
    }
    r = em_ctx_parallelize(ctx, vals, 300, 9);
    EM_CHECK(em_rdd_foreach(r, em_fn_of(fn_add_rec, em_accum_ref(mx))));
    EM_CHECK(em_rdd_foreach(r, em_fn_of(fn_add_rec, em_accum_ref(mn))));
    EM_CHECK(em_rdd_foreach(r, em_fn_of(fn_add_rec, em_accum_ref(big))));
    assert_int_equal(accum_int(mx), hi);
    assert_int_equal(accum_int(mn), lo);
    assert_int_equal(accum_int(big), 5000); /* the initial value stays */
    /* strings by the total order */
    {
        em_val s[] = {em_cstr("pear"), em_cstr("apple"), em_cstr("zoo"),
                      em_cstr("kiwi")};
        em_accum *smax = em_ctx_accumulator(ctx, EM_ACCUM_MAX, em_cstr(""),
                                            em_nil(), EM_FN_NONE);
        assert_non_null(smax);
        EM_CHECK(em_rdd_foreach(em_ctx_parallelize(ctx, s, 4, 3),
                                em_fn_of(fn_add_rec, em_accum_ref(smax))));
        EM_CHECK(em_accum_value(smax, a, &v));
        expect_val(v, em_cstr("zoo"), "max string");
    }
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

    return (a > b) - (a < b);
}

/* merge for a "largest two" accumulator: [a, b] arrays -> the two largest
 * ints of both, descending. */
static em_status fn_top2(em_task *t, const em_val *env, const em_val *args,
                         size_t nargs, em_val *out)
{
    int64_t all[4];
    size_t n = 0;
    em_val *items;

    assert_int_equal(nargs, 2);
    for (int k = 0; k < 2; k++) {
        if (args[k].type != EM_ARRAY)
            return em_task_fail(t, "top2: not an array");
        for (size_t i = 0; i < args[k].len && n < 4; i++)
            all[n++] = args[k].u.arr[i].u.i;
    }
    qsort(all, n, sizeof(all[0]), cmp_i64);
    items = em_array_make(em_task_arena(t), n < 2 ? n : 2, out);
    if (items == NULL && n > 0)
        return EM_ENOMEM;
    for (size_t i = 0; i < n && i < 2; i++)
        items[i] = em_int(all[n - 1 - i]);
    return EM_OK;
}

static void test_shared_accum_user(void **state)
{
    em_ctx *ctx = em_test_ctx("local[3]");
    em_arena *a = em_arena_create();
    em_accum *cat, *top;
    em_rdd *r = em_ctx_range(ctx, 0, 200, 1, 7);
    em_val v, init[1] = {em_int(-5)};
    int64_t got[201];

    /* concatenation: every record once, in some order, after the initial */
    cat = em_ctx_accumulator(ctx, EM_ACCUM_USER, em_array(init, 1),
                             em_array(NULL, 0), EM_FN(em_op_concat));
    assert_non_null(cat);
    EM_CHECK(em_rdd_foreach(r, em_fn_of(fn_add_singleton, em_accum_ref(cat))));
    EM_CHECK(em_accum_value(cat, a, &v));
    assert_int_equal(v.type, EM_ARRAY);
    assert_int_equal(v.len, 201);
    expect_val(v.u.arr[0], em_int(-5), "initial first");
    for (size_t i = 0; i < 201; i++)
        got[i] = v.u.arr[i].u.i;
    qsort(got, 201, sizeof(got[0]), cmp_i64);
    for (int64_t i = 0; i < 200; i++)
        assert_int_equal(got[i + 1], i);

    /* a set-like "two largest" */
    top = em_ctx_accumulator(ctx, EM_ACCUM_USER, em_array(NULL, 0),
                             em_array(NULL, 0), EM_FN(fn_top2));
    assert_non_null(top);
    EM_CHECK(em_rdd_foreach(r, em_fn_of(fn_add_singleton, em_accum_ref(top))));
    EM_CHECK(em_accum_value(top, a, &v));
    {
        em_val want[2] = {em_int(199), em_int(198)};
        expect_val(v, em_array(want, 2), "two largest");
    }
    /* a user accumulator needs its merge function */
    assert_null(em_ctx_accumulator(ctx, EM_ACCUM_USER, em_int(0), em_int(0),
                                   EM_FN_NONE));
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* ---- reading an accumulator inside a task ---- */

static em_accum *g_accum;        /* the accumulator tasks try to read */
static atomic_int g_read_status; /* what em_accum_value returned there */
static atomic_int g_set_status;  /* what em_accum_set returned there */

static em_status fn_read_accum(em_task *t, const em_val *env,
                               const em_val *args, size_t nargs, em_val *out)
{
    em_val v;

    atomic_store(&g_read_status,
                 (int)em_accum_value(g_accum, em_task_arena(t), &v));
    atomic_store(&g_set_status, (int)em_accum_set(g_accum, em_int(99)));
    *out = args[0];
    return EM_OK;
}

static void test_shared_accum_value_in_task(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    int64_t n;

    g_accum = sum_accum(ctx, em_int(3));
    atomic_store(&g_read_status, 1);
    atomic_store(&g_set_status, 1);
    EM_CHECK(em_rdd_count(
        em_rdd_map(em_ctx_range(ctx, 0, 4, 1, 2), EM_FN(fn_read_accum)), &n));
    assert_int_equal(atomic_load(&g_read_status), EM_ESTATE);
    assert_int_equal(atomic_load(&g_set_status), EM_ESTATE);
    assert_int_equal(accum_int(g_accum), 3); /* the set did not happen */
    g_accum = NULL;
    em_ctx_destroy(ctx);
}

/* ---- retries ---- */

/* Adds 1 per record to accumulator env[0], and the attempt number to the
 * MAX accumulator env[1]; fails attempt 0 of partition 1 after its last
 * record (so its updates must be thrown away). */
static em_status fn_flaky(em_task *t, const em_val *env, const em_val *args,
                          size_t nargs, em_val *out)
{
    em_status st = em_task_accum_add(t, env->u.arr[0], em_int(1));

    if (st == EM_OK)
        st = em_task_accum_add(t, env->u.arr[1], em_int(em_task_attempt(t)));
    if (st != EM_OK)
        return st;
    if (em_task_attempt(t) == 0 && em_task_partition(t) == 1 &&
        args[0].u.i == env->u.arr[2].u.i)
        return em_task_fail(t, "flaky");
    *out = args[0];
    return EM_OK;
}

static void run_retry_case(const char *master, int64_t n, int slices)
{
    em_ctx *ctx = em_test_ctx(master);
    em_arena *a = em_arena_create();
    em_accum *cnt = sum_accum(ctx, em_int(0));
    em_accum *att =
        em_ctx_accumulator(ctx, EM_ACCUM_MAX, em_int(0), em_nil(), EM_FN_NONE);
    em_rdd *r = em_ctx_range(ctx, 0, n, 1, slices);
    em_val g, env[3];
    int64_t last_of_p1;

    /* the last record of partition 1 */
    EM_CHECK(em_rdd_collect(em_rdd_glom(r), a, &g));
    assert_true(g.u.arr[1].len > 0);
    last_of_p1 = g.u.arr[1].u.arr[g.u.arr[1].len - 1].u.i;
    env[0] = em_accum_ref(cnt);
    env[1] = em_accum_ref(att);
    env[2] = em_int(last_of_p1);
    EM_CHECK(em_rdd_foreach(r, em_fn_of(fn_flaky, em_array(env, 3))));
    assert_int_equal(accum_int(cnt), n);
    assert_int_equal(accum_int(att), 1); /* partition 1 ran twice */
    /* the same through a map and collect */
    EM_CHECK(em_accum_set(cnt, em_int(0)));
    EM_CHECK(em_rdd_collect(em_rdd_map(r, em_fn_of(fn_flaky, em_array(env, 3))),
                            a, &g));
    assert_int_equal(g.len, n);
    assert_int_equal(accum_int(cnt), n);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_shared_accum_retry_counts_once(void **state)
{
    run_retry_case("local[2,3]", 1000, 4);
    run_retry_case("local[1,2]", 10, 3);
    run_retry_case("local[7,3]", 77, 7);
}

/* With one attempt the flaky task fails the job. */
static void test_shared_accum_no_retry_fails(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_accum *cnt = sum_accum(ctx, em_int(0));
    em_accum *att =
        em_ctx_accumulator(ctx, EM_ACCUM_MAX, em_int(0), em_nil(), EM_FN_NONE);
    em_rdd *r = em_ctx_range(ctx, 0, 8, 1, 2);
    em_val env[3];
    em_status st;

    env[0] = em_accum_ref(cnt);
    env[1] = em_accum_ref(att);
    env[2] = em_int(7);
    st = em_rdd_foreach(r, em_fn_of(fn_flaky, em_array(env, 3)));
    assert_int_equal(st, EM_EUSER);
    assert_non_null(strstr(em_last_error(), "flaky"));
    /* the failed attempt's 4 updates were not merged */
    assert_true(accum_int(cnt) <= 4);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_shared_accum_bad_ref(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_val env[2] = {em_int(1), em_int(1)};

    assert_int_not_equal(em_rdd_foreach(em_ctx_range(ctx, 0, 4, 1, 2),
                                        em_fn_of(fn_add_env, em_array(env, 2))),
                         EM_OK);
    em_ctx_destroy(ctx);
}

/* A reference captured from one context does not silently resolve to
 * another context's broadcast or accumulator with the same number. */
static void test_shared_refs_of_other_context(void **state)
{
    em_ctx *a = em_test_ctx("local[1]");
    em_ctx *b = em_test_ctx("local[1]");
    em_arena *ar = em_arena_create();
    em_broadcast *ba = em_ctx_broadcast(a, em_cstr("from A"));
    em_broadcast *bb = em_ctx_broadcast(b, em_cstr("from B"));
    em_accum *aa = sum_accum(a, em_int(0));
    em_accum *ab = sum_accum(b, em_int(0));
    em_val env[2], got = em_nil();
    em_status st_b, st_a;
    int64_t in_a, in_b, n;
    bool is_b_value;

    assert_non_null(ba);
    assert_non_null(bb);
    env[0] = em_broadcast_ref(ba);
    env[1] = em_int(0);
    st_b = em_rdd_first(em_rdd_map(em_ctx_range(b, 0, 1, 1, 1),
                                   em_fn_of(fn_whole, em_array(env, 2))),
                        ar, &got);
    st_a = em_rdd_count(em_rdd_map(em_ctx_range(b, 0, 5, 1, 1),
                                   em_fn_of(fn_add_rec, em_accum_ref(aa))),
                        &n);
    in_a = accum_int(aa);
    in_b = accum_int(ab);
    is_b_value = st_b == EM_OK && !em_val_eq(got, em_cstr("from A"));
    em_arena_destroy(ar);
    em_ctx_destroy(b);
    em_ctx_destroy(a);
    /* either refused, or A's own value */
    if (is_b_value)
        fail_msg("a task of B read A's broadcast and got B's value");
    if (in_b != 0)
        fail_msg("a task of B adding to A's accumulator changed B's "
                 "accumulator to %lld",
                 (long long)in_b);
    assert_true(st_a != EM_OK || in_a == 0 + 0 + 1 + 2 + 3 + 4);
}

/* An accumulator's memory stays bounded however many tasks merge into it
 * and however often it is set: old values are not kept. */
static void test_shared_accum_memory_bounded(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_accum *smax = em_ctx_accumulator(ctx, EM_ACCUM_MAX, em_cstr(""),
                                        em_nil(), EM_FN_NONE);
    em_accum *top = em_ctx_accumulator(ctx, EM_ACCUM_USER, em_array(NULL, 0),
                                       em_array(NULL, 0), EM_FN(fn_top2));
    em_val words[35], env;
    char text[35][48];
    em_rdd *r, *q;
    int64_t before, grew;

    assert_non_null(smax);
    assert_non_null(top);
    for (int i = 0; i < 35; i++) {
        int n = snprintf(text[i], sizeof(text[i]),
                         "a-string-of-some-length-%02d", i);
        words[i] = em_str(text[i], (size_t)n);
    }
    r = em_ctx_parallelize(ctx, words, 35, 35);
    q = em_ctx_range(ctx, 0, 35, 1, 35);
    env = em_accum_ref(smax);
    /* warm up: threads, scratch arenas, the first values */
    EM_CHECK(em_rdd_foreach(r, em_fn_of(fn_add_rec, env)));
    EM_CHECK(em_rdd_foreach(q, em_fn_of(fn_add_singleton, em_accum_ref(top))));
    before = em_mem_outstanding();
    for (int i = 0; i < 300; i++) {
        EM_CHECK(em_rdd_foreach(r, em_fn_of(fn_add_rec, env)));
        EM_CHECK(
            em_rdd_foreach(q, em_fn_of(fn_add_singleton, em_accum_ref(top))));
    }
    for (int i = 0; i < 3000; i++)
        EM_CHECK(em_accum_set(smax, words[i % 35]));
    grew = em_mem_outstanding() - before;
    em_ctx_destroy(ctx);
    if (grew > 256 * 1024)
        fail_msg("600 jobs and 3000 sets grew memory by %lld bytes",
                 (long long)grew);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_shared_broadcast),
        EM_TEST(test_shared_broadcast_nested),
        EM_TEST(test_shared_broadcast_destroyed),
        EM_TEST(test_shared_accum_sum),
        EM_TEST(test_shared_accum_max_min),
        EM_TEST(test_shared_accum_value_in_task),
        EM_TEST(test_shared_accum_retry_counts_once),
        EM_TEST(test_shared_accum_no_retry_fails),
        EM_TEST(test_shared_accum_bad_ref),
        EM_TEST(test_shared_accum_memory_bounded),
        EM_TEST(test_shared_refs_of_other_context),
        /* last: concatenating empty arrays may abort under UBSan */
        EM_TEST(test_shared_accum_user),
    };

    return cmocka_run_group_tests_name("shared_vars", tests, NULL, NULL);
}
