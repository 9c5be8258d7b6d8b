/* Barrier stages and their collectives in local mode (scheduler/barrier.c,
 * coll.c): allReduce by ring and tree, every operator, dense and sparse,
 * on 1, 2, 3, 4 and 7 tasks with lengths that do not divide (and empty
 * vectors), against a sequential reduction; the elements each task sent
 * against 2(m-1)k/m (ring) and the tree's edges; allGather; the barrier's
 * meeting point; a task failing once retries the whole stage with a new
 * attempt number, and the failed attempt's accumulator updates count for
 * nothing; too few slots, a partial action, mismatched lengths and a
 * silent task (timeout) fail clearly. The vectors hold small multiples of
 * 1/4, so every order of summation gives the exact reference.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "em_test.h"
#include "ember/barrier.h"
#include "scheduler/barrier.h"

enum { F_K, F_OP, F_ALGO, F_SPARSE, F_FAIL, F_NFIELDS };

/* Task p's dense vector: small multiples of 1/4 of both signs. */
static double dense_at(int p, size_t j)
{
    return (double)((p * 31 + (int)j * 17) % 13 - 6) + 0.25 * p;
}

/* Task p's sparse vector of dimension k: about 2 in 5 entries. */
static bool sparse_has(int p, size_t j)
{
    return ((int)j * 7 + p * 3) % 5 < 2;
}

static double sparse_at(int p, size_t j)
{
    return (double)(p + 1) + 0.5 * (double)j;
}

static em_status make_vec(em_arena *a, int p, size_t k, bool is_sparse,
                          em_val *out)
{
    if (!is_sparse) {
        double *x = em_vec_make(a, k, out);
        if (x == NULL && k > 0)
            return EM_ENOMEM;
        for (size_t j = 0; j < k; j++)
            x[j] = dense_at(p, j);
        return EM_OK;
    }
    uint32_t *idx = em_arena_alloc(a, (k + 1) * sizeof(*idx));
    double *val = em_arena_alloc(a, (k + 1) * sizeof(*val));
    size_t n = 0;
    if (idx == NULL || val == NULL)
        return EM_ENOMEM;
    for (size_t j = 0; j < k; j++) {
        if (sparse_has(p, j)) {
            idx[n] = (uint32_t)j;
            val[n++] = sparse_at(p, j);
        }
    }
    return em_spvec_make(a, (int64_t)k, idx, val, n, out);
}

/* The barrier task: [[partition, attempt, result, elements, bytes,
 * messages]]. env: the F_* fields. */
static em_status reduce_task(em_task *t, const em_val *env,
                             const em_val *args, size_t nargs, em_val *out)
{
    em_barrier *b = em_task_barrier(t);
    const em_val *f = env->u.arr;
    em_arena *a = em_task_arena(t);
    em_barrier_stats stats;
    em_val v, res, *row, *one;
    em_status st;
    int p;

    (void)args;
    (void)nargs;
    if (b == NULL)
        return em_task_fail(t, "no barrier context");
    p = em_barrier_partition(b);
    if (f[F_FAIL].u.i == p && em_task_attempt(t) == 0)
        return em_task_fail(t, "failing once on purpose");
    if ((st = make_vec(a, p, (size_t)f[F_K].u.i, f[F_SPARSE].u.b, &v)) ||
        (st = em_barrier_all_reduce(b, v, (em_reduce_op)f[F_OP].u.i,
                                    (em_allreduce_algo)f[F_ALGO].u.i, a,
                                    &res)))
        return st;
    em_barrier_stats_get(b, &stats);
    if ((one = em_array_make(a, 1, out)) == NULL ||
        (row = em_array_make(a, 6, &one[0])) == NULL)
        return EM_ENOMEM;
    row[0] = em_int(p);
    row[1] = em_int(em_task_attempt(t));
    row[2] = res;
    row[3] = em_int((int64_t)stats.elements);
    row[4] = em_int((int64_t)stats.bytes);
    row[5] = em_int((int64_t)stats.messages);
    return EM_OK;
}

