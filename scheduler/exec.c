/* Executor-side task running and driver-side results (see exec.h). */
#include "exec.h"

#include <string.h>

#include "ctx.h"
#include "runtime/arena.h"
#include "runtime/err.h"
#include "runtime/fnref.h"
#include "runtime/mem.h"

em_ctx *em__exec_ctx_create(int cores, int64_t memory_bytes,
                            const char *work_dir)
{
    em_conf c = {0};
    em_ctx *ctx;

    c.master = "local[1]"; /* its one thread idles: tasks arrive by wire */
    c.memory_bytes = memory_bytes;
    c.local_dir = work_dir;
    c.progress = -1;
    if ((ctx = em_ctx_create(&c)) == NULL)
        return NULL;
    ctx->is_executor = true;
    ctx->threads = cores > 0 ? cores : 1;
    return ctx;
}

static void task_fini(em_task *t)
{
    em__arena_destroy(t->acc_arena);
    em__mem_free(t->acc_updates, t->acc_cap * 2 * sizeof(em_val));
}

em_status em__exec_task(em_ctx *ctx, em__xstage *x, int part, int attempt,
                        const em__task_hooks *hooks, em_arena *scratch,
                        em_arena *res, em_val *out)
{
    em_task t;
    em_val *it, value = em_nil();
    em_status st, rst;

    if ((it = em_array_make(res, 5, out)) == NULL)
        return EM_ENOMEM;
    memset(&t, 0, sizeof(t));
    t.ctx = ctx;
    t.job_id = x->job_id;
    t.stage_id = x->id;
    t.partition = part;
    t.attempt = attempt;
    t.scratch = scratch;
    if (hooks != NULL) {
        t.on_block_put = hooks->on_block_put;
        t.find_replica = hooks->find_replica;
        t.hook_data = hooks->data;
        t.barrier = hooks->barrier;
    }
    if (part < 0 || part >= x->root->nparts)
        st = em__err(EM_EPROTO, "stage %d has no partition %d", x->id, part);
    else
        st = x->fn(&t, x->root, part, x->arg, res, &value);
    em__arena_reset(scratch);
    it[0] = em_int(st);
    it[1] = em_nil();
    it[2] = em_nil();
    it[3] = em_array(NULL, 0);
    it[4] = em_nil();
    rst = EM_OK;
    if (st == EM_OK) {
        rst = em__val_export_fns(value, res, &it[2]);
        if (rst == EM_OK)
            rst = em__accum_updates(&t, res, &it[3]);
        if (rst == EM_OK)
            rst = em__val_export_fns(it[3], res, &it[3]);
    } else {
        const char *msg = em_last_error();
        rst = em_str_copy(res, msg, strlen(msg), &it[1]);
        if (st == EM_EFETCH && t.has_fetch_failure) {
            em_val *f = em_array_make(res, 2, &it[4]);
            if (f == NULL)
                rst = EM_ENOMEM;
            else {
                f[0] = em_int(t.fetch_shuffle);
                f[1] = em_int(t.fetch_map);
            }
        }
    }
    task_fini(&t);
    return rst;
}

em_status em__exec_result_apply(em_ctx *ctx, em_val result, em_val *value,
                                int *fetch_shuffle, int *fetch_map)
{
    const em_val *it = result.u.arr;
    em_status st;

    *fetch_shuffle = -1;
    *fetch_map = -1;
    if (result.type != EM_ARRAY || result.len != 5 || it[0].type != EM_INT ||
        it[0].u.i > 0 || it[0].u.i < -1000)
        return em__err(EM_EPROTO, "malformed task result");
    st = (em_status)it[0].u.i;
    if (st != EM_OK) {
        if (it[4].type == EM_ARRAY && it[4].len == 2 &&
            it[4].u.arr[0].type == EM_INT && it[4].u.arr[1].type == EM_INT) {
            *fetch_shuffle = (int)it[4].u.arr[0].u.i;
            *fetch_map = (int)it[4].u.arr[1].u.i;
        }
        if (it[1].type == EM_STR)
            return em__err(st, "%.*s", (int)it[1].len, it[1].u.s);
        return em__err(st, "task failed with %s", em_status_name(st));
    }
    pthread_mutex_lock(&ctx->lock);
    st = em__accums_merge_val(ctx, it[3]);
    pthread_mutex_unlock(&ctx->lock);
    if (st == EM_OK)
        *value = it[2];
    return st;
}
