/* Tests of the parameter server in local mode (scheduler/ps*.c,
 * ops/ml/ps_optim.c): pulls and pushes against a sequential table, exact
 * sums from concurrent tasks, server-side optimizers against the same
 * optimizer stepped sequentially, the staleness bound, snapshots and
 * restore, hot-key placement under a Zipfian load, and bad input.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "em_test.h"
#include "ember/ps.h"
#include "scheduler/ps_int.h"

#define NKEYS 50

static em_ps *ps_make(em_ctx *ctx, const em_ps_opts *o)
{
    em_ps *ps = em_ps_create(ctx, o);

    if (ps == NULL)
        fail_msg("em_ps_create: %s", em_last_error());
    return ps;
}

/* ---- pull and push against a sequential table ---- */

static void test_ps_pull_push_sequential(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_ps_opts o = {.dim = 3, .shards = 3, .init = EM_PS_INIT_CONSTANT,
                    .init_a = 0.5};
    em_ps *ps = ps_make(ctx, &o);
    double ref[NKEYS][3], d[8 * 3], got[8 * 3];
    em_val keys[8];
    int64_t ks[8];
    em_test_rng rng = {7};

    for (int k = 0; k < NKEYS; k++)
        for (int j = 0; j < 3; j++)
            ref[k][j] = 0.5;
    for (int round = 0; round < 300; round++) {
        size_t n = 1 + em_test_below(&rng, 8);
        for (size_t i = 0; i < n; i++) {
            ks[i] = (int64_t)em_test_below(&rng, NKEYS);
            keys[i] = em_int(ks[i]);
            for (int j = 0; j < 3; j++)
                d[i * 3 + j] = (double)em_test_below(&rng, 1000) / 8 - 60;
        }
        if (round % 3 == 2) {
            EM_CHECK(em_ps_get(ps, keys, n, got));
            for (size_t i = 0; i < n; i++)
                for (int j = 0; j < 3; j++)
                    assert_true(got[i * 3 + j] == ref[ks[i]][j]);
            continue;
        }
        EM_CHECK(em_ps_put(ps, keys, n, d));
        for (size_t i = 0; i < n; i++)
            for (int j = 0; j < 3; j++)
                ref[ks[i]][j] += d[i * 3 + j];
    }
    em_ps_destroy(ps);
    em_ctx_destroy(ctx);
}

/* Keys of any type: strings and floats with integral values (the same
 * key as the int, by the value hash and equality). */
static void test_ps_key_types(void **state)
{
    em_ctx *ctx = em_test_ctx("local[1]");
    em_ps_opts o = {.dim = 1};
    em_ps *ps = ps_make(ctx, &o);
    em_val keys[3] = {em_cstr("w"), em_int(4), em_float(4.0)};
    double d[3] = {1, 2, 3}, got[3];

    EM_CHECK(em_ps_put(ps, keys, 3, d));
    EM_CHECK(em_ps_get(ps, keys, 3, got));
    assert_true(got[0] == 1 && got[1] == 5 && got[2] == 5);
    em_ps_destroy(ps);
    em_ctx_destroy(ctx);
}

/* ---- concurrent tasks ---- */

/* Task p pushes delta (p + 1) * (i + 1) to key i % NKEYS, 200 times, in
 * batches of 10; env is the handle. */
static em_status push_many(em_task *t, const em_val *env, const em_val *args,
                           size_t nargs, em_val *out)
{
    int p = em_task_partition(t);
    em_val keys[10];
    double d[10 * 2];
    em_status st;

    for (int b = 0; b < 20; b++) {
        for (int j = 0; j < 10; j++) {
            int i = b * 10 + j;
            keys[j] = em_int(i % NKEYS);
            d[2 * j] = (p + 1) * (i + 1);
            d[2 * j + 1] = -1;
        }
        if ((st = em_ps_push(t, *env, keys, 10, d)) != EM_OK)
            return st;
    }
    *out = em_nil();
    return EM_OK;
}

