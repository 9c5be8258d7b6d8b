/* Shared variables (include/ember.h): broadcast values, encoded once and
 * shared read-only by every task of the process, and accumulators, whose
 * tasks add to private copies that are merged at the driver when the task
 * succeeds, so a retried task counts once.
 */
#include <stdio.h>
#include <string.h>

#include "ctx.h"
#include "job.h"
#include "runtime/arena.h"
#include "runtime/buf.h"
#include "runtime/codec.h"
#include "runtime/err.h"
#include "runtime/fnref.h"
#include "runtime/mem.h"
#include "runtime/num.h"

/* Handle kinds of the references tasks capture. */
enum { KIND_BCAST_REF = 1, KIND_ACCUM_REF = 2 };

struct em_broadcast {
    em_ctx *ctx;
    int id;            /* 1-based */
    em__buf enc;       /* the encoding, made once */
    em_arena *arena;   /* the decoded value and the reference */
    em_val value;      /* decoded, shared read-only */
    em_val ref;        /* the handle tasks capture */
};

struct em_accum {
    em_ctx *ctx;
    int id;             /* 1-based */
    em_accum_kind kind;
    em_arena *arena;    /* zero, merge env, ref */
    em_arena *val_arena; /* the value alone, replaced on every update */
    em_val value;
    em_val zero;
    em_fn merge;
    em_val ref;
};

/* A reference's state: the owning context's serial, then the id. */
static em_status make_ref(em_ctx *ctx, em_arena *a, uint16_t kind, int id,
                          em_val *out)
{
    int64_t *state = em__arena_alloc(a, 2 * sizeof(*state), 8);

    if (state == NULL)
        return EM_ENOMEM;
    state[0] = (int64_t)ctx->serial;
    state[1] = id;
    memset(out, 0, sizeof(*out));
    out->type = EM_HANDLE;
    out->kind = kind;
    out->len = 2 * sizeof(*state);
    out->u.state = state;
    return EM_OK;
}

/* The id of a reference of this kind made by ctx, or -1. */
static int ref_id(const em_ctx *ctx, em_val ref, uint16_t kind)
{
    int64_t state[2];

    if (ref.type != EM_HANDLE || ref.kind != kind ||
        ref.len != sizeof(state))
        return -1;
    memcpy(state, ref.u.state, sizeof(state));
    if ((uint64_t)state[0] != ctx->serial)
        return -1;
    return (int)state[1];
}

static void bcast_free(em_broadcast *b)
{
    em__buf_fini(&b->enc);
    em__arena_destroy(b->arena);
    em__mem_free(b, sizeof(*b));
}

em_broadcast *em_ctx_broadcast(em_ctx *ctx, em_val v)
{
    em_broadcast *b = em__mem_calloc(1, sizeof(*b));
    em_status st;

    if (b == NULL)
        return NULL;
    b->ctx = ctx;
    b->arena = em__arena_create(0);
    if (b->arena == NULL)
        goto out_free;
    st = em__codec_encode(&b->enc, v);
    if (st == EM_OK)
        st = em__codec_decode(b->enc.data, b->enc.len, NULL, b->arena,
                              &b->value, NULL);
    if (st != EM_OK)
        goto out_free;
    pthread_mutex_lock(&ctx->lock);
    if (em__mem_grow((void **)&ctx->bcasts, &ctx->bcasts_cap,
                     ctx->nbcasts + 1, sizeof(*ctx->bcasts)) != 0) {
        pthread_mutex_unlock(&ctx->lock);
        goto out_free;
    }
    b->id = (int)++ctx->nbcasts;
    ctx->bcasts[b->id - 1] = b;
    pthread_mutex_unlock(&ctx->lock);
    if (make_ref(ctx, b->arena, KIND_BCAST_REF, b->id, &b->ref) != EM_OK) {
        em_broadcast_destroy(b);
        return NULL;
    }
    return b;
out_free:
    bcast_free(b);
    return NULL;
}

