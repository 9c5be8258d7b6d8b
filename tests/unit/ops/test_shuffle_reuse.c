/* Tests of shuffle reuse (scheduler/shuffle.c, ops/core/join.c,
 * docs/shuffle.md): a second action on the same lineage runs no map task
 * again; an input already partitioned by the cogroup's partitioner is read
 * without a shuffle; narrow operators that keep keys in place keep the
 * partitioner; partitionBy with the partitioner an RDD has returns it. The
 * map tasks are counted with the context's internal ctx->map_tasks_run.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "em_test.h"
#include "runtime/rdd.h"
#include "scheduler/ctx.h"
#include "scheduler/shuffle.h"

/* ---- helpers ---- */

/* n pairs (k, 1) with keys in [0, nkeys). */
static em_rdd *pairs_rdd(em_ctx *ctx, em_arena *a, uint64_t seed, size_t n,
                         int nkeys, int slices)
{
    em_test_rng r = {seed};
    em_val *recs = em_arena_alloc(a, n * sizeof(em_val));
    em_rdd *x;

    assert_non_null(recs);
    for (size_t i = 0; i < n; i++)
        EM_CHECK(em_pair_make(a, em_int((int64_t)em_test_below(
                                     &r, (uint64_t)nkeys)),
                              em_int(1), &recs[i]));
    x = em_ctx_parallelize(ctx, recs, n, slices);
    assert_non_null(x);
    return x;
}

static int64_t count_of(em_rdd *x)
{
    int64_t n = -1;

    assert_non_null(x);
    EM_CHECK(em_rdd_count(x, &n));
    return n;
}

static int64_t map_tasks(const em_ctx *ctx)
{
    return ctx->map_tasks_run;
}

/* The number of pairs of a join of the key counts ca and cb. */
static int64_t join_size(const int64_t *ca, const int64_t *cb, int nkeys)
{
    int64_t n = 0;

    for (int k = 0; k < nkeys; k++)
        n += ca[k] * cb[k];
    return n;
}

/* Counts per key of the rdd's (k, v) pairs, k in [0, nkeys). */
static void key_counts(em_rdd *x, em_arena *a, int64_t *c, int nkeys)
{
    em_val all;

    memset(c, 0, (size_t)nkeys * sizeof(*c));
    EM_CHECK(em_rdd_collect(x, a, &all));
    for (uint32_t i = 0; i < all.len; i++)
        c[all.u.arr[i].u.arr[0].u.i]++;
}

static em_status fn_double(em_task *t, const em_val *env, const em_val *args,
                           size_t nargs, em_val *out)
{
    *out = em_int(args[0].u.i * 2);
    return EM_OK;
}

static em_status fn_twice(em_task *t, const em_val *env, const em_val *args,
                          size_t nargs, em_val *out)
{
    em_val *items = em_array_make(em_task_arena(t), 2, out);

    if (items == NULL)
        return EM_ENOMEM;
    items[0] = args[0];
    items[1] = args[0];
    return EM_OK;
}

static em_status fn_true(em_task *t, const em_val *env, const em_val *args,
                         size_t nargs, em_val *out)
{
    *out = em_bool(true);
    return EM_OK;
}

static em_status fn_swap(em_task *t, const em_val *env, const em_val *args,
                         size_t nargs, em_val *out)
{
    return em_pair_make(em_task_arena(t), args[0].u.arr[1],
                        args[0].u.arr[0], out);
}

static em_status fn_key(em_task *t, const em_val *env, const em_val *args,
                        size_t nargs, em_val *out)
{
    *out = args[0].u.arr[0];
    return EM_OK;
}

/* ---- a second action runs no map task ---- */

