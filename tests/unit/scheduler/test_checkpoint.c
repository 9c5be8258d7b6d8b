/* Checkpoints: saved by the next job, lineage cut, read back by later
 * jobs with the same answer; local checkpoints; errors. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "em_test.h"
#include "scheduler/ctx.h"

static atomic_long calls;

/* x -> x * 3, counting calls */
static em_status triple(em_task *t, const em_val *env, const em_val *args,
                        size_t nargs, em_val *out)
{
    atomic_fetch_add(&calls, 1);
    *out = em_int(args[0].u.i * 3);
    return EM_OK;
}

/* x -> (x % 7, x) */
static em_status mod7(em_task *t, const em_val *env, const em_val *args,
                      size_t nargs, em_val *out)
{
    return em_pair_make(em_task_arena(t), em_int(args[0].u.i % 7), args[0],
                        out);
}

static int64_t sum_of(em_rdd *r)
{
    em_val v;

    EM_CHECK(em_rdd_sum(r, &v));
    return v.u.i;
}

static void test_checkpoint_files(void **state)
{
    char dir[256];
    em_ctx *ctx = em_test_ctx("local[2]");
    em_rdd *r = em_rdd_map(em_ctx_range(ctx, 0, 1000, 1, 4), EM_FN(triple));
    em_arena *a = em_arena_create();
    const char *dbg;
    int64_t want = 3 * 999 * 1000 / 2;
    char path[4300];
    struct stat sb;

    (void)state;
    em_test_tmpdir(dir, sizeof(dir));
    assert_int_equal(em_rdd_checkpoint(r), EM_ESTATE); /* no directory */
    EM_CHECK(em_ctx_set_checkpoint_dir(ctx, dir));
    EM_CHECK(em_rdd_checkpoint(r));
    assert_false(em_rdd_is_checkpointed(r));
    atomic_store(&calls, 0);
    assert_int_equal(sum_of(r), want);
    assert_true(em_rdd_is_checkpointed(r));
    /* computed for the job, then again to save it (not persisted) */
    assert_int_equal(atomic_load(&calls), 2000);
    EM_CHECK(em_rdd_debug_string(r, a, &dbg));
    assert_non_null(strstr(dbg, "checkpoint"));
    assert_null(strstr(dbg, "range"));
    /* later jobs read the files: no more calls */
    assert_int_equal(sum_of(r), want);
    assert_int_equal(sum_of(em_rdd_filter(r, EM_FN(triple))), want);
    assert_int_equal(atomic_load(&calls), 2000 + 1000);
    /* a lost file is an error naming it, not a wrong answer */
    snprintf(path, sizeof(path), "%s/rdd-%d/part-00001",
             ((struct em_ctx *)ctx)->checkpoint_dir, em_rdd_id(r));
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(unlink(path), 0);
    {
        em_val v;
        assert_int_equal(em_rdd_sum(r, &v), EM_EIO);
        assert_non_null(strstr(em_last_error(), "part-00001"));
    }
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
    em_test_rmtree(dir);
}

static void test_checkpoint_persisted_shuffled(void **state)
{
    char dir[256];
    em_ctx *ctx = em_test_ctx("local[3]");
    em_rdd *pairs = em_rdd_map(em_rdd_map(em_ctx_range(ctx, 0, 5000, 1, 5),
                                          EM_FN(triple)),
                               EM_FN(mod7));
    em_rdd *sums = em_rdd_reduce_by_key(pairs, EM_FN(em_op_add), 3);
    em_arena *a = em_arena_create();
    em_val before, after;

    (void)state;
    em_test_tmpdir(dir, sizeof(dir));
    EM_CHECK(em_ctx_set_checkpoint_dir(ctx, dir));
    EM_CHECK(em_rdd_cache(sums));
    EM_CHECK(em_rdd_checkpoint(sums));
    EM_CHECK(em_rdd_collect(sums, a, &before));
    assert_true(em_rdd_is_checkpointed(sums));
    atomic_store(&calls, 0);
    EM_CHECK(em_rdd_collect(sums, a, &after));
    assert_int_equal(atomic_load(&calls), 0);
    assert_int_equal(before.len, 7);
    assert_true(em_val_eq(before, after));
    /* the map outputs of the cut lineage are no longer needed, and the
     * checkpointed RDD joins like any other */
    assert_int_equal(em_rdd_num_partitions(sums), 3);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
    em_test_rmtree(dir);
}

static void test_checkpoint_local(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_rdd *r = em_rdd_map(em_ctx_range(ctx, 0, 300, 1, 3), EM_FN(triple));
    int64_t want = 3 * 299 * 300 / 2;

    (void)state;
    EM_CHECK(em_rdd_local_checkpoint(r));
    atomic_store(&calls, 0);
    assert_int_equal(sum_of(r), want);
    assert_true(em_rdd_is_checkpointed(r));
    assert_int_equal(em_rdd_cached_partitions(r), 3);
    assert_int_equal(sum_of(r), want);
    assert_int_equal(atomic_load(&calls), 300); /* cached when first run */
    /* a lost block of a local checkpoint cannot be rebuilt */
    em__blocks_drop_rdd(((struct em_ctx *)ctx)->blocks, em_rdd_id(r));
    {
        em_val v;
        assert_int_equal(em_rdd_sum(r, &v), EM_EIO);
        assert_non_null(strstr(em_last_error(), "lost"));
    }
    em_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_checkpoint_files),
        EM_TEST(test_checkpoint_persisted_shuffled),
        EM_TEST(test_checkpoint_local),
    };

    return cmocka_run_group_tests_name("checkpoint", tests, NULL, NULL);
}
