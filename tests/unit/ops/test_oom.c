/* Out-of-memory tests of jobs: with the allocation wrapper failing after
 * 0, 1, 2, ... allocations, every action returns EM_ENOMEM or succeeds with
 * the right answer, leaves nothing allocated behind, and leaves the context
 * usable. Contexts are made before the failure hook is set (their thread
 * pools start at creation) except in the sweeps of a whole job's life.
 */
#include <stdio.h>
#include <string.h>

#include "em_test.h"

/* ---- helpers ---- */

/* x -> "w<x mod 17>" */
static em_status fn_word(em_task *t, const em_val *env, const em_val *args,
                         size_t nargs, em_val *out)
{
    char buf[16];
    int n = snprintf(buf, sizeof(buf), "w%lld", (long long)(args[0].u.i % 17));

    return em_str_copy(em_task_arena(t), buf, (size_t)n, out);
}

static em_status fn_square(em_task *t, const em_val *env, const em_val *args,
                           size_t nargs, em_val *out)
{
    *out = em_int(args[0].u.i * args[0].u.i);
    return EM_OK;
}

/* x -> (x mod 5, [x]) */
static em_status fn_pair(em_task *t, const em_val *env, const em_val *args,
                         size_t nargs, em_val *out)
{
    em_val one;
    em_val *items = em_array_make(em_task_arena(t), 1, &one);

    if (items == NULL)
        return EM_ENOMEM;
    items[0] = args[0];
    return em_pair_make(em_task_arena(t), em_int(args[0].u.i % 5), one, out);
}

static em_status fn_seq(em_task *t, const em_val *env, const em_val *args,
                        size_t nargs, em_val *out)
{
    return em_pair_make(em_task_arena(t),
                        em_int(args[0].u.arr[0].u.i + args[1].u.i),
                        em_int(args[0].u.arr[1].u.i + 1), out);
}

static em_status fn_comb(em_task *t, const em_val *env, const em_val *args,
                         size_t nargs, em_val *out)
{
    return em_pair_make(
        em_task_arena(t), em_int(args[0].u.arr[0].u.i + args[1].u.arr[0].u.i),
        em_int(args[0].u.arr[1].u.i + args[1].u.arr[1].u.i), out);
}

/* ---- jobs on a context made beforehand ---- */

enum {
    JOB_COLLECT_MAP,
    JOB_COUNT_BY_VALUE,
    JOB_REDUCE,
    JOB_TAKE,
    JOB_TAKE_ORDERED,
    JOB_AGGREGATE,
    JOB_HISTOGRAM,
    JOB_STATS,
    JOB_COLLECT_PAIRS,
    JOB_COUNT
};

typedef struct job {
    em_ctx *ctx;
    em_rdd *nums;    /* range(0, 2000) over 7 partitions */
    em_rdd *words;   /* map(nums, fn_word) */
    em_rdd *squares; /* map(nums, fn_square) */
    em_rdd *pairs;   /* map(nums, fn_pair) */
    int which;
    em_arena *want_arena;
    em_val want; /* the answer of a run without failures */
    bool has_want;
    int successes; /* runs that succeeded with the right answer */
} job;

static em_status run_one(job *j, em_arena *a, em_val *out)
{
    static const double bounds[] = {0, 100, 1000, 1999};
    em_val zero_items[2] = {em_int(0), em_int(0)};
    em_stats s;
    em_status st;

    switch (j->which) {
    case JOB_COLLECT_MAP:
        return em_rdd_collect(j->squares, a, out);
    case JOB_COUNT_BY_VALUE:
        return em_rdd_count_by_value(j->words, a, out);
    case JOB_REDUCE:
        return em_rdd_reduce(j->squares, EM_FN(em_op_add), a, out);
    case JOB_TAKE:
        return em_rdd_take(j->words, 700, a, out);
    case JOB_TAKE_ORDERED:
        return em_rdd_take_ordered(j->words, 20, EM_FN_NONE, a, out);
    case JOB_AGGREGATE:
        return em_rdd_aggregate(j->nums, em_array(zero_items, 2), EM_FN(fn_seq),
                                EM_FN(fn_comb), a, out);
    case JOB_HISTOGRAM:
        return em_rdd_histogram(j->nums, 3, bounds, a, out);
    case JOB_STATS:
        st = em_rdd_stats(j->squares, &s);
        if (st == EM_OK)
            *out = em_float(s.mean + s.variance + (double)s.count);
        return st;
    default:
        return em_rdd_collect(j->pairs, a, out);
    }
}

static em_status job_fn(void *arg)
{
    job *j = arg;
    em_arena *a = em_arena_create();
    em_val v;
    em_status st;

    if (a == NULL)
        return EM_ENOMEM;
    st = run_one(j, a, &v);
    if (st == EM_OK && j->has_want) {
        if (!em_test_identical(v, j->want))
            fail_msg("job %d succeeded under the hook with a wrong answer",
                     j->which);
        j->successes++;
    }
    em_arena_destroy(a);
    return st;
}

static void job_init(job *j, const char *master, int which)
{
    memset(j, 0, sizeof(*j));
    j->ctx = em_test_ctx(master);
    j->nums = em_ctx_range(j->ctx, 0, 2000, 1, 7);
    j->words = em_rdd_map(j->nums, EM_FN(fn_word));
    j->squares = em_rdd_map(j->nums, EM_FN(fn_square));
    j->pairs = em_rdd_map(j->nums, EM_FN(fn_pair));
    assert_non_null(j->words);
    assert_non_null(j->squares);
    assert_non_null(j->pairs);
    j->which = which;
    j->want_arena = em_arena_create();
    /* the answer, and a warm-up: task threads have started and their
     * scratch arenas have grown to what the job needs */
    EM_CHECK(run_one(j, j->want_arena, &j->want));
    j->has_want = true;
    assert_int_equal(job_fn(j), EM_OK);
    j->successes = 0;
}

