/* Tests of contexts and the local executor (scheduler/context.c, local.c):
 * master URLs, sizes, $EMBER_MASTER, default parallelism; jobs over many
 * partitions, failure messages, retries per the attempt limit, the first
 * cause of a failed job, a context usable after a failure, lineage strings
 * and increasing ids.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "em_test.h"
#include "runtime/rdd.h"
#include "scheduler/job.h"

/* ---- helpers ---- */

static em_ctx *ctx_conf(const char *master, int default_parallelism)
{
    em_conf conf;
    em_ctx *ctx;

    memset(&conf, 0, sizeof(conf));
    conf.master = master;
    conf.default_parallelism = default_parallelism;
    conf.progress = -1;
    ctx = em_ctx_create(&conf);
    if (ctx == NULL)
        fail_msg("em_ctx_create(%s): %s", master, em_last_error());
    return ctx;
}

static int online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    return n > 0 ? (int)n : 1;
}

/* Restores $EMBER_MASTER after a test changed it. */
typedef struct env_save {
    char value[256];
    bool was_set;
} env_save;

static void env_push(env_save *s, const char *value)
{
    const char *old = getenv("EMBER_MASTER");

    s->was_set = old != NULL;
    snprintf(s->value, sizeof(s->value), "%s", old ? old : "");
    if (value != NULL)
        setenv("EMBER_MASTER", value, 1);
    else
        unsetenv("EMBER_MASTER");
}

static void env_pop(const env_save *s)
{
    if (s->was_set)
        setenv("EMBER_MASTER", s->value, 1);
    else
        unsetenv("EMBER_MASTER");
}

/* ---- master URLs, sizes ---- */

static void test_local_master_urls(void **state)
{
    static const struct {
        const char *master;
        int threads;  /* 0: the number of CPUs */
    } good[] = {
        {"local", 1}, {"local[1]", 1}, {"local[3]", 3}, {"local[*]", 0},
        {"local[2,4]", 2}, {"local[*,3]", 0}, {"local[16]", 16},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        em_ctx *ctx = ctx_conf(good[i].master, 0);
        int want = good[i].threads ? good[i].threads : online_cpus();
        if (em_ctx_threads(ctx) != want) {
            int got = em_ctx_threads(ctx);
            em_ctx_destroy(ctx);
            fail_msg("%s: %d threads, want %d", good[i].master, got, want);
        }
        em_ctx_destroy(ctx);
    }
}

static void test_local_bad_master_urls(void **state)
{
    static const char *const bad[] = {
        "local[0]", "locl", "local[2", "local[]", "local[2,0]", "local[-1]",
        "local[2]x", "local[2,]", "local[x]", "Local[2]", " local[2]",
        "local[*", "spark://host:7077",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        em_conf conf;
        em_ctx *ctx;

        memset(&conf, 0, sizeof(conf));
        conf.master = bad[i];
        conf.progress = -1;
        ctx = em_ctx_create(&conf);
        if (ctx != NULL) {
            em_ctx_destroy(ctx);
            fail_msg("master '%s' was accepted", bad[i]);
        }
        if (strstr(em_last_error(), bad[i]) == NULL)
            fail_msg("master '%s': message \"%s\" does not name it", bad[i],
                     em_last_error());
    }
}

static void test_local_parse_size(void **state)
{
    static const struct {
        const char *s;
        int64_t want;
    } good[] = {
        {"512", 512},
        {"0", 0},
        {"4k", 4096},
        {"4K", 4096},
        {"2m", 2 * 1048576},
        {"1g", 1073741824},
        {"1.5g", 1610612736},
        {"1t", (int64_t)1 << 40},
        {"512m", 512 * 1048576},
        {"1048576", 1048576},
    };
    static const char *const bad[] = {
        "x", "12q", "", "-1", "k", "12kk", "1 g", "99999999999t", " 5",
        "1e3", "0x10",
    };
    int64_t out;

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        out = -7;
        if (em_parse_size(good[i].s, &out) != EM_OK || out != good[i].want)
            fail_msg("em_parse_size(\"%s\") = %lld, want %lld (%s)",
                     good[i].s, (long long)out, (long long)good[i].want,
                     em_last_error());
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        out = -7;
        if (em_parse_size(bad[i], &out) != EM_EINVAL)
            fail_msg("em_parse_size(\"%s\") accepted: %lld", bad[i],
                     (long long)out);
        /* out-params are written only on success */
        assert_int_equal(out, -7);
    }
    assert_int_equal(em_parse_size(NULL, &out), EM_EINVAL);
}

