/* Stages as values: every job of a driver context is encoded, turned into
 * msgpack bytes, decoded into a separate executor context and run there
 * task by task (the worker pool's path without the network); the answers
 * must equal those of a plain local context. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "em_test.h"
#include "runtime/arena.h"
#include "runtime/buf.h"
#include "runtime/codec.h"
#include "runtime/err.h"
#include "scheduler/ctx.h"
#include "scheduler/exec.h"
#include "scheduler/lineage.h"
#include "scheduler/shuffle.h"

static em_ctx *exec_ctx;     /* the "remote" executor */
static em_ctx *driver_ctx;   /* the driver whose stages go there */
static int remote_tasks;     /* tasks run through the executor */

/* Encodes to bytes and decodes again: what the wire does. */
static em_status through_bytes(em_val v, em_arena *a, em_val *out)
{
    em__buf b = EM__BUF_INIT;
    em_status st = em__codec_encode(&b, v);

    if (st == EM_OK)
        st = em__codec_decode(b.data, b.len, NULL, a, out, NULL);
    em__buf_fini(&b);
    return st;
}

static em_status fetch_bcast(em_ctx *ctx, int id, em__buf *out)
{
    const void *data;
    size_t len;
    em_status st = em__broadcast_bytes(driver_ctx, id, &data, &len);

    (void)ctx;
    if (st == EM_OK && em__buf_append(out, data, len) != EM_OK)
        st = EM_ENOMEM;
    return st;
}

static em_status remote_run(em_ctx *ctx, em_rdd *rdd, const int *parts,
                            int n, em__task_fn fn, em_val arg,
                            em__job_result *out)
{
    em_arena *a = em_arena_create(), *scratch = em_arena_create();
    em__xstage *x = NULL;
    em_val stage, wire;
    em_status st;

    if (parts == NULL)
        n = rdd->nparts;
    if ((st = em__job_result_init(out, n)) != EM_OK)
        return st;
    st = em__stage_encode(ctx, ctx->next_stage_id++, ctx->next_job_id, rdd,
                          fn, arg, a, &stage);
    if (st == EM_OK)
        st = through_bytes(stage, a, &wire);
    if (st == EM_OK)
        st = em__stage_decode(exec_ctx, wire, &x);
    for (int i = 0; i < n && st == EM_OK; i++) {
        int part = parts ? parts[i] : i, fs, fm;
        em_arena *res = em_arena_create();
        em_val r, rw, value;
        st = em__exec_task(exec_ctx, x, part, 0, NULL, scratch, res, &r);
        if (st == EM_OK)
            st = through_bytes(r, a, &rw);
        if (st == EM_OK)
            st = em__exec_result_apply(ctx, rw, &value, &fs, &fm);
        if (st == EM_OK && fn == em__shuffle_map_task)
            st = em__shuffle_register(em__shuffle_find(ctx, (int)arg.u.i),
                                      part, "executor", value);
        out->arenas[i] = em_arena_create();
        if (st == EM_OK)
            st = em_val_copy(out->arenas[i], value, &out->vals[i]);
        em_arena_destroy(res);
        remote_tasks++;
    }
    em__xstage_free(x);
    em_arena_destroy(scratch);
    em_arena_destroy(a);
    if (st != EM_OK) {
        char msg[1024];
        snprintf(msg, sizeof(msg), "%s", em_last_error());
        em__job_result_fini(out);
        return em__err(st, "%s", msg);
    }
    return EM_OK;
}

/* ---- user functions ---- */

static em_status times3(em_task *t, const em_val *env, const em_val *args,
                        size_t nargs, em_val *out)
{
    *out = em_int(3 * args[0].u.i);
    return EM_OK;
}

static em_status is_even(em_task *t, const em_val *env, const em_val *args,
                         size_t nargs, em_val *out)
{
    *out = em_bool(args[0].u.i % 2 == 0);
    return EM_OK;
}

/* x -> (x mod env, x) */
static em_status key_mod(em_task *t, const em_val *env, const em_val *args,
                         size_t nargs, em_val *out)
{
    return em_pair_make(em_task_arena(t), em_int(args[0].u.i % env->u.i),
                        args[0], out);
}

static em_status arr_len(em_task *t, const em_val *env, const em_val *args,
                         size_t nargs, em_val *out)
{
    *out = em_int(args[0].len);
    return EM_OK;
}

static em_status neg(em_task *t, const em_val *env, const em_val *args,
                     size_t nargs, em_val *out)
{
    *out = em_int(-args[0].u.i);
    return EM_OK;
}