static void job_fini(job *j)
{
    em_arena_destroy(j->want_arena);
    em_ctx_destroy(j->ctx);
}

/* The sweep on local[1]: each failing run returns EM_ENOMEM and leaves no
 * bytes behind; the context runs the job correctly afterwards. */
static void sweep_job(int which)
{
    job j;
    int failures;

    job_init(&j, "local[1]", which);
    failures = em_test_oom_sweep(job_fn, &j, 100000);
    assert_true(failures > 0);
    assert_int_equal(j.successes, 1);
    assert_int_equal(job_fn(&j), EM_OK);
    job_fini(&j);
}

static void test_oom_collect_map(void **state)
{
    sweep_job(JOB_COLLECT_MAP);
}

static void test_oom_count_by_value(void **state)
{
    sweep_job(JOB_COUNT_BY_VALUE);
}

static void test_oom_reduce(void **state)
{
    sweep_job(JOB_REDUCE);
}

static void test_oom_take(void **state)
{
    sweep_job(JOB_TAKE);
}

static void test_oom_take_ordered(void **state)
{
    sweep_job(JOB_TAKE_ORDERED);
}

static void test_oom_aggregate(void **state)
{
    sweep_job(JOB_AGGREGATE);
}

static void test_oom_histogram(void **state)
{
    sweep_job(JOB_HISTOGRAM);
}

static void test_oom_stats(void **state)
{
    sweep_job(JOB_STATS);
}

static void test_oom_collect_pairs(void **state)
{
    sweep_job(JOB_COLLECT_PAIRS);
}

/* On local[2] the threads race for the allocations, so only the status is
 * checked per run; everything is given back once the context is gone
 * (checked by the case's teardown). */
static void test_oom_threads(void **state)
{
    for (int which = 0; which < JOB_COUNT; which++) {
        job j;
        em_status st = EM_ENOMEM;
        int64_t n;

        job_init(&j, "local[2]", which);
        for (n = 0; n < 100000 && st != EM_OK; n += 1 + n / 8) {
            em_mem_fail_after(n);
            st = job_fn(&j);
            em_mem_fail_after(-1);
            if (st != EM_OK && st != EM_ENOMEM)
                fail_msg("job %d, fail after %lld: %s (%s)", which,
                         (long long)n, em_status_name(st), em_last_error());
        }
        assert_int_equal(st, EM_OK);
        assert_int_equal(job_fn(&j), EM_OK);
        job_fini(&j);
    }
}

/* ---- a whole job's life under the hook ---- */

typedef struct life {
    const char *master;
    bool is_cached; /* cache the mapped RDD and run two actions */
    int successes;
} life;

/* Creates a context, runs countByValue and collect (twice when cached) and
 * destroys everything. */
static em_status life_fn(void *arg)
{
    life *l = arg;
    em_conf conf;
    em_ctx *ctx;
    em_arena *a;
    em_rdd *r;
    em_val v, w;
    em_status st = EM_ENOMEM;

    memset(&conf, 0, sizeof(conf));
    conf.master = l->master;
    conf.progress = -1;
    ctx = em_ctx_create(&conf);
    if (ctx == NULL) {
        if (strstr(em_last_error(), "out of memory") == NULL)
            fail_msg("em_ctx_create: %s", em_last_error());
        return EM_ENOMEM;
    }
    a = em_arena_create();
    r = em_rdd_map(em_ctx_range(ctx, 0, 300, 1, 5), EM_FN(fn_word));
    if (a == NULL || r == NULL)
        goto out;
    if (l->is_cached && (st = em_rdd_cache(r)) != EM_OK)
        goto out;
    st = em_rdd_count_by_value(r, a, &v);
    if (st == EM_OK)
        st = em_rdd_collect(r, a, &w);
    if (st == EM_OK && l->is_cached)
        st = em_rdd_collect(r, a, &w);
    if (st == EM_OK) {
        assert_int_equal(v.len, 17);
        assert_int_equal(w.len, 300);
        l->successes++;
    }
out:
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
    return st;
}

static void test_oom_whole_life(void **state)
{
    life l = {"local[1]", false, 0};

    assert_true(em_test_oom_sweep(life_fn, &l, 100000) > 0);
    assert_int_equal(l.successes, 1);
}

static void test_oom_whole_life_cached(void **state)
{
    life l = {"local[2]", true, 0};

    assert_true(em_test_oom_sweep(life_fn, &l, 100000) > 0);
    assert_int_equal(l.successes, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_oom_collect_map),   EM_TEST(test_oom_count_by_value),
        EM_TEST(test_oom_reduce),        EM_TEST(test_oom_take),
        EM_TEST(test_oom_take_ordered),  EM_TEST(test_oom_aggregate),
        EM_TEST(test_oom_histogram),     EM_TEST(test_oom_stats),
        EM_TEST(test_oom_collect_pairs), EM_TEST(test_oom_threads),
        EM_TEST(test_oom_whole_life),    EM_TEST(test_oom_whole_life_cached),
    };

    return cmocka_run_group_tests_name("oom", tests, NULL, NULL);
}