static void test_local_master_from_env(void **state)
{
    env_save saved;
    em_conf conf;
    em_ctx *ctx;

    (void)state;
    env_push(&saved, "local[3]");
    memset(&conf, 0, sizeof(conf));
    conf.progress = -1;
    ctx = em_ctx_create(&conf);
    assert_non_null(ctx);
    assert_int_equal(em_ctx_threads(ctx), 3);
    em_ctx_destroy(ctx);
    /* with no configuration at all */
    ctx = em_ctx_create(NULL);
    assert_non_null(ctx);
    assert_int_equal(em_ctx_threads(ctx), 3);
    em_ctx_destroy(ctx);
    /* an explicit master wins */
    conf.master = "local[2]";
    ctx = em_ctx_create(&conf);
    assert_non_null(ctx);
    assert_int_equal(em_ctx_threads(ctx), 2);
    em_ctx_destroy(ctx);
    /* a bad one from the environment is an error too */
    setenv("EMBER_MASTER", "local[zz]", 1);
    conf.master = NULL;
    ctx = em_ctx_create(&conf);
    env_pop(&saved);
    if (ctx != NULL) {
        em_ctx_destroy(ctx);
        fail_msg("EMBER_MASTER=local[zz] was accepted");
    }
    assert_non_null(strstr(em_last_error(), "local[zz]"));
    /* unset: local[*] */
    env_push(&saved, NULL);
    ctx = em_ctx_create(&conf);
    env_pop(&saved);
    assert_non_null(ctx);
    assert_int_equal(em_ctx_threads(ctx), online_cpus());
    em_ctx_destroy(ctx);
}

static void test_local_default_parallelism(void **state)
{
    em_ctx *ctx;
    em_rdd *r;

    (void)state;
    ctx = ctx_conf("local[3]", 0);
    assert_int_equal(em_ctx_default_parallelism(ctx), 3);
    r = em_ctx_range(ctx, 0, 100, 1, 0);
    assert_non_null(r);
    assert_int_equal(em_rdd_num_partitions(r), 3);
    r = em_ctx_parallelize(ctx, NULL, 0, -1);
    assert_non_null(r);
    assert_int_equal(em_rdd_num_partitions(r), 3);
    em_ctx_destroy(ctx);
    ctx = ctx_conf("local[2]", 7);
    assert_int_equal(em_ctx_default_parallelism(ctx), 7);
    assert_int_equal(em_ctx_threads(ctx), 2);
    r = em_ctx_range(ctx, 0, 100, 1, 0);
    assert_non_null(r);
    assert_int_equal(em_rdd_num_partitions(r), 7);
    em_ctx_destroy(ctx);
    ctx = ctx_conf("local", 0);
    assert_int_equal(em_ctx_default_parallelism(ctx), 1);
    em_ctx_destroy(ctx);
    ctx = ctx_conf("local[*]", 0);
    assert_int_equal(em_ctx_default_parallelism(ctx), online_cpus());
    em_ctx_destroy(ctx);
}

/* ---- jobs ---- */