static void test_shuffle_reuse_second_action(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_rdd *x = pairs_rdd(ctx, a, 1, 2000, 50, 4);
    em_rdd *sums = em_rdd_reduce_by_key(x, EM_FN(em_op_add), 3);
    int64_t m0 = map_tasks(ctx), m1, n;
    em_val all;

    assert_int_equal(count_of(sums), 50);
    m1 = map_tasks(ctx);
    assert_int_equal(m1 - m0, 4); /* one per map partition */
    assert_int_equal(count_of(sums), 50);
    assert_int_equal(map_tasks(ctx), m1);
    EM_CHECK(em_rdd_collect(sums, a, &all));
    n = 0;
    for (uint32_t i = 0; i < all.len; i++)
        n += all.u.arr[i].u.arr[1].u.i;
    assert_int_equal(n, 2000);
    assert_int_equal(map_tasks(ctx), m1);
    /* a new node over the same shuffle reuses its outputs */
    assert_int_equal(count_of(em_rdd_map_values(sums, EM_FN(fn_double))),
                     50);
    assert_int_equal(count_of(em_rdd_filter(sums, EM_FN(fn_true))), 50);
    assert_int_equal(map_tasks(ctx), m1);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* Every kind of reduce node, and shuffles chained two deep. */
static void test_shuffle_reuse_every_kind(void **state)
{
    em_ctx *ctx = em_test_ctx("local[3]");
    em_arena *a = em_arena_create();
    em_rdd *x = pairs_rdd(ctx, a, 2, 1500, 40, 5);
    em_rdd *y = pairs_rdd(ctx, a, 3, 700, 40, 3);
    struct {
        const char *name;
        em_rdd *r;
        int maps; /* map tasks of the first action */
    } cases[] = {
        {"groupByKey", em_rdd_group_by_key(x, 4), 5},
        {"partitionBy", em_rdd_partition_by(x, 2, EM_FN_NONE), 5},
        {"sortByKey", em_rdd_sort_by_key(x, true, 3, EM_FN_NONE), 5},
        {"distinct", em_rdd_distinct(em_rdd_keys(x), 0), 5},
        {"join", em_rdd_join(x, y, 0), 8},
        {"cogroup", em_rdd_cogroup((em_rdd *[]){x, y, x}, 3, 2), 13},
        {"repartition", em_rdd_repartition(x, 7), 5},
        /* two shuffles deep: groupBy of a reduceByKey (3 partitions) */
        {"reduceByKey.map.groupByKey",
         em_rdd_group_by_key(
             em_rdd_map(em_rdd_reduce_by_key(x, EM_FN(em_op_add), 3),
                        EM_FN(fn_swap)),
             2),
         8},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t m0 = map_tasks(ctx), n1, n2, m1;

        if (cases[i].r == NULL)
            fail_msg("%s: NULL: %s", cases[i].name, em_last_error());
        n1 = count_of(cases[i].r);
        m1 = map_tasks(ctx);
        if (m1 - m0 != cases[i].maps)
            fail_msg("%s: the first action ran %lld map tasks, want %d",
                     cases[i].name, (long long)(m1 - m0), cases[i].maps);
        n2 = count_of(cases[i].r);
        if (n2 != n1)
            fail_msg("%s: counts %lld then %lld", cases[i].name,
                     (long long)n1, (long long)n2);
        if (map_tasks(ctx) != m1)
            fail_msg("%s: the second action ran %lld map tasks", cases[i].name,
                     (long long)(map_tasks(ctx) - m1));
    }
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* ---- co-partitioned joins ---- */

static void test_shuffle_reuse_copartitioned_join(void **state)
{
    const int nkeys = 60;
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_rdd *x = pairs_rdd(ctx, a, 4, 1200, nkeys, 5);
    em_rdd *b = pairs_rdd(ctx, a, 5, 400, nkeys, 3);
    em_rdd *pa = em_rdd_partition_by(x, 4, EM_FN_NONE), *j, *pb;
    int64_t ca[60], cb[60], m0, m1;

    key_counts(x, a, ca, nkeys);
    key_counts(b, a, cb, nkeys);
    m0 = map_tasks(ctx);
    assert_int_equal(count_of(pa), 1200);
    assert_int_equal(map_tasks(ctx) - m0, 5);

    /* only b moves */
    j = em_rdd_join(pa, b, 0);
    assert_non_null(j);
    assert_int_equal(em_rdd_num_partitions(j), 4);
    m0 = map_tasks(ctx);
    assert_int_equal(count_of(j), join_size(ca, cb, nkeys));
    m1 = map_tasks(ctx);
    if (m1 - m0 != 3)
        fail_msg("join(partitioned a, b in 3) ran %lld map tasks; want 3 "
                 "(b's only)", (long long)(m1 - m0));

    /* the other order, and the outer joins, read pa narrowly as well */
    m0 = map_tasks(ctx);
    assert_int_equal(count_of(em_rdd_left_outer_join(b, pa, 0)),
                     join_size(ca, cb, nkeys));
    assert_int_equal(map_tasks(ctx) - m0, 3);

    /* mapValues keeps the partitioner: still no shuffle of that side */
    m0 = map_tasks(ctx);
    assert_int_equal(
        count_of(em_rdd_join(em_rdd_map_values(pa, EM_FN(fn_double)), b, 0)),
        join_size(ca, cb, nkeys));
    assert_int_equal(map_tasks(ctx) - m0, 3);

    /* both sides partitioned alike (and already computed): no map task */
    pb = em_rdd_partition_by(b, 4, EM_FN_NONE);
    assert_int_equal(count_of(pb), 400);
    m0 = map_tasks(ctx);
    assert_int_equal(count_of(em_rdd_join(pa, pb, 0)),
                     join_size(ca, cb, nkeys));
    assert_int_equal(map_tasks(ctx) - m0, 0);

    /* an explicit, different count moves both (pa has 4 partitions) */
    m0 = map_tasks(ctx);
    assert_int_equal(count_of(em_rdd_join(pa, b, 6)),
                     join_size(ca, cb, nkeys));
    assert_int_equal(map_tasks(ctx) - m0, 4 + 3);

    /* the result of a shuffle is partitioned too: reduceByKey's output
     * joins narrowly with a partitionBy of the same count */
    {
        em_rdd *sums = em_rdd_reduce_by_key(x, EM_FN(em_op_add), 4);
        int64_t one[60], present = 0;
        for (int k = 0; k < nkeys; k++) {
            one[k] = ca[k] > 0;
            present += one[k];
        }
        assert_int_equal(count_of(sums), present);
        m0 = map_tasks(ctx);
        assert_int_equal(count_of(em_rdd_join(sums, pb, 0)),
                         join_size(one, cb, nkeys));
        assert_int_equal(map_tasks(ctx) - m0, 0);
    }
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* ---- partitioners of narrow nodes ---- */

static void test_shuffle_reuse_partitioner_kept(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_rdd *x = pairs_rdd(ctx, a, 6, 300, 20, 3);
    em_rdd *pa = em_rdd_partition_by(x, 4, EM_FN_NONE);
    em_rdd *mv = em_rdd_map_values(pa, EM_FN(fn_double));
    em_rdd *fmv = em_rdd_flat_map_values(pa, EM_FN(fn_twice));
    em_rdd *f = em_rdd_filter(pa, EM_FN(fn_true));
    em_rdd *sums = em_rdd_reduce_by_key(x, EM_FN(em_op_add), 4);
    int64_t m0;

    assert_non_null(pa);
    assert_non_null(pa->partitioner);
    assert_non_null(x);
    assert_null(x->partitioner);
    assert_non_null(mv);
    assert_non_null(mv->partitioner);
    assert_true(em__partitioner_eq(mv->partitioner, pa->partitioner));
    assert_non_null(fmv->partitioner);
    assert_true(em__partitioner_eq(fmv->partitioner, pa->partitioner));
    assert_non_null(f->partitioner);
    assert_true(em__partitioner_eq(f->partitioner, pa->partitioner));
    /* operators that may move keys drop it */
    assert_null(em_rdd_map(pa, EM_FN(fn_swap))->partitioner);
    assert_null(em_rdd_keys(pa)->partitioner);
    assert_null(em_rdd_values(pa)->partitioner);
    assert_null(em_rdd_key_by(pa, EM_FN(fn_key))->partitioner);
    /* shuffled results carry theirs */
    assert_non_null(sums->partitioner);
    assert_true(em__partitioner_eq(sums->partitioner, pa->partitioner));
    assert_non_null(em_rdd_group_by_key(x, 3)->partitioner);
    assert_non_null(em_rdd_join(x, x, 3)->partitioner);
    /* partitionBy with the partitioner an RDD has returns it unchanged */
    assert_ptr_equal(em_rdd_partition_by(pa, 4, EM_FN_NONE), pa);
    assert_ptr_equal(em_rdd_partition_by(sums, 4, EM_FN_NONE), sums);
    assert_ptr_equal(em_rdd_partition_by(mv, 4, EM_FN_NONE), mv);
    assert_ptr_not_equal(em_rdd_partition_by(pa, 5, EM_FN_NONE), pa);
    /* ... and so runs no map task */
    assert_int_equal(count_of(pa), 300);
    m0 = map_tasks(ctx);
    assert_int_equal(count_of(em_rdd_partition_by(mv, 4, EM_FN_NONE)), 300);
    assert_int_equal(map_tasks(ctx) - m0, 0);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* ---- a fully cached node is not descended into ---- */

/* Removes every map output file of the context's shuffle directory;
 * returns how many. */
static int remove_map_outputs(const em_ctx *ctx)
{
    char path[4200];
    struct dirent *e;
    DIR *d;
    int n = 0;

    assert_non_null(ctx->shuffle_dir);
    d = opendir(ctx->shuffle_dir);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "map-", 4) != 0)
            continue;
        snprintf(path, sizeof(path), "%s/%s", ctx->shuffle_dir, e->d_name);
        assert_int_equal(unlink(path), 0);
        n++;
    }
    closedir(d);
    return n;
}

static void test_shuffle_reuse_cached_not_descended(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_rdd *x = pairs_rdd(ctx, a, 7, 900, 30, 4);
    em_rdd *sums = em_rdd_reduce_by_key(x, EM_FN(em_op_add), 3);
    int64_t m0;

    EM_CHECK(em_rdd_cache(sums));
    assert_int_equal(count_of(sums), 30);
    assert_int_equal(em_rdd_cached_partitions(sums), 3);
    /* the map outputs are gone, but nothing needs them */
    assert_int_equal(remove_map_outputs(ctx), 4);
    m0 = map_tasks(ctx);
    assert_int_equal(count_of(em_rdd_map_values(sums, EM_FN(fn_double))),
                     30);
    assert_int_equal(count_of(sums), 30);
    assert_int_equal(map_tasks(ctx) - m0, 0);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_shuffle_reuse_second_action),
        EM_TEST(test_shuffle_reuse_every_kind),
        EM_TEST(test_shuffle_reuse_copartitioned_join),
        EM_TEST(test_shuffle_reuse_partitioner_kept),
        EM_TEST(test_shuffle_reuse_cached_not_descended),
    };

    return cmocka_run_group_tests_name("shuffle_reuse", tests, NULL, NULL);
}