/* x -> x + broadcast value (env: the reference) */
static em_status add_bcast(em_task *t, const em_val *env, const em_val *args,
                           size_t nargs, em_val *out)
{
    em_val b;
    em_status st = em_task_broadcast(t, *env, &b);

    if (st == EM_OK)
        *out = em_int(args[0].u.i + b.u.i);
    return st;
}

static em_status acc_add(em_task *t, const em_val *env, const em_val *args,
                         size_t nargs, em_val *out)
{
    return em_task_accum_add(t, *env, args[0]);
}

static em_status fail_on_13(em_task *t, const em_val *env,
                            const em_val *args, size_t nargs, em_val *out)
{
    if (args[0].u.i == 13)
        return em_task_fail(t, "thirteen is unlucky");
    *out = args[0];
    return EM_OK;
}

/* ---- the jobs, run on both contexts ---- */

static int cmp_vals(const void *a, const void *b)
{
    return em_val_cmp(*(const em_val *)a, *(const em_val *)b);
}

/* A sorted copy of an array, for operators whose order is not defined. */
static em_val sorted(em_arena *a, em_val v)
{
    em_val out, *items = em_array_make(a, v.len, &out);

    memcpy(items, v.u.arr, v.len * sizeof(em_val));
    qsort(items, v.len, sizeof(em_val), cmp_vals);
    return out;
}

#define NJOBS 16

static em_status run_job(em_ctx *ctx, int which, em_arena *a, em_val *out)
{
    em_rdd *nums = em_ctx_range(ctx, 0, 200, 1, 4);
    em_rdd *pairs = em_rdd_map(nums, em_fn_of(key_mod, em_int(7)));
    em_rdd *other = em_rdd_map(em_ctx_range(ctx, 0, 50, 3, 3),
                               em_fn_of(key_mod, em_int(5)));
    em_status st = EM_OK;
    em_val v;
    int64_t n;

    switch (which) {
    case 0:
        return em_rdd_collect(em_rdd_filter(em_rdd_map(nums, EM_FN(times3)),
                                            EM_FN(is_even)),
                              a, out);
    case 1:
        st = em_rdd_collect(em_rdd_reduce_by_key(pairs, EM_FN(em_op_add), 3),
                            a, &v);
        break;
    case 2:
        st = em_rdd_collect(em_rdd_map_values(em_rdd_group_by_key(pairs, 2),
                                              EM_FN(arr_len)),
                            a, &v);
        break;
    case 3:
        st = em_rdd_collect(em_rdd_join(pairs, other, 4), a, &v);
        break;
    case 4: /* order defined */
        return em_rdd_collect(em_rdd_sort_by_key(pairs, false, 3,
                                                 EM_FN(neg)),
                              a, out);
    case 5: {
        em_rdd *three[3] = {pairs, other, pairs};
        st = em_rdd_count(em_rdd_cogroup(three, 3, 5), &n);
        *out = em_int(n);
        return st;
    }
    case 6: {
        em_broadcast *b = em_ctx_broadcast(ctx, em_int(1000));
        st = em_rdd_sum(em_rdd_map(nums, em_fn_of(add_bcast,
                                                  em_broadcast_ref(b))),
                        out);
        return st;
    }
    case 7: {
        em_accum *acc = em_ctx_accumulator(ctx, EM_ACCUM_SUM, em_int(5),
                                           em_nil(), EM_FN_NONE);
        st = em_rdd_foreach(nums, em_fn_of(acc_add, em_accum_ref(acc)));
        if (st == EM_OK)
            st = em_accum_value(acc, a, out);
        return st;
    }
    case 8:
        return em_rdd_top(nums, 5, EM_FN_NONE, a, out);
    case 9:
        return em_rdd_take_ordered(nums, 6, EM_FN(neg), a, out);
    case 10:
        return em_rdd_fold(nums, em_int(0), EM_FN(em_op_add), a, out);
    case 11: {
        em_stats s;
        st = em_rdd_stats(nums, &s);
        *out = em_float(s.mean * 1000 + s.stdev);
        return st;
    }
    case 12:
        return em_rdd_take(em_rdd_repartition(nums, 5), 7, a, out);
    case 13:
        st = em_rdd_count(em_rdd_distinct(em_rdd_keys(pairs), 2), &n);
        *out = em_int(n);
        return st;
    case 14: { /* a cached RDD read by two jobs */
        em_rdd *c = em_rdd_map(nums, EM_FN(times3));
        em_rdd_cache(c);
        st = em_rdd_sum(c, &v);
        if (st == EM_OK)
            st = em_rdd_sum(c, out);
        return st;
    }
    case 15:
        st = em_rdd_count(em_rdd_cartesian(other, other), &n);
        *out = em_int(n);
        return st;
    }
    if (st == EM_OK)
        *out = sorted(a, v);
    return st;
}