em_val em_broadcast_ref(const em_broadcast *b)
{
    return b->ref;
}

em_status em_broadcast_value(const em_broadcast *b, em_val *out)
{
    *out = b->value;
    return EM_OK;
}

/* In an executor: fetches broadcast id from the driver once, keeps it in
 * the context's table, and returns its value. Tasks that ask at the same
 * time may both fetch; the first stored wins. */
static em_status fetch_broadcast(em_ctx *ctx, int id, em_val *out)
{
    em_broadcast *b = em__mem_calloc(1, sizeof(*b));
    em_status st;

    if (b == NULL)
        return EM_ENOMEM;
    b->ctx = ctx;
    b->id = id;
    if ((b->arena = em__arena_create(0)) == NULL) {
        bcast_free(b);
        return EM_ENOMEM;
    }
    st = ctx->fetch_broadcast(ctx, id, &b->enc);
    if (st == EM_OK)
        st = em__codec_decode(b->enc.data, b->enc.len, NULL, b->arena,
                              &b->value, NULL);
    if (st != EM_OK) {
        bcast_free(b);
        return st;
    }
    pthread_mutex_lock(&ctx->lock);
    if ((size_t)id > ctx->nbcasts) {
        if (em__mem_grow((void **)&ctx->bcasts, &ctx->bcasts_cap, (size_t)id,
                         sizeof(*ctx->bcasts)) != 0) {
            pthread_mutex_unlock(&ctx->lock);
            bcast_free(b);
            return EM_ENOMEM;
        }
        for (size_t i = ctx->nbcasts; i < (size_t)id; i++)
            ctx->bcasts[i] = NULL;
        ctx->nbcasts = (size_t)id;
    }
    if (ctx->bcasts[id - 1] == NULL) {
        ctx->bcasts[id - 1] = b;
    } else {
        bcast_free(b);
        b = ctx->bcasts[id - 1];
    }
    *out = b->value;
    pthread_mutex_unlock(&ctx->lock);
    return EM_OK;
}

em_status em__broadcast_bytes(em_ctx *ctx, int id, const void **data,
                              size_t *len)
{
    em_status st = EM_OK;

    pthread_mutex_lock(&ctx->lock);
    if (id < 1 || (size_t)id > ctx->nbcasts || ctx->bcasts[id - 1] == NULL)
        st = em__err(EM_ESTATE, "broadcast %d was destroyed", id);
    else {
        *data = ctx->bcasts[id - 1]->enc.data;
        *len = ctx->bcasts[id - 1]->enc.len;
    }
    pthread_mutex_unlock(&ctx->lock);
    return st;
}

em_status em_task_broadcast(em_task *t, em_val ref, em_val *out)
{
    em_ctx *ctx = t->ctx;
    int id = ref_id(ctx, ref, KIND_BCAST_REF);
    em_broadcast *b = NULL;

    if (id < 1)
        return em__err(EM_EINVAL, "not a broadcast reference of this "
                       "context");
    pthread_mutex_lock(&ctx->lock);
    if ((size_t)id <= ctx->nbcasts)
        b = ctx->bcasts[id - 1];
    pthread_mutex_unlock(&ctx->lock);
    if (b == NULL && ctx->fetch_broadcast != NULL)
        return fetch_broadcast(ctx, id, out);
    if (b == NULL)
        return em__err(EM_ESTATE, "broadcast %d was destroyed", id);
    *out = b->value;
    return EM_OK;
}

void em_broadcast_destroy(em_broadcast *b)
{
    if (b == NULL)
        return;
    pthread_mutex_lock(&b->ctx->lock);
    if (b->id > 0)
        b->ctx->bcasts[b->id - 1] = NULL;
    pthread_mutex_unlock(&b->ctx->lock);
    bcast_free(b);
}

/* ---- accumulators ---- */