static void test_local_many_partitions(void **state)
{
    em_ctx *ctx = ctx_conf("local[4]", 0);
    em_arena *a = em_arena_create();
    em_val vals[1000], out;
    em_rdd *r;
    int64_t n = 0;

    (void)state;
    assert_non_null(a);
    r = em_ctx_range(ctx, 0, 100000, 1, 1000);
    assert_non_null(r);
    assert_int_equal(em_rdd_num_partitions(r), 1000);
    EM_CHECK(em_rdd_count(r, &n));
    assert_int_equal(n, 100000);
    EM_CHECK(em_rdd_collect(r, a, &out));
    assert_int_equal(out.len, 100000);
    for (uint32_t i = 0; i < out.len; i++)
        assert_int_equal(out.u.arr[i].u.i, i);
    /* one value per partition, and more partitions than values */
    for (int i = 0; i < 1000; i++)
        vals[i] = em_int(i * 3);
    r = em_ctx_parallelize(ctx, vals, 1000, 1000);
    assert_non_null(r);
    EM_CHECK(em_rdd_count(r, &n));
    assert_int_equal(n, 1000);
    r = em_ctx_parallelize(ctx, vals, 10, 1000);
    assert_non_null(r);
    EM_CHECK(em_rdd_count(r, &n));
    assert_int_equal(n, 10);
    /* and none at all */
    r = em_ctx_empty(ctx);
    assert_non_null(r);
    EM_CHECK(em_rdd_count(r, &n));
    assert_int_equal(n, 0);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* (partition, rec) */
static em_status tag_partition(em_task *t, const em_val *env,
                               const em_val *args, size_t nargs, em_val *out)
{
    em_val *items = em_array_make(em_task_arena(t), 2, out);

    (void)env;
    (void)nargs;
    if (items == NULL)
        return EM_ENOMEM;
    items[0] = em_int(em_task_partition(t));
    items[1] = args[0];
    return EM_OK;
}

/* Each task sees its own partition index, the slices are as documented. */
static void test_local_task_partition(void **state)
{
    em_ctx *ctx = ctx_conf("local[3]", 0);
    em_arena *a = em_arena_create();
    em_val out;
    em_rdd *r;

    (void)state;
    assert_non_null(a);
    r = em_rdd_map(em_ctx_range(ctx, 0, 1000, 1, 7), EM_FN(tag_partition));
    assert_non_null(r);
    EM_CHECK(em_rdd_collect(r, a, &out));
    assert_int_equal(out.len, 1000);
    for (int64_t i = 0; i < 1000; i++) {
        int64_t part = out.u.arr[i].u.arr[0].u.i;
        assert_int_equal(out.u.arr[i].u.arr[1].u.i, i);
        /* slice p holds [floor(p*n/s), floor((p+1)*n/s)) */
        assert_true(part * 1000 / 7 <= i && i < (part + 1) * 1000 / 7);
    }
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* Calls on the first record of the failing partition, all attempts. */
static atomic_int first_rec_calls;

/* env: [partition to fail, attempts that fail, first record of it].
 * Fails that partition's attempts below the limit; every other record
 * passes through. */
static em_status fail_some(em_task *t, const em_val *env, const em_val *args,
                           size_t nargs, em_val *out)
{
    const em_val *e = env->u.arr;

    (void)nargs;
    if (args[0].u.i == e[2].u.i)
        atomic_fetch_add(&first_rec_calls, 1);
    if (em_task_partition(t) == e[0].u.i && em_task_attempt(t) < e[1].u.i)
        return em_task_fail(t, "cause-p%d (attempt %d)", em_task_partition(t),
                            em_task_attempt(t));
    *out = args[0];
    return EM_OK;
}

/* Range 0..1000 in 10 partitions, mapped through fail_some. */
static em_rdd *failing_rdd(em_ctx *ctx, int part, int failing_attempts)
{
    em_val env[3] = {em_int(part), em_int(failing_attempts),
                     em_int(part * 100)};

    return em_rdd_map(em_ctx_range(ctx, 0, 1000, 1, 10),
                      em_fn_of(fail_some, em_array(env, 3)));
}

static void test_local_failure_propagates(void **state)
{
    em_ctx *ctx = ctx_conf("local[2]", 0);
    em_rdd *r = failing_rdd(ctx, 3, 1);
    int64_t n = -1;

    (void)state;
    assert_non_null(r);
    assert_int_equal(em_rdd_count(r, &n), EM_EUSER);
    assert_int_equal(n, -1);
    if (strstr(em_last_error(), "cause-p3 (attempt 0)") == NULL)
        fail_msg("message \"%s\" lacks the task's", em_last_error());
    em_ctx_destroy(ctx);
}

static void test_local_retry_succeeds(void **state)
{
    em_ctx *ctx = ctx_conf("local[2,3]", 0);
    em_rdd *r = failing_rdd(ctx, 3, 2);
    int64_t n = -1;

    (void)state;
    assert_non_null(r);
    atomic_store(&first_rec_calls, 0);
    EM_CHECK(em_rdd_count(r, &n));
    assert_int_equal(n, 1000);
    /* attempts 0 and 1 failed, 2 ran: three calls on its first record */
    assert_int_equal(atomic_load(&first_rec_calls), 3);
    em_ctx_destroy(ctx);
    /* four attempts allowed, three failing */
    ctx = ctx_conf("local[2,4]", 0);
    r = failing_rdd(ctx, 9, 3);
    assert_non_null(r);
    EM_CHECK(em_rdd_count(r, &n));
    assert_int_equal(n, 1000);
    em_ctx_destroy(ctx);
}

static void test_local_retries_exhausted(void **state)
{
    em_ctx *ctx = ctx_conf("local[2,2]", 0);
    em_rdd *r = failing_rdd(ctx, 3, 2);
    int64_t n = -1;

    (void)state;
    assert_non_null(r);
    atomic_store(&first_rec_calls, 0);
    assert_int_equal(em_rdd_count(r, &n), EM_EUSER);
    assert_int_equal(n, -1);
    assert_int_equal(atomic_load(&first_rec_calls), 2);
    if (strstr(em_last_error(), "cause-p3") == NULL)
        fail_msg("message \"%s\" lacks the cause", em_last_error());
    em_ctx_destroy(ctx);
}

/* env: attempts that fail. Every partition fails with its own cause. */
static em_status fail_all(em_task *t, const em_val *env, const em_val *args,
                          size_t nargs, em_val *out)
{
    (void)nargs;
    if (em_task_attempt(t) < env->u.i)
        return em_task_fail(t, "cause-p%d", em_task_partition(t));
    *out = args[0];
    return EM_OK;
}

/* On one thread tasks run in order, so the first task to exhaust its
 * attempts is partition 0's: its cause is the job's. */
static void test_local_first_cause(void **state)
{
    static const char *const masters[] = {"local[1]", "local[1,2]",
                                          "local[1,3]"};

    (void)state;
    for (int m = 0; m < 3; m++) {
        em_ctx *ctx = ctx_conf(masters[m], 0);
        em_rdd *r = em_rdd_map(em_ctx_range(ctx, 0, 50, 1, 5),
                               em_fn_of(fail_all, em_int(100)));
        int64_t n;

        assert_non_null(r);
        assert_int_equal(em_rdd_count(r, &n), EM_EUSER);
        if (strstr(em_last_error(), "cause-p0") == NULL ||
            strstr(em_last_error(), "cause-p1") != NULL)
            fail_msg("%s: message \"%s\", want partition 0's cause",
                     masters[m], em_last_error());
        em_ctx_destroy(ctx);
    }
}

static void test_local_usable_after_failure(void **state)
{
    em_ctx *ctx = ctx_conf("local[3]", 0);
    em_arena *a = em_arena_create();
    em_rdd *bad = failing_rdd(ctx, 5, 1), *good;
    int64_t n;
    em_val out;

    (void)state;
    assert_non_null(a);
    assert_non_null(bad);
    for (int round = 0; round < 3; round++) {
        assert_int_equal(em_rdd_count(bad, &n), EM_EUSER);
        good = em_rdd_map(em_ctx_range(ctx, 0, 300, 1, 6),
                          EM_FN(tag_partition));
        assert_non_null(good);
        EM_CHECK(em_rdd_count(good, &n));
        assert_int_equal(n, 300);
        EM_CHECK(em_rdd_collect(good, a, &out));
        assert_int_equal(out.len, 300);
        for (int64_t i = 0; i < 300; i++)
            assert_int_equal(out.u.arr[i].u.arr[1].u.i, i);
    }
    /* the failing partition alone fails; the others can be taken */
    EM_CHECK(em_rdd_take(bad, 20, a, &out));
    assert_int_equal(out.len, 20);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* ---- the job interface ---- */

typedef struct seen {
    atomic_int max_job, min_job;
} seen;

/* Result: partition * 10, in the result arena; records the job id. */
static em_status part_times_ten(em_task *t, em_rdd *rdd, int part, em_val arg,
                                em_arena *res, em_val *out)
{
    /* in-process only: the address of the record, as bytes */
    seen *s = arg.type == EM_BYTES ? *(seen *const *)arg.u.bytes : NULL;
    em_val v;
    em_status st;

    (void)rdd;
    if (s != NULL) {
        int cur = atomic_load(&s->max_job);
        while (t->job_id > cur &&
               !atomic_compare_exchange_weak(&s->max_job, &cur, t->job_id))
            ;
        cur = atomic_load(&s->min_job);
        while (t->job_id < cur &&
               !atomic_compare_exchange_weak(&s->min_job, &cur, t->job_id))
            ;
    }
    st = em_str_copy(res, "result", 6, &v);
    if (st != EM_OK)
        return st;
    *out = em_int(part * 10);
    return EM_OK;
}

static void test_local_job_results_in_request_order(void **state)
{
    em_ctx *ctx = ctx_conf("local[3]", 0);
    em_rdd *r = em_ctx_range(ctx, 0, 80, 1, 8);
    int parts[] = {5, 2, 7, 0};
    em__job_result res;

    (void)state;
    assert_non_null(r);
    EM_CHECK(em__job_run(ctx, r, parts, 4, part_times_ten, em_nil(), &res));
    assert_int_equal(res.n, 4);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(res.vals[i].u.i, parts[i] * 10);
        assert_non_null(res.arenas[i]);
    }
    em__job_result_fini(&res);
    EM_CHECK(em__job_run(ctx, r, NULL, 0, part_times_ten, em_nil(), &res));
    assert_int_equal(res.n, 8);
    for (int i = 0; i < 8; i++)
        assert_int_equal(res.vals[i].u.i, i * 10);
    em__job_result_fini(&res);
    EM_CHECK(em__job_run(ctx, r, parts, 0, part_times_ten, em_nil(), &res));
    assert_int_equal(res.n, 0);
    em__job_result_fini(&res);
    em_ctx_destroy(ctx);
}

static em_status fail_task(em_task *t, em_rdd *rdd, int part, em_val arg,
                           em_arena *res, em_val *out)
{
    (void)rdd;
    (void)arg;
    (void)res;
    (void)out;
    if (part == 1)
        return em_task_fail(t, "task body failed on %d", part);
    return EM_OK;
}

static void test_local_ids_increase(void **state)
{
    em_ctx *ctx = ctx_conf("local[2]", 0);
    em_rdd *r[5];
    em__job_result res;
    seen s1, s2, *p1 = &s1, *p2 = &s2;

    (void)state;
    r[0] = em_ctx_range(ctx, 0, 10, 1, 2);
    r[1] = em_rdd_map(r[0], EM_FN(tag_partition));
    r[2] = em_ctx_parallelize(ctx, NULL, 0, 1);
    r[3] = em_rdd_glom(r[1]);
    r[4] = em_ctx_empty(ctx);
    for (int i = 0; i < 5; i++)
        assert_non_null(r[i]);
    for (int i = 0; i + 1 < 5; i++)
        assert_true(em_rdd_id(r[i]) < em_rdd_id(r[i + 1]));
    assert_ptr_equal(em_rdd_ctx(r[3]), ctx);
    /* job ids: one per job, failed jobs included */
    atomic_init(&s1.max_job, -1);
    atomic_init(&s1.min_job, 1 << 30);
    atomic_init(&s2.max_job, -1);
    atomic_init(&s2.min_job, 1 << 30);
    EM_CHECK(em__job_run(ctx, r[0], NULL, 0, part_times_ten, em_bytes(&p1, sizeof(p1)), &res));
    em__job_result_fini(&res);
    assert_int_equal(em__job_run(ctx, r[0], NULL, 0, fail_task, em_nil(), &res),
                     EM_EUSER);
    assert_non_null(strstr(em_last_error(), "task body failed on 1"));
    assert_int_equal(res.n, 0);
    assert_null(res.vals);
    EM_CHECK(em__job_run(ctx, r[0], NULL, 0, part_times_ten, em_bytes(&p2, sizeof(p2)), &res));
    em__job_result_fini(&res);
    /* every task of a job shares its id */
    assert_int_equal(atomic_load(&s1.min_job), atomic_load(&s1.max_job));
    assert_int_equal(atomic_load(&s2.min_job), atomic_load(&s2.max_job));
    assert_true(atomic_load(&s2.min_job) >= atomic_load(&s1.max_job) + 2);
    /* a node made after jobs still gets a larger id */
    assert_true(em_rdd_id(em_ctx_empty(ctx)) > em_rdd_id(r[4]));
    em_ctx_destroy(ctx);
}

/* ---- lineage ---- */

static em_status is_even(em_task *t, const em_val *env, const em_val *args,
                         size_t nargs, em_val *out)
{
    (void)t;
    (void)env;
    (void)nargs;
    *out = em_bool(args[0].u.arr[1].u.i % 2 == 0);
    return EM_OK;
}

static void test_local_debug_string(void **state)
{
    em_ctx *ctx = ctx_conf("local[2]", 0);
    em_arena *a = em_arena_create();
    em_val vals[8];
    em_rdd *src, *mapped, *filtered;
    const char *s = NULL, *lines[3], *p;
    int n = 0;

    (void)state;
    assert_non_null(a);
    for (int i = 0; i < 8; i++)
        vals[i] = em_int(i);
    src = em_ctx_parallelize(ctx, vals, 8, 4);
    mapped = em_rdd_map(src, EM_FN(tag_partition));
    filtered = em_rdd_filter(mapped, EM_FN(is_even));
    assert_non_null(filtered);
    EM_CHECK(em_rdd_set_name(mapped, "tagged"));
    assert_string_equal(em_rdd_name(mapped), "tagged");
    EM_CHECK(em_rdd_cache(mapped));
    EM_CHECK(em_rdd_debug_string(filtered, a, &s));
    assert_non_null(s);
    /* one line per node, the node asked about first, parents below */
    for (p = s; *p != '\0' && n < 3; n++) {
        lines[n] = p;
        p = strchr(p, '\n');
        if (p == NULL)
            break;
        p++;
    }
    if (n != 3 || (p != NULL && *p != '\0'))
        fail_msg("want three lines:\n%s", s);
    if (strstr(lines[0], "filter") == NULL ||
        strstr(lines[0], "filter") > lines[1])
        fail_msg("first line is not the filter:\n%s", s);
    if (strstr(lines[1], "tagged") == NULL ||
        strstr(lines[1], "tagged") > lines[2] ||
        strstr(lines[1], "MEMORY_ONLY") == NULL ||
        strstr(lines[1], "MEMORY_ONLY") > lines[2])
        fail_msg("second line is not the cached map:\n%s", s);
    if (strstr(lines[2], "parallelize") == NULL)
        fail_msg("third line is not the source:\n%s", s);
    /* each line shows the partition count, parents indented deeper */
    for (int i = 0; i < 3; i++) {
        const char *c = strstr(lines[i], "(4)");
        assert_true(c != NULL && (i == 2 || c < lines[i + 1]));
    }
    assert_true(strspn(lines[1], " |") > strspn(lines[0], " |"));
    assert_true(strspn(lines[2], " |") > strspn(lines[1], " |"));
    /* the map's kind is named when no name was set */
    EM_CHECK(em_rdd_debug_string(em_rdd_map(src, EM_FN(tag_partition)), a,
                                 &s));
    assert_non_null(strstr(s, "map"));
    assert_non_null(strstr(s, "parallelize"));
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_local_master_urls),
        EM_TEST(test_local_bad_master_urls),
        EM_TEST(test_local_parse_size),
        EM_TEST(test_local_master_from_env),
        EM_TEST(test_local_default_parallelism),
        EM_TEST(test_local_many_partitions),
        EM_TEST(test_local_task_partition),
        EM_TEST(test_local_failure_propagates),
        EM_TEST(test_local_retry_succeeds),
        EM_TEST(test_local_retries_exhausted),
        EM_TEST(test_local_first_cause),
        EM_TEST(test_local_usable_after_failure),
        EM_TEST(test_local_job_results_in_request_order),
        EM_TEST(test_local_ids_increase),
        EM_TEST(test_local_debug_string),
    };

    return cmocka_run_group_tests_name("local", tests, NULL, NULL);
}