static void test_ps_concurrent_sums_exact(void **state)
{
    em_ctx *ctx = em_test_ctx("local[4]");
    em_ps_opts o = {.dim = 2, .shards = 4};
    em_ps *ps = ps_make(ctx, &o);
    em_rdd *r = em_ctx_range(ctx, 0, 8, 1, 8);
    em_val keys[NKEYS];
    double got[NKEYS * 2], want[NKEYS * 2] = {0};

    EM_CHECK(em_rdd_foreach_partition(r, em_fn_of(push_many,
                                                  em_ps_ref(ps))));
    for (int p = 0; p < 8; p++)
        for (int i = 0; i < 200; i++) {
            want[2 * (i % NKEYS)] += (p + 1) * (i + 1);
            want[2 * (i % NKEYS) + 1] -= 1;
        }
    for (int k = 0; k < NKEYS; k++)
        keys[k] = em_int(k);
    EM_CHECK(em_ps_get(ps, keys, NKEYS, got));
    for (int k = 0; k < 2 * NKEYS; k++)
        assert_true(got[k] == want[k]);
    em_ps_destroy(ps);
    em_ctx_destroy(ctx);
}

/* ---- server-side optimizers ---- */

static void check_optim(em_optim_kind kind)
{
    em_ctx *ctx = em_test_ctx("local[1]");
    em_ps_opts o = {.dim = 4, .shards = 2, .init = EM_PS_INIT_UNIFORM,
                    .init_a = -1, .init_b = 1, .seed = 11, .has_optim = true,
                    .optim = {.kind = kind, .step = 0.1}};
    em_ps *ps = ps_make(ctx, &o);
    em_optim *ref[5];
    double w[5][4], g[2 * 4], got[5 * 4];
    em_val keys[5];
    em_test_rng rng = {3};

    for (int k = 0; k < 5; k++) {
        keys[k] = em_int(k);
        assert_non_null(ref[k] = em_optim_create(&o.optim, 4, 4));
    }
    /* the initial values, then each key's optimizer stepped in order */
    EM_CHECK(em_ps_get(ps, keys, 5, got));
    memcpy(w, got, sizeof(w));
    for (int step = 0; step < 40; step++) {
        em_val pk[2];
        for (int i = 0; i < 2; i++) {
            int k = (int)em_test_below(&rng, 5);
            pk[i] = keys[k];
            for (int j = 0; j < 4; j++)
                g[i * 4 + j] = (double)em_test_below(&rng, 200) / 50 - 2;
            em_optim_step(ref[k], w[k], &g[i * 4]);
        }
        EM_CHECK(em_ps_put(ps, pk, 2, g));
    }
    EM_CHECK(em_ps_get(ps, keys, 5, got));
    for (int k = 0; k < 5; k++) {
        for (int j = 0; j < 4; j++)
            assert_true(got[k * 4 + j] == w[k][j]);
        em_optim_destroy(ref[k]);
    }
    em_ps_destroy(ps);
    em_ctx_destroy(ctx);
}

static void test_ps_optimizer_matches_sequential(void **state)
{
    check_optim(EM_OPTIM_SGD);
    check_optim(EM_OPTIM_ADAGRAD);
    check_optim(EM_OPTIM_ADAM);
}

/* ---- initial values ---- */

static void test_ps_init_values(void **state)
{
    em_ctx *ctx = em_test_ctx("local[1]");
    em_ps_opts o = {.dim = 8, .shards = 3, .init = EM_PS_INIT_UNIFORM,
                    .init_a = 2, .init_b = 3, .seed = 5};
    em_ps *a = ps_make(ctx, &o), *b;
    em_val keys[20];
    double x[20 * 8], y[20 * 8];

    o.shards = 1; /* another placement: the same values */
    b = ps_make(ctx, &o);
    for (int k = 0; k < 20; k++)
        keys[k] = em_int(k * 7);
    EM_CHECK(em_ps_get(a, keys, 20, x));
    EM_CHECK(em_ps_get(b, keys, 20, y));
    for (int i = 0; i < 20 * 8; i++) {
        assert_true(x[i] == y[i]);
        assert_true(x[i] >= 2 && x[i] < 3);
    }
    assert_true(x[0] != x[1] && x[0] != x[8]);
    em_ps_destroy(a);
    em_ps_destroy(b);
    em_ctx_destroy(ctx);
}

/* ---- staleness ---- */

/* With s = 2 a cached copy is served while the shard is at most 2 pushes
 * ahead of it: one key, pushes of 1, so a value read equals the shard's
 * version when it was read. */
static em_status stale_steps(em_task *t, const em_val *env,
                             const em_val *args, size_t nargs, em_val *out)
{
    static const double want[] = {0, 0, 0, 3, 3, 3, 6};
    em_val key = em_int(1);
    double one = 1, x;
    em_status st;

    for (int i = 0; i < 7; i++) {
        if ((st = em_ps_pull(t, *env, &key, 1, &x)) != EM_OK)
            return st;
        if (x != want[i])
            return em_task_fail(t, "pull %d read %g, want %g", i, x,
                                want[i]);
        if ((st = em_ps_push(t, *env, &key, 1, &one)) != EM_OK)
            return st;
    }
    *out = em_nil();
    return EM_OK;
}

