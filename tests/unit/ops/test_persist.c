/* Tests of persistence (em_rdd_persist and the block store): cached
 * partitions are computed once, unpersist drops them, every storage level
 * gives identical answers for nested values, eviction under a small memory
 * budget recomputes from lineage, and a level cannot be changed.
 */
#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "em_test.h"

/* Calls of the counted functions, across all task threads. */
static atomic_long calls;

/* ---- helpers ---- */

static em_val collect(em_rdd *r, em_arena *a)
{
    em_val out;

    assert_non_null(r);
    EM_CHECK(em_rdd_collect(r, a, &out));
    return out;
}

static em_ctx *ctx_with(const char *master, int64_t memory_bytes,
                        const char *dir)
{
    em_conf conf;
    em_ctx *ctx;

    memset(&conf, 0, sizeof(conf));
    conf.master = master;
    conf.memory_bytes = memory_bytes;
    conf.local_dir = dir;
    conf.progress = -1;
    ctx = em_ctx_create(&conf);
    if (ctx == NULL)
        fail_msg("em_ctx_create: %s", em_last_error());
    return ctx;
}

/* Entries in a directory, not counting . and .. */
static int dir_entries(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static const em_storage all_levels[] = {
    EM_MEMORY_ONLY,         EM_MEMORY_ONLY_SER,   EM_MEMORY_AND_DISK,
    EM_MEMORY_AND_DISK_SER, EM_DISK_ONLY,         EM_MEMORY_ONLY_2,
    EM_MEMORY_ONLY_SER_2,   EM_MEMORY_AND_DISK_2, EM_MEMORY_AND_DISK_SER_2,
    EM_DISK_ONLY_2,
};

static bool level_has_disk(em_storage l)
{
    return l == EM_MEMORY_AND_DISK || l == EM_MEMORY_AND_DISK_SER ||
           l == EM_DISK_ONLY || l == EM_MEMORY_AND_DISK_2 ||
           l == EM_MEMORY_AND_DISK_SER_2 || l == EM_DISK_ONLY_2;
}

/* ---- user functions ---- */

static em_status fn_counted_double(em_task *t, const em_val *env,
                                   const em_val *args, size_t nargs,
                                   em_val *out)
{
    atomic_fetch_add(&calls, 1);
    *out = em_int(2 * args[0].u.i);
    return EM_OK;
}

/* x -> a nested record of every kind of value. */
static em_status fn_nested(em_task *t, const em_val *env, const em_val *args,
                           size_t nargs, em_val *out)
{
    static const uint8_t raw[] = {0, 7, 255};
    em_arena *a = em_task_arena(t);
    int64_t x = args[0].u.i;
    em_val *items, kv[6], inner[1];
    double *vec;
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "s%lld\xc3\xa9", (long long)x);
    em_status st;

    atomic_fetch_add(&calls, 1);
    if ((items = em_array_make(a, 12, out)) == NULL)
        return EM_ENOMEM;
    items[0] = em_int(x);
    items[1] = em_int(x % 2 ? INT64_MIN + llabs(x) : INT64_MAX - llabs(x));
    if ((st = em_str_copy(a, buf, (size_t)n, &items[2])) != EM_OK)
        return st;
    items[3] = em_float((double)x * 1.5);
    items[4] = em_float((double)x); /* integral, must stay a float */
    items[5] = em_float(x % 3 ? -0.0 : 1e-300);
    items[6] = em_bool(x % 2 == 0);
    items[7] = em_nil();
    inner[0] = em_int(x);
    kv[0] = em_cstr("k");
    kv[1] = em_float((double)x * 0.5);
    kv[2] = em_cstr("z");
    kv[3] = em_array(inner, 1);
    kv[4] = em_int(x);
    kv[5] = em_cstr("");
    if ((st = em_map_make(a, kv, 3, &items[8])) != EM_OK)
        return st;
    items[9] = em_bytes(raw, sizeof(raw));
    if ((vec = em_vec_make(a, 2, &items[10])) == NULL)
        return EM_ENOMEM;
    vec[0] = (double)x;
    vec[1] = -1.0 / 3.0;
    items[11] = em_array(NULL, 0);
    return em_val_copy(a, *out, out);
}

/* x -> a 48-byte string. */
static em_status fn_big(em_task *t, const em_val *env, const em_val *args,
                        size_t nargs, em_val *out)
{
    char buf[64];
    int n = snprintf(buf, sizeof(buf), "record-%012lld-padding-padding-padding",
                     (long long)args[0].u.i);

    atomic_fetch_add(&calls, 1);
    return em_str_copy(em_task_arena(t), buf, (size_t)n, out);
}