/* Replaces the value with a copy of v in a fresh arena, so updates do
 * not accumulate garbage. Called with the context lock held or before the
 * accumulator is shared. */
static em_status accum_store(em_accum *acc, em_val v)
{
    em_arena *fresh = em__arena_create(256);
    em_val c;

    if (fresh == NULL)
        return EM_ENOMEM;
    if (em_val_copy(fresh, v, &c) != EM_OK) {
        em__arena_destroy(fresh);
        return EM_ENOMEM;
    }
    em__arena_destroy(acc->val_arena);
    acc->val_arena = fresh;
    acc->value = c;
    return EM_OK;
}

static void accum_free(em_accum *a)
{
    em__arena_destroy(a->val_arena);
    em__arena_destroy(a->arena);
    em__mem_free(a, sizeof(*a));
}

em_accum *em_ctx_accumulator(em_ctx *ctx, em_accum_kind kind, em_val initial,
                             em_val zero, em_fn merge)
{
    em_accum *a;

    if (kind == EM_ACCUM_USER && merge.call == NULL) {
        em__err(EM_EINVAL, "a user-defined accumulator needs a merge "
                "function");
        return NULL;
    }
    if ((a = em__mem_calloc(1, sizeof(*a))) == NULL)
        return NULL;
    a->ctx = ctx;
    a->kind = kind;
    a->arena = em__arena_create(0);
    if (a->arena == NULL || accum_store(a, initial) ||
        em_val_copy(a->arena, zero, &a->zero) ||
        em_val_copy(a->arena, merge.env, &a->merge.env))
        goto out_free;
    a->merge.call = merge.call;
    if (kind == EM_ACCUM_SUM && a->zero.type == EM_NIL)
        a->zero = em_int(0);
    pthread_mutex_lock(&ctx->lock);
    if (em__mem_grow((void **)&ctx->accums, &ctx->accums_cap,
                     ctx->naccums + 1, sizeof(*ctx->accums)) != 0) {
        pthread_mutex_unlock(&ctx->lock);
        goto out_free;
    }
    a->id = (int)++ctx->naccums;
    ctx->accums[a->id - 1] = a;
    pthread_mutex_unlock(&ctx->lock);
    if (make_ref(ctx, a->arena, KIND_ACCUM_REF, a->id, &a->ref) != EM_OK)
        return NULL; /* freed with the context */
    return a;
out_free:
    accum_free(a);
    return NULL;
}

em_val em_accum_ref(const em_accum *acc)
{
    return acc->ref;
}

/* a combined with b by the accumulator's rule; the result may point into
 * a, b or t's scratch. */
static em_status combine(em_accum *acc, em_task *t, em_val a, em_val b,
                         em_val *out)
{
    em_val args[2] = {a, b};

    switch (acc->kind) {
    case EM_ACCUM_SUM:
        return em__num_add(a, b, out);
    case EM_ACCUM_MAX:
        *out = a.type == EM_NIL || em_val_cmp(b, a) > 0 ? b : a;
        return EM_OK;
    case EM_ACCUM_MIN:
        *out = a.type == EM_NIL || em_val_cmp(b, a) < 0 ? b : a;
        return EM_OK;
    default:
        return em__fn_call(t, &acc->merge, args, 2, out);
    }
}

static em_accum *accum_lookup(em_ctx *ctx, em_val ref)
{
    int id = ref_id(ctx, ref, KIND_ACCUM_REF);
    em_accum *a = NULL;

    pthread_mutex_lock(&ctx->lock);
    if (id >= 1 && (size_t)id <= ctx->naccums)
        a = ctx->accums[id - 1];
    pthread_mutex_unlock(&ctx->lock);
    return a;
}