static void test_ps_staleness_sequential(void **state)
{
    em_ctx *ctx = em_test_ctx("local[1]");
    em_ps_opts o = {.dim = 1, .shards = 1, .staleness = 2};
    em_ps *ps = ps_make(ctx, &o);
    em_rdd *r = em_ctx_range(ctx, 0, 1, 1, 1);

    EM_CHECK(em_rdd_foreach_partition(r, em_fn_of(stale_steps,
                                                  em_ps_ref(ps))));
    em_ps_destroy(ps);
    em_ctx_destroy(ctx);
}

/* Tasks pull and push one key (+1 each) concurrently; each value read is
 * checked against the pushes known to be applied before the pull began:
 * it may lag them by at most s. */
static _Atomic int64_t pushes_done;

static em_status stale_race(em_task *t, const em_val *env,
                            const em_val *args, size_t nargs, em_val *out)
{
    em_val key = em_int(0), ps = env->u.arr[0];
    int64_t s = env->u.arr[1].u.i;
    double one = 1, x;
    em_status st;

    for (int i = 0; i < 300; i++) {
        int64_t before = pushes_done;
        if ((st = em_ps_pull(t, ps, &key, 1, &x)) != EM_OK)
            return st;
        if ((double)before - x > (double)s)
            return em_task_fail(t, "read %g after %lld pushes (s %lld)", x,
                                (long long)before, (long long)s);
        if ((st = em_ps_push(t, ps, &key, 1, &one)) != EM_OK)
            return st;
        pushes_done++;
    }
    *out = em_nil();
    return EM_OK;
}

static void check_staleness(int s, bool is_blocking)
{
    em_ctx *ctx = em_test_ctx("local[4]");
    em_ps_opts o = {.dim = 1, .shards = 2, .staleness = s,
                    .is_blocking = is_blocking};
    em_ps *ps = ps_make(ctx, &o);
    em_rdd *r = em_ctx_range(ctx, 0, 4, 1, 4);
    em_val env[2] = {em_ps_ref(ps), em_int(is_blocking ? 0 : s)};
    em_val key = em_int(0);
    double x;
    int64_t lag;

    pushes_done = 0;
    EM_CHECK(em_rdd_foreach_partition(
        r, em_fn_of(stale_race, em_array(env, 2))));
    EM_CHECK(em_ps_get(ps, &key, 1, &x));
    assert_true(x == 4 * 300);
    /* the shards' account: their version at the read minus the version
       of the copy returned */
    lag = em__ps_max_lag(ps);
    assert_true(lag >= 0 && lag <= (is_blocking ? 0 : s));
    em_ps_destroy(ps);
    em_ctx_destroy(ctx);
}

static void test_ps_staleness_bound(void **state)
{
    check_staleness(0, false);
    check_staleness(3, false);
    check_staleness(5, true);
}

/* ---- snapshots ---- */

/* The library's log lines, for the loss warnings. */
static char logged[4][256];
static int nlogged;

static void log_capture(em_log_level level, const char *line, void *ud)
{
    if (nlogged < 4)
        snprintf(logged[nlogged++], sizeof(logged[0]), "%s", line);
}