/* ---- cache ---- */

static void test_persist_cache_computes_once(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_rdd *r =
        em_rdd_map(em_ctx_range(ctx, 0, 1000, 1, 4), EM_FN(fn_counted_double));
    em_val x, y;
    int64_t n;

    assert_int_equal(em_rdd_storage(r), EM_STORAGE_NONE);
    EM_CHECK(em_rdd_cache(r));
    assert_int_equal(em_rdd_storage(r), EM_MEMORY_ONLY);
    assert_int_equal(em_rdd_cached_partitions(r), 0);
    atomic_store(&calls, 0);
    x = collect(r, a);
    assert_int_equal(atomic_load(&calls), 1000);
    assert_int_equal(em_rdd_cached_partitions(r), 4);
    EM_CHECK(em_rdd_count(r, &n));
    assert_int_equal(n, 1000);
    y = collect(r, a);
    em_test_expect_identical(y, x, "cached collect");
    assert_int_equal(atomic_load(&calls), 1000);
    /* a child of the cached RDD reads the cache */
    EM_CHECK(em_rdd_count(em_rdd_glom(r), &n));
    assert_int_equal(n, 4);
    assert_int_equal(atomic_load(&calls), 1000);

    /* unpersist drops the partitions; the next action recomputes */
    EM_CHECK(em_rdd_unpersist(r));
    assert_int_equal(em_rdd_storage(r), EM_STORAGE_NONE);
    assert_int_equal(em_rdd_cached_partitions(r), 0);
    EM_CHECK(em_rdd_count(r, &n));
    assert_int_equal(atomic_load(&calls), 2000);
    EM_CHECK(em_rdd_count(r, &n));
    assert_int_equal(atomic_load(&calls), 3000);
    assert_int_equal(em_rdd_cached_partitions(r), 0);
    /* and it can be cached again */
    EM_CHECK(em_rdd_cache(r));
    em_test_expect_identical(collect(r, a), x, "recached");
    em_test_expect_identical(collect(r, a), x, "recached");
    assert_int_equal(atomic_load(&calls), 4000);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

static void test_persist_uncached_recomputes(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_arena *a = em_arena_create();
    em_rdd *r =
        em_rdd_map(em_ctx_range(ctx, 0, 500, 1, 3), EM_FN(fn_counted_double));
    int64_t n;

    atomic_store(&calls, 0);
    collect(r, a);
    EM_CHECK(em_rdd_count(r, &n));
    assert_int_equal(atomic_load(&calls), 1000);
    assert_int_equal(em_rdd_cached_partitions(r), 0);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* A cached parent shared by two children is computed once (the children's
 * jobs run one after the other; tasks of one job that read the same
 * partition are not serialized on one thread here). */
static void test_persist_shared_parent(void **state)
{
    em_ctx *ctx = em_test_ctx("local[3]");
    em_ctx *ctx1 = em_test_ctx("local[1]");
    em_rdd *p =
        em_rdd_map(em_ctx_range(ctx, 0, 300, 1, 5), EM_FN(fn_counted_double));
    em_rdd *p1 =
        em_rdd_map(em_ctx_range(ctx1, 0, 300, 1, 5), EM_FN(fn_counted_double));
    em_rdd *parts[2];
    int64_t n;

    EM_CHECK(em_rdd_cache(p));
    atomic_store(&calls, 0);
    EM_CHECK(em_rdd_count(em_rdd_glom(p), &n));
    assert_int_equal(n, 5);
    EM_CHECK(em_rdd_count(em_rdd_zip_with_unique_id(p), &n));
    assert_int_equal(n, 300);
    EM_CHECK(em_rdd_count(em_rdd_zip(p, p), &n));
    assert_int_equal(n, 300);
    assert_int_equal(atomic_load(&calls), 300);

    /* both children in one job, on one thread */
    EM_CHECK(em_rdd_cache(p1));
    parts[0] = em_rdd_glom(p1);
    parts[1] = em_rdd_zip_with_unique_id(p1);
    atomic_store(&calls, 0);
    EM_CHECK(em_rdd_count(em_ctx_union(ctx1, parts, 2), &n));
    assert_int_equal(n, 5 + 300);
    assert_int_equal(atomic_load(&calls), 300);
    em_ctx_destroy(ctx1);
    em_ctx_destroy(ctx);
}

static void test_persist_level_change(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_rdd *r = em_ctx_range(ctx, 0, 10, 1, 2);

    EM_CHECK(em_rdd_persist(r, EM_MEMORY_ONLY));
    EM_CHECK(em_rdd_persist(r, EM_MEMORY_ONLY)); /* the same level */
    EM_CHECK(em_rdd_cache(r));
    assert_int_equal(em_rdd_persist(r, EM_DISK_ONLY), EM_ESTATE);
    assert_int_equal(em_rdd_persist(r, EM_MEMORY_ONLY_2), EM_ESTATE);
    assert_int_equal(em_rdd_storage(r), EM_MEMORY_ONLY);
    EM_CHECK(em_rdd_unpersist(r));
    EM_CHECK(em_rdd_persist(r, EM_DISK_ONLY));
    assert_int_equal(em_rdd_storage(r), EM_DISK_ONLY);
    assert_int_equal(em_rdd_cache(r), EM_ESTATE);
    assert_int_equal(em_rdd_persist(r, (em_storage)99), EM_EINVAL);
    assert_int_equal(em_rdd_storage(r), EM_DISK_ONLY);
    em_ctx_destroy(ctx);
}

/* ---- storage levels ---- */

static void test_persist_every_level(void **state)
{
    char dir[4096];
    em_ctx *ctx;
    em_arena *a = em_arena_create();
    em_val want;

    em_test_tmpdir(dir, sizeof(dir));
    ctx = ctx_with("local[3]", 0, dir);
    want = collect(
        em_rdd_map(em_ctx_range(ctx, -20, 280, 1, 6), EM_FN(fn_nested)), a);
    for (size_t i = 0; i < sizeof(all_levels) / sizeof(all_levels[0]); i++) {
        em_rdd *r =
            em_rdd_map(em_ctx_range(ctx, -20, 280, 1, 6), EM_FN(fn_nested));
        char what[64];
        int64_t n;
        snprintf(what, sizeof(what), "level %d", (int)all_levels[i]);
        EM_CHECK(em_rdd_persist(r, all_levels[i]));
        atomic_store(&calls, 0);
        em_test_expect_identical(collect(r, a), want, what);
        assert_int_equal(em_rdd_cached_partitions(r), 6);
        em_test_expect_identical(collect(r, a), want, what);
        EM_CHECK(em_rdd_count(r, &n));
        assert_int_equal(n, 300);
        /* later reads come from the store */
        if (atomic_load(&calls) != 300)
            fail_msg("%s: the function ran %ld times, want 300", what,
                     atomic_load(&calls));
        EM_CHECK(em_rdd_unpersist(r));
        assert_int_equal(em_rdd_cached_partitions(r), 0);
    }
    em_ctx_destroy(ctx);
    /* the store removed its files */
    assert_int_equal(dir_entries(dir), 0);
    em_test_rmtree(dir);
    em_arena_destroy(a);
}

/* Disk levels still hold their blocks when the context is destroyed: the
 * files go with the context. */
static void test_persist_disk_cleanup(void **state)
{
    char dir[4096];
    em_ctx *ctx;
    em_arena *a = em_arena_create();
    em_rdd *r;

    em_test_tmpdir(dir, sizeof(dir));
    ctx = ctx_with("local[2]", 0, dir);
    r = em_rdd_map(em_ctx_range(ctx, 0, 100, 1, 4), EM_FN(fn_nested));
    EM_CHECK(em_rdd_persist(r, EM_DISK_ONLY));
    collect(r, a);
    assert_int_equal(em_rdd_cached_partitions(r), 4);
    assert_true(dir_entries(dir) > 0);
    em_ctx_destroy(ctx);
    assert_int_equal(dir_entries(dir), 0);
    em_test_rmtree(dir);
    em_arena_destroy(a);
}

/* A disk level whose directory cannot be made fails the job with EM_EIO
 * naming the path; memory levels on the same context are unaffected. */
static void test_persist_bad_local_dir(void **state)
{
    const char *dir = "/nonexistent-ember-dir/sub";
    em_ctx *ctx = ctx_with("local[2]", 0, dir);
    em_arena *a = em_arena_create();
    em_rdd *d = em_rdd_map(em_ctx_range(ctx, 0, 50, 1, 2), EM_FN(fn_nested));
    em_rdd *m = em_rdd_map(em_ctx_range(ctx, 0, 50, 1, 2), EM_FN(fn_nested));
    em_val v;
    em_status st;

    EM_CHECK(em_rdd_persist(d, EM_DISK_ONLY));
    st = em_rdd_collect(d, a, &v);
    if (st != EM_EIO || strstr(em_last_error(), dir) == NULL)
        fail_msg("got %s (%s), want EM_EIO naming %s", em_status_name(st),
                 em_last_error(), dir);
    EM_CHECK(em_rdd_cache(m));
    EM_CHECK(em_rdd_collect(m, a, &v));
    assert_int_equal(v.len, 50);
    assert_int_equal(em_rdd_cached_partitions(m), 2);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* ---- eviction ---- */

/* Several MB of records with a 64 KiB budget: nothing fits in memory, so
 * memory-only levels recompute and disk levels spill. */
static void test_persist_small_budget(void **state)
{
    static const em_storage levels[] = {EM_MEMORY_ONLY, EM_MEMORY_ONLY_SER,
                                        EM_MEMORY_AND_DISK,
                                        EM_MEMORY_AND_DISK_SER, EM_DISK_ONLY};
    const int64_t n = 60000;
    char dir[4096];
    em_ctx *ctx;
    em_arena *a = em_arena_create();
    em_val want;

    em_test_tmpdir(dir, sizeof(dir));
    ctx = ctx_with("local[2]", 64 * 1024, dir);
    want = collect(em_rdd_map(em_ctx_range(ctx, 0, n, 1, 8), EM_FN(fn_big)), a);
    assert_int_equal(want.len, n);
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        em_rdd *r = em_rdd_map(em_ctx_range(ctx, 0, n, 1, 8), EM_FN(fn_big));
        char what[64];
        long ran;
        snprintf(what, sizeof(what), "level %d", (int)levels[i]);
        EM_CHECK(em_rdd_persist(r, levels[i]));
        atomic_store(&calls, 0);
        em_test_expect_identical(collect(r, a), want, what);
        em_test_expect_identical(collect(r, a), want, what);
        ran = atomic_load(&calls);
        if (level_has_disk(levels[i]) ? ran != n : ran <= n)
            fail_msg("%s: the function ran %ld times for %lld records", what,
                     ran, (long long)n);
        EM_CHECK(em_rdd_unpersist(r));
    }
    em_ctx_destroy(ctx);
    assert_int_equal(dir_entries(dir), 0);
    em_test_rmtree(dir);
    em_arena_destroy(a);
}

/* A budget that holds some partitions: the least recently used are evicted
 * and recomputed, and the answers do not change. (A sequential second pass
 * may recompute every partition: each read evicts the next one.) */
static void test_persist_lru_eviction(void **state)
{
    const int64_t n = 60000;
    const int parts = 30;
    em_ctx *ctx = ctx_with("local[2]", 4 * 1024 * 1024, NULL);
    em_arena *a = em_arena_create();
    em_rdd *r = em_rdd_map(em_ctx_range(ctx, 0, n, 1, parts), EM_FN(fn_big));
    em_val want = collect(
        em_rdd_map(em_ctx_range(ctx, 0, n, 1, parts), EM_FN(fn_big)), a);
    int held;
    long ran;

    EM_CHECK(em_rdd_cache(r));
    atomic_store(&calls, 0);
    em_test_expect_identical(collect(r, a), want, "first pass");
    assert_int_equal(atomic_load(&calls), n);
    held = em_rdd_cached_partitions(r);
    if (!(held > 0 && held < parts))
        fail_msg("%d of %d partitions held", held, parts);
    em_test_expect_identical(collect(r, a), want, "second pass");
    ran = atomic_load(&calls);
    if (!(ran > n && ran <= 2 * n))
        fail_msg("%d of %d partitions held, the function ran %ld times for "
                 "%lld records",
                 held, parts, ran, (long long)n);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_persist_cache_computes_once),
        EM_TEST(test_persist_uncached_recomputes),
        EM_TEST(test_persist_shared_parent),
        EM_TEST(test_persist_level_change),
        EM_TEST(test_persist_every_level),
        EM_TEST(test_persist_disk_cleanup),
        EM_TEST(test_persist_bad_local_dir),
        EM_TEST(test_persist_small_budget),
        EM_TEST(test_persist_lru_eviction),
    };

    return cmocka_run_group_tests_name("persist", tests, NULL, NULL);
}