em_status em_task_accum_add(em_task *t, em_val ref, em_val v)
{
    em_accum *acc = accum_lookup(t->ctx, ref);
    em_val *ups, cur, sum;
    size_t i;
    em_status st;

    if (acc == NULL)
        return em__err(EM_EINVAL, "not an accumulator reference of this "
                       "context");
    if (t->acc_arena == NULL && (t->acc_arena = em__arena_create(0)) == NULL)
        return EM_ENOMEM;
    ups = t->acc_updates;
    for (i = 0; i < t->acc_n; i++) {
        if (ups[2 * i].u.i == acc->id)
            break;
    }
    if (i == t->acc_n) {
        void *p = t->acc_updates;
        if (em__mem_grow(&p, &t->acc_cap, t->acc_n + 1, 2 * sizeof(em_val)))
            return EM_ENOMEM;
        t->acc_updates = ups = p;
        ups[2 * i] = em_int(acc->id);
        ups[2 * i + 1] = acc->kind == EM_ACCUM_SUM || acc->kind ==
                         EM_ACCUM_USER ? acc->zero : em_nil();
        t->acc_n++;
    }
    cur = ups[2 * i + 1];
    st = combine(acc, t, cur, v, &sum);
    if (st == EM_OK)
        st = em_val_copy(t->acc_arena, sum, &ups[2 * i + 1]);
    return st;
}

em_status em__accums_merge(em_ctx *ctx, em_task *t)
{
    em_val *ups = t->acc_updates, sum;
    em_task drv;
    em_status st = EM_OK;

    if (t->acc_n == 0)
        return EM_OK;
    memset(&drv, 0, sizeof(drv));
    drv.ctx = ctx;
    drv.scratch = em__arena_create(0);
    if (drv.scratch == NULL)
        return EM_ENOMEM;
    for (size_t i = 0; i < t->acc_n && st == EM_OK; i++) {
        em_accum *acc = ctx->accums[ups[2 * i].u.i - 1];
        if (acc == NULL || ups[2 * i + 1].type == EM_NIL)
            continue;
        st = combine(acc, &drv, acc->value, ups[2 * i + 1], &sum);
        if (st == EM_OK)
            st = accum_store(acc, sum);
    }
    em__arena_destroy(drv.scratch);
    return st;
}

em_status em__accums_encode(em_ctx *ctx, em_arena *a, em_val *out)
{
    em_val *items;
    size_t n = 0, k = 0;
    em_status st = EM_OK;

    pthread_mutex_lock(&ctx->lock);
    for (size_t i = 0; i < ctx->naccums; i++)
        n += ctx->accums[i] != NULL;
    if ((items = em_array_make(a, n, out)) == NULL)
        st = EM_ENOMEM;
    for (size_t i = 0; st == EM_OK && i < ctx->naccums; i++) {
        em_accum *acc = ctx->accums[i];
        em_val *f;
        if (acc == NULL)
            continue;
        if ((f = em_array_make(a, 4, &items[k++])) == NULL) {
            st = EM_ENOMEM;
            break;
        }
        f[0] = em_int(acc->id);
        f[1] = em_int(acc->kind);
        f[2] = acc->zero;
        st = em__fn_pack(a, acc->merge, &f[3]);
    }
    pthread_mutex_unlock(&ctx->lock);
    return st;
}