static void test_ps_snapshot_restore(void **state)
{
    em_ctx *ctx = em_test_ctx("local[1]");
    em_ps_opts o = {.dim = 2, .shards = 2, .snapshot_every = 3,
                    .has_optim = true,
                    .optim = {.kind = EM_OPTIM_ADAGRAD, .step = 0.5}};
    em_ps *ps = ps_make(ctx, &o), *twin;
    em_val keys[16];
    double g[16 * 2], at_snap[16 * 2], got[16 * 2], tw[16 * 2];
    em_ps_stats st;
    em_ps_shard_stats ss;
    int64_t lost = 0;

    for (int i = 0; i < 16; i++)
        keys[i] = em_int(i);
    for (int i = 0; i < 32; i++)
        g[i] = i - 15.5;
    /* 6 pushes: each shard holding some of the keys snapshots at its 3rd
       and its 6th */
    for (int i = 0; i < 6; i++)
        EM_CHECK(em_ps_put(ps, keys, 16, g));
    EM_CHECK(em_ps_get(ps, keys, 16, at_snap));
    EM_CHECK(em_ps_put(ps, keys, 16, g)); /* the 7th: lost below */
    for (int s = 0; s < 2; s++) {
        EM_CHECK(em_ps_shard_stats_get(ps, s, &ss));
        assert_int_equal(ss.snapshot_version, ss.pushes / 3 * 3);
        assert_int_equal(ss.snapshots, ss.pushes / 3);
        lost += ss.pushes - ss.snapshot_version;
    }
    assert_int_equal(lost, 2); /* both shards hold keys */
    nlogged = 0;
    em_log_set(log_capture, NULL);
    for (int s = 0; s < 2; s++)
        EM_CHECK(em__ps_lose_shard(ps, s));
    em_log_set(NULL, NULL);
    /* each restore says how many pushes it lost: one per shard here */
    assert_int_equal(nlogged, 2);
    for (int s = 0; s < 2; s++)
        assert_non_null(strstr(logged[s], "1 pushes since the snapshot are "
                                          "lost"));
    EM_CHECK(em_ps_get(ps, keys, 16, got));
    for (int i = 0; i < 32; i++)
        assert_true(got[i] == at_snap[i]);
    EM_CHECK(em_ps_stats_get(ps, &st));
    assert_int_equal(st.restores, 2);
    assert_int_equal(st.lost_pushes, lost);
    /* the optimizers' state came back too: one more push gives what a
       server that never lost anything gives after 7 */
    EM_CHECK(em_ps_put(ps, keys, 16, g));
    twin = ps_make(ctx, &o);
    for (int i = 0; i < 7; i++)
        EM_CHECK(em_ps_put(twin, keys, 16, g));
    EM_CHECK(em_ps_get(twin, keys, 16, tw));
    EM_CHECK(em_ps_get(ps, keys, 16, got));
    for (int i = 0; i < 32; i++)
        assert_true(got[i] == tw[i]);
    em_ps_destroy(twin);
    em_ps_destroy(ps);
    em_ctx_destroy(ctx);
}

/* ---- hot keys ---- */

#define ZIPF_KEYS 2000