static em_ctx *ctx_for(int m, int attempts)
{
    char master[64];

    snprintf(master, sizeof(master), "local[%d,%d]", m, attempts);
    return em_test_ctx(master);
}

/* Runs reduce_task on m partitions; the rows, by partition, in a. */
static em_status run_reduce(em_ctx *ctx, int m, size_t k, em_reduce_op op,
                            em_allreduce_algo algo, bool is_sparse,
                            int fail_part, em_arena *a, em_val *rows)
{
    em_val env[F_NFIELDS], zeros[64];
    em_rdd *base, *r;

    env[F_K] = em_int((int64_t)k);
    env[F_OP] = em_int(op);
    env[F_ALGO] = em_int(algo);
    env[F_SPARSE] = em_bool(is_sparse);
    env[F_FAIL] = em_int(fail_part);
    for (int i = 0; i < m; i++)
        zeros[i] = em_int(i);
    base = em_ctx_parallelize(ctx, zeros, (size_t)m, m);
    r = em_rdd_barrier_map_partitions(
        base, em_fn_of(reduce_task, em_array(env, F_NFIELDS)));
    assert_non_null(r);
    return em_rdd_collect(r, a, rows);
}

/* The sequential reduction of every task's vector at element j. */
static double reference_at(int m, size_t j, em_reduce_op op)
{
    double acc = dense_at(0, j);

    for (int p = 1; p < m; p++) {
        double x = dense_at(p, j);
        if (op == EM_REDUCE_MAX)
            acc = x > acc ? x : acc;
        else if (op == EM_REDUCE_MIN)
            acc = x < acc ? x : acc;
        else
            acc += x;
    }
    return op == EM_REDUCE_MEAN ? acc / m : acc;
}

/* The ring's elements sent by a task: 2(m-1) chunks of floor or ceil
 * k/m. The tree's: k per edge to the parent and to each child. */
static void check_elements(int m, size_t k, em_allreduce_algo algo, int p,
                           int64_t elements)
{
    if (algo == EM_ALLREDUCE_RING) {
        int64_t lo = 2 * (m - 1) * (int64_t)(k / (size_t)m);
        int64_t hi = 2 * (m - 1) * (int64_t)((k + (size_t)m - 1) / (size_t)m);
        assert_true(elements >= lo && elements <= hi);
        return;
    }
    int edges = (p > 0) + (2 * p + 1 < m) + (2 * p + 2 < m);
    assert_int_equal(elements, (int64_t)edges * (int64_t)k);
}

static void check_dense_rows(em_val rows, int m, size_t k, em_reduce_op op,
                             em_allreduce_algo algo)
{
    assert_int_equal(rows.len, m);
    for (int p = 0; p < m; p++) {
        const em_val *row = rows.u.arr[p].u.arr;
        assert_int_equal(row[0].u.i, p);
        assert_int_equal(row[2].type, EM_VEC);
        assert_int_equal(row[2].len, k);
        for (size_t j = 0; j < k; j++)
            if (row[2].u.vec[j] != reference_at(m, j, op))
                fail_msg("m=%d k=%zu op=%d algo=%d task %d element %zu: "
                         "%g, expected %g", m, k, op, algo, p, j,
                         row[2].u.vec[j], reference_at(m, j, op));
        check_elements(m, k, algo, p, row[3].u.i);
        /* each message is the payload plus a small header */
        assert_true(row[4].u.i >= 8 * row[3].u.i);
        assert_true(row[4].u.i <= 8 * row[3].u.i + 64 * row[5].u.i);
    }
}

