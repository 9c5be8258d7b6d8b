/* What the job's stage list shows (em_ctx_get_stats), and a spilled run
 * deleted in the middle of a map task: a clear error naming the file, or
 * with retries the right answer. */
#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "em_test.h"
#include "scheduler/ctx.h"

static em_status to_pair(em_task *t, const em_val *env, const em_val *args,
                         size_t nargs, em_val *out)
{
    char buf[64];
    int n = snprintf(buf, sizeof(buf), "key-%06lld-padding-padding",
                     (long long)(args[0].u.i % 5000));
    em_val k;
    em_status st = em_str_copy(em_task_arena(t), buf, (size_t)n, &k);

    return st != EM_OK ? st : em_pair_make(em_task_arena(t), k, em_int(1),
                                           out);
}

/* Sleeps 30 ms once per partition (on its record 0 of each slice). */
static em_status nap_on_first(em_task *t, const em_val *env,
                              const em_val *args, size_t nargs, em_val *out)
{
    if (args[0].u.i % 10 == 0)
        usleep(30000);
    *out = args[0];
    return EM_OK;
}

/* task_us adds up the time of task attempts: four tasks that each sleep
 * 30 ms add at least 120 ms, and no more than the job's wall time times
 * its two threads (plus slack). */
static void test_stages_task_time(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_ctx_stats a, b;
    int64_t n;
    struct timespec t0, t1;
    int64_t wall_us;

    (void)state;
    em_ctx_get_stats(ctx, &a);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    EM_CHECK(em_rdd_count(em_rdd_map(em_ctx_range(ctx, 0, 40, 1, 4),
                                     EM_FN(nap_on_first)),
                          &n));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    em_ctx_get_stats(ctx, &b);
    wall_us = (t1.tv_sec - t0.tv_sec) * 1000000 +
              (t1.tv_nsec - t0.tv_nsec) / 1000;
    assert_int_equal(n, 40);
    assert_true(b.task_us - a.task_us >= 4 * 30000);
    assert_true(b.task_us - a.task_us <= 2 * wall_us + 10000);
    em_ctx_destroy(ctx);
}

static void test_stages_skipped(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_rdd *sums = em_rdd_reduce_by_key(
        em_rdd_map(em_ctx_range(ctx, 0, 20000, 1, 4), EM_FN(to_pair)),
        EM_FN(em_op_add), 3);
    em_ctx_stats a, b;
    int64_t n;

    (void)state;
    em_ctx_get_stats(ctx, &a);
    EM_CHECK(em_rdd_count(sums, &n));
    assert_int_equal(n, 5000);
    em_ctx_get_stats(ctx, &b);
    assert_int_equal(b.jobs - a.jobs, 1);
    assert_int_equal(b.stages_run - a.stages_run, 2); /* map, then result */
    assert_int_equal(b.map_tasks_run - a.map_tasks_run, 4);
    assert_int_equal(b.stages_skipped - a.stages_skipped, 0);
    a = b;
    EM_CHECK(em_rdd_count(sums, &n));
    em_ctx_get_stats(ctx, &b);
    assert_int_equal(b.stages_run - a.stages_run, 1); /* result stage only */
    assert_int_equal(b.map_tasks_run - a.map_tasks_run, 0);
    assert_int_equal(b.stages_skipped - a.stages_skipped, 1);
    em_ctx_destroy(ctx);
}

static const char *shuffle_dir;
static atomic_int deleted;

/* x -> x, but at record 25000 deletes the spilled runs of the map task
 * (once per context run). */
static em_status delete_runs_at(em_task *t, const em_val *env,
                                const em_val *args, size_t nargs,
                                em_val *out)
{
    *out = args[0];
    if (args[0].u.i == 25000 && atomic_exchange(&deleted, 1) == 0) {
        DIR *d = opendir(shuffle_dir);
        struct dirent *e;
        char path[4300];
        int n = 0;
        while (d != NULL && (e = readdir(d)) != NULL) {
            if (strncmp(e->d_name, "run-", 4) != 0)
                continue;
            snprintf(path, sizeof(path), "%s/%s", shuffle_dir, e->d_name);
            n += unlink(path) == 0;
        }
        if (d != NULL)
            closedir(d);
        if (n == 0)
            return em_task_fail(t, "no spilled run to delete");
    }
    return EM_OK;
}

static em_status run_job(const char *master, char *dir, int64_t *count)
{
    em_conf conf;
    em_ctx *ctx;
    em_rdd *r;
    em_status st;

    memset(&conf, 0, sizeof(conf));
    conf.master = master;
    conf.progress = -1;
    conf.local_dir = dir;
    conf.memory_bytes = 256 * 1024;
    ctx = em_ctx_create(&conf);
    assert_non_null(ctx);
    /* make the shuffle directory exist before the task runs */
    EM_CHECK(em_rdd_count(em_rdd_partition_by(em_rdd_map(
        em_ctx_range(ctx, 0, 10, 1, 1), EM_FN(to_pair)), 1, EM_FN_NONE),
        count));
    shuffle_dir = ctx->shuffle_dir;
    atomic_store(&deleted, 0);
    r = em_rdd_group_by_key(
        em_rdd_map(em_rdd_map(em_ctx_range(ctx, 0, 30000, 1, 1),
                              EM_FN(delete_runs_at)),
                   EM_FN(to_pair)),
        2);
    st = em_rdd_count(r, count);
    em_ctx_destroy(ctx);
    return st;
}

static void test_stages_deleted_spill_run(void **state)
{
    char dir[256];
    int64_t n = 0;

    (void)state;
    em_test_tmpdir(dir, sizeof(dir));
    /* one attempt: the job fails with the lost file's path */
    assert_int_equal(run_job("local[1]", dir, &n), EM_EIO);
    if (strstr(em_last_error(), "run-") == NULL)
        fail_msg("message does not name the run: %s", em_last_error());
    /* two attempts: the retry recomputes the partition, right answer */
    EM_CHECK(run_job("local[1,2]", dir, &n));
    assert_int_equal(n, 5000);
    em_test_rmtree(dir);
}

static atomic_long computed;

static em_status count_calls(em_task *t, const em_val *env,
                             const em_val *args, size_t nargs, em_val *out)
{
    atomic_fetch_add(&computed, 1);
    *out = em_int(args[0].u.i + 1);
    return EM_OK;
}

/* Two tasks of one job need the same cached partitions at once: each
 * partition is still computed once (the others wait and read it). */
static void test_stages_cached_partition_computed_once(void **state)
{
    (void)state;
    for (int round = 0; round < 10; round++) {
        em_ctx *ctx = em_test_ctx("local[3]");
        em_rdd *p = em_rdd_map(em_ctx_range(ctx, 0, 30000, 1, 5),
                               EM_FN(count_calls));
        em_rdd *both[2];
        int64_t n;

        EM_CHECK(em_rdd_cache(p));
        both[0] = em_rdd_glom(p);
        both[1] = em_rdd_zip_with_unique_id(p);
        atomic_store(&computed, 0);
        EM_CHECK(em_rdd_count(em_ctx_union(ctx, both, 2), &n));
        assert_int_equal(n, 5 + 30000);
        assert_int_equal(atomic_load(&computed), 30000);
        em_ctx_destroy(ctx);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_stages_skipped),
        EM_TEST(test_stages_task_time),
        EM_TEST(test_stages_deleted_spill_run),
        EM_TEST(test_stages_cached_partition_computed_once),
    };

    return cmocka_run_group_tests_name("stages", tests, NULL, NULL);
}