/* Draws from Zipf(1.1) over ZIPF_KEYS keys by its inverse CDF. */
static int zipf_draw(em_test_rng *r, const double *cdf)
{
    double u = (double)(em_test_next(r) >> 11) * 0x1p-53;
    int lo = 0, hi = ZIPF_KEYS - 1;

    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Pulls and pushes 20000 Zipfian keys in batches; returns max / mean of
 * the shards' requests. */
static double zipf_load(em_ps *ps, const double *cdf, double *ref,
                        uint64_t seed)
{
    em_test_rng r = {seed};
    em_val keys[50];
    int ks[50];
    double d[50], got[50], max = 0, sum = 0;
    em_ps_stats st;

    for (int b = 0; b < 400; b++) {
        for (int i = 0; i < 50; i++) {
            ks[i] = zipf_draw(&r, cdf);
            keys[i] = em_int(ks[i]);
            d[i] = 1;
        }
        EM_CHECK(em_ps_get(ps, keys, 50, got));
        for (int i = 0; i < 50; i++)
            assert_true(got[i] == ref[ks[i]]);
        EM_CHECK(em_ps_put(ps, keys, 50, d));
        for (int i = 0; i < 50; i++)
            ref[ks[i]] += 1;
    }
    EM_CHECK(em_ps_stats_get(ps, &st));
    for (int s = 0; s < st.shards; s++) {
        em_ps_shard_stats ss;
        EM_CHECK(em_ps_shard_stats_get(ps, s, &ss));
        sum += (double)ss.requests;
        max = ss.requests > max ? (double)ss.requests : max;
    }
    return max / (sum / st.shards);
}

static void test_ps_hot_keys_balance_load(void **state)
{
    em_ctx *ctx = em_test_ctx("local[1]");
    em_ps_opts o = {.dim = 1, .shards = 4};
    em_ps *ps = ps_make(ctx, &o);
    static double cdf[ZIPF_KEYS], ref[ZIPF_KEYS];
    double h = 0, before, after;
    em_ps_stats st;

    for (int k = 0; k < ZIPF_KEYS; k++)
        cdf[k] = (h += pow(k + 1, -1.1));
    for (int k = 0; k < ZIPF_KEYS; k++) {
        cdf[k] /= h;
        ref[k] = 0;
    }
    before = zipf_load(ps, cdf, ref, 1);
    EM_CHECK(em_ps_rebalance(ps, 16));
    EM_CHECK(em_ps_stats_get(ps, &st));
    assert_true(st.hot_keys > 0 && st.hot_keys <= 16);
    after = zipf_load(ps, cdf, ref, 2); /* values checked as they moved */
    print_message("max/mean shard load: %.3f before, %.3f after\n", before,
                  after);
    assert_true(before > 1.2);
    assert_true(after < before);
    em_ps_destroy(ps);
    em_ctx_destroy(ctx);
}

/* A handle from before a rebalance either reads a key's right value (the
 * key did not move) or is refused (EM_ESTATE): never a wrong one. env:
 * [old handle, new handle]. */
static em_status pull_old_new(em_task *t, const em_val *env,
                              const em_val *args, size_t nargs, em_val *out)
{
    em_val key;
    double x;
    em_status st;

    for (int k = 0; k < 40; k++) {
        double want = k < 20 ? 11 : 1;
        key = em_int(k);
        st = em_ps_pull(t, env->u.arr[0], &key, 1, &x);
        if (st != EM_OK && st != EM_ESTATE)
            return st;
        if ((st == EM_OK && x != want) ||
            (st == EM_ESTATE && strstr(em_last_error(), "em_ps_ref") == NULL))
            return em_task_fail(t, "old handle, key %d: %s %g", k,
                                em_status_name(st), x);
        if ((st = em_ps_pull(t, env->u.arr[1], &key, 1, &x)) != EM_OK)
            return st;
        if (x != want)
            return em_task_fail(t, "new handle, key %d: %g", k, x);
    }
    *out = em_nil();
    return EM_OK;
}

static void test_ps_old_handle_refused(void **state)
{
    em_ctx *ctx = em_test_ctx("local[1]");
    em_ps_opts o = {.dim = 1, .shards = 2};
    em_ps *ps = ps_make(ctx, &o);
    em_arena *a = em_arena_create();
    em_val env[2], keys[40];
    double d[40];

    for (int k = 0; k < 40; k++) {
        keys[k] = em_int(k);
        d[k] = 1;
    }
    EM_CHECK(em_ps_put(ps, keys, 40, d));
    for (int i = 0; i < 10; i++) /* keys 0-19 hot */
        EM_CHECK(em_ps_put(ps, keys, 20, d));
    EM_CHECK(em_val_copy(a, em_ps_ref(ps), &env[0]));
    EM_CHECK(em_ps_rebalance(ps, 20));
    env[1] = em_ps_ref(ps);
    EM_CHECK(em_rdd_foreach_partition(
        em_ctx_range(ctx, 0, 1, 1, 1),
        em_fn_of(pull_old_new, em_array(env, 2))));
    em_ps_destroy(ps);
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* ---- not yet ---- */

/* A shard that is not there (here: its server was destroyed) answers
 * "not yet"; the caller asks again until its timeout, then fails. */
static em_status pull_gone(em_task *t, const em_val *env, const em_val *args,
                           size_t nargs, em_val *out)
{
    em_val key = em_int(1);
    double x;
    em_status st = em_ps_pull(t, *env, &key, 1, &x);

    if (st != EM_ETIMEOUT || strstr(em_last_error(), "100 ms") == NULL)
        return em_task_fail(t, "a missing shard gave %s: %s",
                            em_status_name(st), em_last_error());
    *out = em_nil();
    return EM_OK;
}

static void test_ps_not_yet_until_timeout(void **state)
{
    em_ctx *ctx = em_test_ctx("local[1]");
    em_ps_opts o = {.dim = 1, .shards = 1, .timeout_ms = 100};
    em_ps *ps = ps_make(ctx, &o);
    em_arena *a = em_arena_create();
    em_val old;

    EM_CHECK(em_val_copy(a, em_ps_ref(ps), &old));
    em_ps_destroy(ps);
    EM_CHECK(em_rdd_foreach_partition(em_ctx_range(ctx, 0, 1, 1, 1),
                                      em_fn_of(pull_gone, old)));
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
}

/* ---- bad input ---- */

static em_status pull_bad_handle(em_task *t, const em_val *env,
                                 const em_val *args, size_t nargs,
                                 em_val *out)
{
    em_val key = em_int(0);
    double x;
    em_status st = em_ps_pull(t, em_int(3), &key, 1, &x);

    if (st != EM_EINVAL || strstr(em_last_error(), "handle") == NULL)
        return em_task_fail(t, "a bad handle gave %s", em_status_name(st));
    *out = em_nil();
    return EM_OK;
}

static void test_ps_bad_input(void **state)
{
    em_ctx *ctx = em_test_ctx("local[1]");
    em_ps_opts o = {.dim = 0};
    em_ps *ps;
    em_val key = em_int(1);
    double inf = INFINITY, x[2];
    em_ps_shard_stats ss;

    assert_null(em_ps_create(ctx, &o));
    assert_non_null(strstr(em_last_error(), "dim"));
    assert_null(em_ps_create(ctx, NULL));
    o.dim = 2;
    o.init = EM_PS_INIT_UNIFORM;
    o.init_a = 1;
    o.init_b = 1;
    assert_null(em_ps_create(ctx, &o));
    o.init = EM_PS_INIT_ZEROS;
    o.has_optim = true;
    o.optim.step = -1;
    assert_null(em_ps_create(ctx, &o));
    o.has_optim = false;
    ps = ps_make(ctx, &o);
    assert_int_equal(em_ps_put(ps, &key, 1, (double[]){1, inf}), EM_EINVAL);
    assert_int_equal(em_ps_shard_stats_get(ps, 9, &ss), EM_EINVAL);
    assert_int_equal(em_ps_rebalance(ps, -1), EM_EINVAL);
    /* nothing was applied */
    EM_CHECK(em_ps_get(ps, &key, 1, x));
    assert_true(x[0] == 0 && x[1] == 0);
    EM_CHECK(em_rdd_foreach_partition(em_ctx_range(ctx, 0, 1, 1, 1),
                                      EM_FN(pull_bad_handle)));
    em_ps_destroy(ps);
    em_ctx_destroy(ctx);
}

/* ---- out of memory ---- */

/* Creates a server with an optimizer and snapshots, pushes, pulls,
 * rebalances and restores: every failure must be EM_ENOMEM and leave
 * nothing behind (em_ps_destroy frees what was made). */
static em_status ps_lifecycle(void *arg)
{
    em_ctx *ctx = arg;
    em_ps_opts o = {.dim = 3, .shards = 2, .snapshot_every = 2,
                    .has_optim = true,
                    .optim = {.kind = EM_OPTIM_ADAM, .step = 0.1}};
    em_val keys[6];
    double d[6 * 3], got[6 * 3];
    em_ps *ps = em_ps_create(ctx, &o);
    em_status st = EM_OK;

    if (ps == NULL)
        return strstr(em_last_error(), "out of memory") != NULL ? EM_ENOMEM
                                                                : EM_EINVAL;
    for (int i = 0; i < 6; i++)
        keys[i] = em_int(i * 3);
    for (int i = 0; i < 18; i++)
        d[i] = i - 9;
    for (int i = 0; i < 3 && st == EM_OK; i++)
        st = em_ps_put(ps, keys, 6, d);
    if (st == EM_OK)
        st = em_ps_get(ps, keys, 6, got);
    if (st == EM_OK)
        st = em_ps_rebalance(ps, 2);
    if (st == EM_OK)
        st = em__ps_lose_shard(ps, 1);
    em_ps_destroy(ps);
    return st;
}

static void test_ps_out_of_memory(void **state)
{
    em_ctx *ctx = em_test_ctx("local[1]");
    int64_t n;

    /* a warm-up job: the task thread has started (and made its scratch
       arena) before the sweep counts bytes */
    EM_CHECK(em_rdd_count(em_ctx_range(ctx, 0, 1, 1, 1), &n));
    assert_true(em_test_oom_sweep(ps_lifecycle, ctx, 2000) > 0);
    em_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_ps_pull_push_sequential),
        EM_TEST(test_ps_key_types),
        EM_TEST(test_ps_concurrent_sums_exact),
        EM_TEST(test_ps_optimizer_matches_sequential),
        EM_TEST(test_ps_init_values),
        EM_TEST(test_ps_staleness_sequential),
        EM_TEST(test_ps_staleness_bound),
        EM_TEST(test_ps_snapshot_restore),
        EM_TEST(test_ps_hot_keys_balance_load),
        EM_TEST(test_ps_old_handle_refused),
        EM_TEST(test_ps_not_yet_until_timeout),
        EM_TEST(test_ps_bad_input),
        EM_TEST(test_ps_out_of_memory),
    };

    return cmocka_run_group_tests_name("ps", tests, NULL, NULL);
}