static void test_barrier_allreduce_dense(void **state)
{
    static const int ms[] = {1, 2, 3, 4, 7};
    static const size_t ks[] = {0, 1, 5, 10, 103};

    (void)state;
    for (size_t mi = 0; mi < sizeof(ms) / sizeof(ms[0]); mi++) {
        em_ctx *ctx = ctx_for(ms[mi], 1);
        for (size_t ki = 0; ki < sizeof(ks) / sizeof(ks[0]); ki++) {
            for (int op = EM_REDUCE_SUM; op <= EM_REDUCE_MIN; op++) {
                for (int algo = 0; algo < 2; algo++) {
                    em_arena *a = em_arena_create();
                    em_val rows;
                    EM_CHECK(run_reduce(ctx, ms[mi], ks[ki], op, algo,
                                        false, -1, a, &rows));
                    check_dense_rows(rows, ms[mi], ks[ki], op, algo);
                    em_arena_destroy(a);
                }
            }
        }
        em_ctx_destroy(ctx);
    }
    assert_int_equal(em__coll_pending(), 0);
}

static void test_barrier_allreduce_sparse(void **state)
{
    static const int ms[] = {1, 2, 3, 4, 7};
    static const size_t ks[] = {0, 3, 29};

    (void)state;
    for (size_t mi = 0; mi < sizeof(ms) / sizeof(ms[0]); mi++) {
        em_ctx *ctx = ctx_for(ms[mi], 1);
        int m = ms[mi];
        for (size_t ki = 0; ki < sizeof(ks) / sizeof(ks[0]); ki++) {
            for (int algo = 0; algo < 2; algo++) {
                em_arena *a = em_arena_create();
                em_val rows;
                size_t k = ks[ki];
                EM_CHECK(run_reduce(ctx, m, k, EM_REDUCE_SUM, algo, true, -1,
                                    a, &rows));
                for (int p = 0; p < m; p++) {
                    em_val res = rows.u.arr[p].u.arr[2];
                    size_t nz = 0;
                    assert_int_equal(res.type, EM_SPVEC);
                    assert_int_equal(res.u.sp->dim, (int64_t)k);
                    for (size_t j = 0; j < k; j++) {
                        double want = 0;
                        bool has = false;
                        for (int q = 0; q < m; q++)
                            if (sparse_has(q, j)) {
                                want += sparse_at(q, j);
                                has = true;
                            }
                        if (!has)
                            continue;
                        assert_true(nz < res.len);
                        assert_int_equal(res.u.sp->idx[nz], j);
                        assert_true(res.u.sp->val[nz] == want);
                        nz++;
                    }
                    assert_int_equal(res.len, nz);
                }
                em_arena_destroy(a);
            }
        }
        em_ctx_destroy(ctx);
    }
}

/* ---- allGather and barrier ---- */

static atomic_int arrived;

/* Counts itself in, meets the others, then reports how many had arrived,
 * and everyone's partition squared as gathered. */
static em_status gather_task(em_task *t, const em_val *env,
                             const em_val *args, size_t nargs, em_val *out)
{
    em_barrier *b = em_task_barrier(t);
    em_arena *a = em_task_arena(t);
    em_val *row, *one, g;
    int p = em_barrier_partition(b), seen;
    em_status st;

    (void)env;
    (void)args;
    (void)nargs;
    atomic_fetch_add(&arrived, 1);
    if ((st = em_barrier_sync(b)) != EM_OK)
        return st;
    seen = atomic_load(&arrived);
    if ((st = em_barrier_all_gather(b, em_int((int64_t)p * p), a, &g)))
        return st;
    if ((one = em_array_make(a, 1, out)) == NULL ||
        (row = em_array_make(a, 4, &one[0])) == NULL)
        return EM_ENOMEM;
    row[0] = em_int(p);
    row[1] = em_int(seen);
    row[2] = g;
    row[3] = em_int(em_barrier_num_tasks(b));
    return EM_OK;
}