em_status em__accum_define(em_ctx *ctx, int id, int kind, em_val zero,
                           em_fn merge)
{
    em_accum *a;
    em_status st = EM_OK;

    if (id < 1 || id > (1 << 24) || kind < EM_ACCUM_SUM ||
        kind > EM_ACCUM_USER || (kind == EM_ACCUM_USER && merge.call == NULL))
        return em__err(EM_EPROTO, "malformed accumulator %d", id);
    pthread_mutex_lock(&ctx->lock);
    if ((size_t)id <= ctx->naccums && ctx->accums[id - 1] != NULL)
        goto out; /* defined by an earlier stage */
    if ((size_t)id > ctx->naccums) {
        if (em__mem_grow((void **)&ctx->accums, &ctx->accums_cap, (size_t)id,
                         sizeof(*ctx->accums)) != 0) {
            st = EM_ENOMEM;
            goto out;
        }
        for (size_t i = ctx->naccums; i < (size_t)id; i++)
            ctx->accums[i] = NULL;
        ctx->naccums = (size_t)id;
    }
    if ((a = em__mem_calloc(1, sizeof(*a))) == NULL) {
        st = EM_ENOMEM;
        goto out;
    }
    a->ctx = ctx;
    a->id = id;
    a->kind = (em_accum_kind)kind;
    a->arena = em__arena_create(0);
    if (a->arena == NULL || em_val_copy(a->arena, zero, &a->zero) ||
        em_val_copy(a->arena, merge.env, &a->merge.env) ||
        make_ref(ctx, a->arena, KIND_ACCUM_REF, id, &a->ref)) {
        accum_free(a);
        st = EM_ENOMEM;
        goto out;
    }
    a->merge.call = merge.call;
    ctx->accums[id - 1] = a;
out:
    pthread_mutex_unlock(&ctx->lock);
    return st;
}

em_status em__accum_updates(em_task *t, em_arena *a, em_val *out)
{
    em_val *items = em_array_make(a, 2 * t->acc_n, out);
    const em_val *ups = t->acc_updates;

    if (items == NULL)
        return EM_ENOMEM;
    for (size_t i = 0; i < 2 * t->acc_n; i++) {
        em_status st = em_val_copy(a, ups[i], &items[i]);
        if (st != EM_OK)
            return st;
    }
    return EM_OK;
}

em_status em__accums_merge_val(em_ctx *ctx, em_val updates)
{
    em_task t;

    if (updates.type != EM_ARRAY || updates.len % 2 != 0)
        return em__err(EM_EPROTO, "malformed accumulator updates");
    for (uint32_t i = 0; i < updates.len; i += 2) {
        const em_val *id = &updates.u.arr[i];
        if (id->type != EM_INT || id->u.i < 1 ||
            (size_t)id->u.i > ctx->naccums)
            return em__err(EM_EPROTO, "update of an unknown accumulator");
    }
    memset(&t, 0, sizeof(t));
    t.acc_updates = (void *)updates.u.arr;
    t.acc_n = updates.len / 2;
    return em__accums_merge(ctx, &t);
}

em_status em_accum_value(em_accum *acc, em_arena *a, em_val *out)
{
    em_val v;
    em_status st;

    if (acc->ctx->is_executor || em__pool_is_task_thread(acc->ctx->pool))
        return em__err(EM_ESTATE, "accumulator %d: its value can only be "
                       "read on the driver, not inside a task", acc->id);
    pthread_mutex_lock(&acc->ctx->lock);
    st = em_val_copy(a, acc->value, &v);
    pthread_mutex_unlock(&acc->ctx->lock);
    if (st == EM_OK)
        *out = v;
    return st;
}

em_status em_accum_set(em_accum *acc, em_val v)
{
    em_status st;

    if (acc->ctx->is_executor || em__pool_is_task_thread(acc->ctx->pool))
        return em__err(EM_ESTATE, "accumulator %d: its value can only be "
                       "set on the driver", acc->id);
    pthread_mutex_lock(&acc->ctx->lock);
    st = accum_store(acc, v);
    pthread_mutex_unlock(&acc->ctx->lock);
    return st;
}

void em__shared_vars_free(em_ctx *ctx)
{
    for (size_t i = 0; i < ctx->nbcasts; i++) {
        if (ctx->bcasts[i] != NULL)
            bcast_free(ctx->bcasts[i]);
    }
    em__mem_free(ctx->bcasts, ctx->bcasts_cap * sizeof(*ctx->bcasts));
    for (size_t i = 0; i < ctx->naccums; i++)
        accum_free(ctx->accums[i]);
    em__mem_free(ctx->accums, ctx->accums_cap * sizeof(*ctx->accums));
}