static void test_jobs_match_local(void **state)
{
    char dir[256];
    em_arena *a = em_arena_create();

    (void)state;
    em_test_tmpdir(dir, sizeof(dir));
    for (int j = 0; j < NJOBS; j++) {
        em_ctx *local = em_test_ctx("local[2]");
        em_val want, got;
        driver_ctx = em_test_ctx("local[2]");
        exec_ctx = em__exec_ctx_create(2, 64 << 20, dir);
        assert_non_null(exec_ctx);
        exec_ctx->fetch_broadcast = fetch_bcast;
        driver_ctx->remote_stage_run = remote_run;
        remote_tasks = 0;
        EM_CHECK(run_job(local, j, a, &want));
        EM_CHECK(run_job(driver_ctx, j, a, &got));
        if (!em_val_eq(want, got)) {
            char w[512], g[512];
            em_val_format(want, w, sizeof(w));
            em_val_format(got, g, sizeof(g));
            fail_msg("job %d: local %s, remote %s", j, w, g);
        }
        if (remote_tasks == 0)
            fail_msg("job %d ran no remote task", j);
        em_ctx_destroy(driver_ctx);
        em_ctx_destroy(exec_ctx);
        em_ctx_destroy(local);
    }
    em_test_rmtree(dir);
    em_arena_destroy(a);
}

/* A failing user function fails the job with its message. */
static void test_task_failure(void **state)
{
    char dir[256];
    em_arena *a = em_arena_create();
    em_val v;

    (void)state;
    em_test_tmpdir(dir, sizeof(dir));
    driver_ctx = em_test_ctx("local[2]");
    exec_ctx = em__exec_ctx_create(1, 64 << 20, dir);
    driver_ctx->remote_stage_run = remote_run;
    assert_int_equal(em_rdd_collect(em_rdd_map(em_ctx_range(driver_ctx, 0, 20,
                                                            1, 2),
                                               EM_FN(fail_on_13)),
                                    a, &v),
                     EM_EUSER);
    assert_non_null(strstr(em_last_error(), "thirteen is unlucky"));
    em_ctx_destroy(driver_ctx);
    em_ctx_destroy(exec_ctx);
    em_test_rmtree(dir);
    em_arena_destroy(a);
}

/* Malformed stages are refused with an error, never a crash. */
static void test_malformed(void **state)
{
    char dir[256];
    em_arena *a = em_arena_create();
    em_rdd *r;
    em_val stage, *items;
    em__xstage *x;
    em_test_rng rng = {7};

    (void)state;
    em_test_tmpdir(dir, sizeof(dir));
    driver_ctx = em_test_ctx("local[2]");
    exec_ctx = em__exec_ctx_create(1, 64 << 20, dir);
    r = em_rdd_reduce_by_key(em_rdd_map(em_ctx_range(driver_ctx, 0, 20, 1, 2),
                                        em_fn_of(key_mod, em_int(3))),
                             EM_FN(em_op_add), 2);
    EM_CHECK(em__stage_encode(driver_ctx, 1, 1, r, em__shuffle_map_task,
                              em_int(0), a, &stage));
    EM_CHECK(em__stage_decode(exec_ctx, stage, &x));
    em__xstage_free(x);
    /* each field replaced by a wrong value, one at a time (the task's
     * parameters, the checkpoint directory and the serial are any value) */
    for (uint32_t i = 0; i < stage.len; i++) {
        if (i == 4 || i == 8 || i == 9)
            continue;
        em_val bad = stage, *copy = em_array_make(a, stage.len, &bad);
        memcpy(copy, stage.u.arr, stage.len * sizeof(em_val));
        copy[i] = em_test_below(&rng, 2) ? em_cstr("junk") : em_int(-5);
        if (em__stage_decode(exec_ctx, bad, &x) == EM_OK)
            fail_msg("field %u: a wrong value was accepted", i);
    }
    /* a raw address is refused */
    items = (em_val *)stage.u.arr;
    items[3] = em_int(0);
    assert_int_not_equal(em__stage_decode(exec_ctx, stage, &x), EM_OK);
    em_ctx_destroy(driver_ctx);
    em_ctx_destroy(exec_ctx);
    em_test_rmtree(dir);
    em_arena_destroy(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jobs_match_local),
        cmocka_unit_test(test_task_failure),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