static void test_barrier_gather_and_sync(void **state)
{
    static const int ms[] = {1, 2, 3, 4, 7};

    (void)state;
    for (size_t mi = 0; mi < sizeof(ms) / sizeof(ms[0]); mi++) {
        int m = ms[mi];
        em_ctx *ctx = ctx_for(m, 1);
        em_arena *a = em_arena_create();
        em_val rows;
        em_rdd *r = em_rdd_barrier_map_partitions(
            em_ctx_range(ctx, 0, m, 1, m), EM_FN(gather_task));
        atomic_store(&arrived, 0);
        EM_CHECK(em_rdd_collect(r, a, &rows));
        assert_int_equal(rows.len, m);
        for (int p = 0; p < m; p++) {
            const em_val *row = rows.u.arr[p].u.arr;
            assert_int_equal(row[0].u.i, p);
            assert_int_equal(row[1].u.i, m); /* all arrived before any left */
            assert_int_equal(row[3].u.i, m);
            assert_int_equal(row[2].len, m);
            for (int q = 0; q < m; q++)
                assert_int_equal(row[2].u.arr[q].u.i, q * q);
        }
        em_arena_destroy(a);
        em_ctx_destroy(ctx);
    }
}

/* ---- failures ---- */

static void test_barrier_retries_whole_stage(void **state)
{
    em_ctx *ctx = ctx_for(4, 4);
    em_arena *a = em_arena_create();
    em_val rows;

    (void)state;
    /* task 2 fails in attempt 0 while the others wait in the allreduce */
    EM_CHECK(run_reduce(ctx, 4, 21, EM_REDUCE_SUM, EM_ALLREDUCE_RING, false,
                        2, a, &rows));
    check_dense_rows(rows, 4, 21, EM_REDUCE_SUM, EM_ALLREDUCE_RING);
    for (int p = 0; p < 4; p++) /* every task ran again as attempt 1 */
        assert_int_equal(rows.u.arr[p].u.arr[1].u.i, 1);
    assert_int_equal(em__coll_pending(), 0);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* Counts itself in an accumulator; task 1 then fails in attempt 0 (the
 * others, calling no collective, succeed in that attempt). */
static em_status count_task(em_task *t, const em_val *env,
                            const em_val *args, size_t nargs, em_val *out)
{
    em_status st;

    (void)args;
    (void)nargs;
    if ((st = em_task_accum_add(t, *env, em_int(1))) != EM_OK)
        return st;
    if (em_task_partition(t) == 1 && em_task_attempt(t) == 0)
        return em_task_fail(t, "failing once on purpose");
    *out = em_array(NULL, 0);
    return EM_OK;
}

static void test_barrier_accumulators_count_once(void **state)
{
    em_ctx *ctx = ctx_for(3, 4);
    em_arena *a = em_arena_create();
    em_accum *acc = em_ctx_accumulator(ctx, EM_ACCUM_SUM, em_int(0),
                                       em_nil(), EM_FN_NONE);
    em_val rows, v;
    em_rdd *r = em_rdd_barrier_map_partitions(
        em_ctx_range(ctx, 0, 3, 1, 3),
        em_fn_of(count_task, em_accum_ref(acc)));

    (void)state;
    EM_CHECK(em_rdd_collect(r, a, &rows));
    EM_CHECK(em_accum_value(acc, a, &v));
    /* the first attempt's two successes count for nothing */
    assert_int_equal(v.u.i, 3);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_barrier_too_few_slots(void **state)
{
    em_ctx *ctx = ctx_for(2, 1);
    em_arena *a = em_arena_create();
    em_val rows;

    (void)state;
    assert_int_equal(run_reduce(ctx, 3, 4, EM_REDUCE_SUM, EM_ALLREDUCE_RING,
                                false, -1, a, &rows),
                     EM_ESTATE);
    assert_non_null(strstr(em_last_error(), "barrier stage of 3 tasks"));
    assert_non_null(strstr(em_last_error(), "local[2,1] has 2"));
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_barrier_partial_action(void **state)
{
    em_ctx *ctx = ctx_for(3, 1);
    em_arena *a = em_arena_create();
    em_val first;
    em_rdd *r = em_rdd_barrier_map_partitions(em_ctx_range(ctx, 0, 3, 1, 3),
                                              EM_FN(gather_task));

    (void)state;
    assert_int_equal(em_rdd_take(r, 1, a, &first), EM_EINVAL);
    assert_non_null(strstr(em_last_error(), "barrier stage"));
    assert_null(em_rdd_barrier_map_partitions(NULL, EM_FN(gather_task)));
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* Task 1 gives a longer vector than the others. */
static em_status mismatch_task(em_task *t, const em_val *env,
                               const em_val *args, size_t nargs, em_val *out)
{
    em_barrier *b = em_task_barrier(t);
    em_arena *a = em_task_arena(t);
    size_t k = em_barrier_partition(b) == 1 ? 9 : 8;
    em_val v;

    (void)env;
    (void)args;
    (void)nargs;
    if (em_vec_make(a, k, &v) == NULL)
        return EM_ENOMEM;
    memset((double *)v.u.vec, 0, k * sizeof(double));
    return em_barrier_all_reduce(b, v, EM_REDUCE_SUM, EM_ALLREDUCE_TREE, a,
                                 out);
}

/* Task 0 never joins the allreduce the others wait in. */
static em_status silent_task(em_task *t, const em_val *env,
                             const em_val *args, size_t nargs, em_val *out)
{
    em_barrier *b = em_task_barrier(t);
    em_val v;

    (void)env;
    (void)args;
    (void)nargs;
    if (em_barrier_partition(b) == 0) {
        *out = em_array(NULL, 0);
        return EM_OK;
    }
    if (em_vec_make(em_task_arena(t), 4, &v) == NULL)
        return EM_ENOMEM;
    memset((double *)v.u.vec, 0, 4 * sizeof(double));
    return em_barrier_all_reduce(b, v, EM_REDUCE_SUM, EM_ALLREDUCE_RING,
                                 em_task_arena(t), out);
}

static void test_barrier_bad_input_and_timeout(void **state)
{
    em_ctx *ctx = ctx_for(3, 2);
    em_arena *a = em_arena_create();
    em_val rows;
    em_rdd *r;

    (void)state;
    r = em_rdd_barrier_map_partitions(em_ctx_range(ctx, 0, 3, 1, 3),
                                      EM_FN(mismatch_task));
    assert_int_equal(em_rdd_collect(r, a, &rows), EM_EINVAL);
    assert_non_null(strstr(em_last_error(), "failed 2 times"));
    assert_non_null(strstr(em_last_error(), "same length"));
    em_ctx_destroy(ctx);
    ctx = ctx_for(2, 2);
    setenv("EMBER_BARRIER_TIMEOUT_MS", "300", 1);
    r = em_rdd_barrier_map_partitions(em_ctx_range(ctx, 0, 2, 1, 2),
                                      EM_FN(silent_task));
    assert_int_equal(em_rdd_collect(r, a, &rows), EM_ETIMEOUT);
    assert_non_null(strstr(em_last_error(), "no message from task 0"));
    unsetenv("EMBER_BARRIER_TIMEOUT_MS");
    assert_int_equal(em__coll_pending(), 0);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_barrier_allreduce_dense),
        EM_TEST(test_barrier_allreduce_sparse),
        EM_TEST(test_barrier_gather_and_sync),
        EM_TEST(test_barrier_retries_whole_stage),
        EM_TEST(test_barrier_accumulators_count_once),
        EM_TEST(test_barrier_too_few_slots),
        EM_TEST(test_barrier_partial_action),
        EM_TEST(test_barrier_bad_input_and_timeout),
    };

    return cmocka_run_group_tests_name("barrier", tests, NULL, NULL);
}
