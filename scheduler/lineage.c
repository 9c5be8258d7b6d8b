/* Stages as values (see lineage.h). */
#include "lineage.h"

#include <string.h>

#include "ctx.h"
#include "shuffle.h"
#include "runtime/arena.h"
#include "runtime/err.h"
#include "runtime/fnref.h"
#include "runtime/mem.h"

/* ---- encoding, on the driver ---- */

typedef struct encoder {
    em_ctx *ctx;
    em_arena *a;
    em_val *nodes;      /* mem.h array */
    size_t nnodes, nodes_cap;
    int *seen;          /* ids of encoded nodes */
    size_t nseen, seen_cap;
    em__shuffle **shuffles;
    size_t nshuffles, shuffles_cap;
} encoder;

static bool was_seen(encoder *e, int id)
{
    for (size_t i = 0; i < e->nseen; i++)
        if (e->seen[i] == id)
            return true;
    return false;
}

static em_status mark_seen(encoder *e, int id)
{
    void *p = e->seen;

    if (em__mem_grow(&p, &e->seen_cap, e->nseen + 1, sizeof(int)) != 0)
        return EM_ENOMEM;
    e->seen = p;
    e->seen[e->nseen++] = id;
    return EM_OK;
}

static em_status push_node(encoder *e, em_val v)
{
    void *p = e->nodes;

    if (em__mem_grow(&p, &e->nodes_cap, e->nnodes + 1, sizeof(em_val)) != 0)
        return EM_ENOMEM;
    e->nodes = p;
    e->nodes[e->nnodes++] = v;
    return EM_OK;
}

static em_status add_shuffle(encoder *e, em__shuffle *s)
{
    void *p = e->shuffles;

    for (size_t i = 0; i < e->nshuffles; i++)
        if (e->shuffles[i] == s)
            return EM_OK;
    if (em__mem_grow(&p, &e->shuffles_cap, e->nshuffles + 1,
                     sizeof(*e->shuffles)) != 0)
        return EM_ENOMEM;
    e->shuffles = p;
    e->shuffles[e->nshuffles++] = s;
    return EM_OK;
}

/* A closure as [ref or nil, exported env]. */
static em_status enc_fn(encoder *e, em_fn f, em_val *out)
{
    em_val *it = em_array_make(e->a, 2, out);
    em_status st;

    if (it == NULL)
        return EM_ENOMEM;
    it[0] = em_nil();
    if (f.call != NULL &&
        (st = em__addr_export(*(const void **)&f.call, e->a, &it[0])) != EM_OK)
        return st;
    return em__val_export_fns(f.env, e->a, &it[1]);
}

static em_status enc_val(encoder *e, em_val v, em_val *out)
{
    return em__val_export_fns(v, e->a, out);
}

/* A node outside the stage: only what its children may ask of it. */
static em_status enc_stub(encoder *e, em_rdd *r)
{
    em_val v, *it;

    if (was_seen(e, r->id))
        return EM_OK;
    if ((it = em_array_make(e->a, 4, &v)) == NULL)
        return EM_ENOMEM;
    it[0] = em_int(r->id);
    it[1] = em_nil();
    it[2] = em_nil();
    it[3] = em_int(r->nparts);
    if (mark_seen(e, r->id) != EM_OK)
        return EM_ENOMEM;
    return push_node(e, v);
}

/* Encodes r and, through narrow dependencies, its ancestors (parents
 * first, so a decoder meets parents before children). */
static em_status enc_node(encoder *e, em_rdd *r)
{
    em_val v, *it, *pids, *sids;
    em_status st;
    int state_shuffle = -1;

    if (was_seen(e, r->id))
        return EM_OK;
    if ((st = mark_seen(e, r->id)) != EM_OK)
        return st;
    for (int i = 0; i < r->nparents; i++) {
        em__shuffle *s = r->shuffles ? r->shuffles[i] : NULL;
        if (s != NULL) {
            if ((st = add_shuffle(e, s)) != EM_OK ||
                (st = enc_stub(e, r->parents[i])) != EM_OK)
                return st;
        } else if ((st = enc_node(e, r->parents[i])) != EM_OK) {
            return st;
        }
    }
    if (r->state != NULL) { /* only shuffled nodes keep state: their shuffle */
        em__shuffle *s = r->state;
        if (em__shuffle_find(e->ctx, s->id) != s)
            return em__err(EM_EINVAL, "RDD %d (%s) has state that cannot be "
                           "sent to an executor", r->id, r->kind->name);
        state_shuffle = s->id;
        if ((st = add_shuffle(e, s)) != EM_OK)
            return st;
    }
    if ((it = em_array_make(e->a, 13, &v)) == NULL ||
        (pids = em_array_make(e->a, (size_t)r->nparents, &it[5])) == NULL ||
        (sids = em_array_make(e->a, (size_t)r->nparents, &it[6])) == NULL)
        return EM_ENOMEM;
    it[0] = em_int(r->id);
    if ((st = em__addr_export(r->kind, e->a, &it[1])) != EM_OK)
        return st;
    it[2] = em_cstr(r->kind->name);
    it[3] = em_int(r->nparts);
    it[4] = em_int(r->dep);
    for (int i = 0; i < r->nparents; i++) {
        em__shuffle *s = r->shuffles ? r->shuffles[i] : NULL;
        pids[i] = em_int(r->parents[i]->id);
        sids[i] = em_int(s ? s->id : -1);
    }
    if ((st = enc_fn(e, r->fn, &it[7])) != EM_OK ||
        (st = enc_fn(e, r->fn2, &it[8])) != EM_OK ||
        (st = enc_val(e, r->arg, &it[9])) != EM_OK)
        return st;
    it[10] = em_int(r->storage);
    it[11] = em_int(state_shuffle);
    it[12] = r->name ? em_cstr(r->name) : em_nil();
    return push_node(e, v);
}

static em_status enc_output(encoder *e, const em__shuffle *s,
                            const em__map_output *o, em_val *out)
{
    em_val *it, *offs, *crcs;
    int R = s->part.n;

    if (o->path == NULL) {
        *out = em_nil();
        return EM_OK;
    }
    if ((it = em_array_make(e->a, 4, out)) == NULL ||
        (offs = em_array_make(e->a, (size_t)R + 1, &it[2])) == NULL ||
        (crcs = em_array_make(e->a, (size_t)R, &it[3])) == NULL)
        return EM_ENOMEM;
    it[0] = o->host ? em_cstr(o->host) : em_nil();
    if (em_str_copy(e->a, o->path, strlen(o->path), &it[1]) != EM_OK)
        return EM_ENOMEM;
    for (int r = 0; r <= R; r++)
        offs[r] = em_int((int64_t)o->offsets[r]);
    for (int r = 0; r < R; r++)
        crcs[r] = em_int(o->crcs[r]);
    return EM_OK;
}

static em_status enc_shuffle(encoder *e, em__shuffle *s, em_val *out)
{
    em_val *it, *outs;
    em_status st = EM_OK;

    if ((it = em_array_make(e->a, 9, out)) == NULL ||
        (outs = em_array_make(e->a, (size_t)s->nmaps, &it[8])) == NULL)
        return EM_ENOMEM;
    it[0] = em_int(s->id);
    it[1] = em_int(s->nmaps);
    it[2] = em_int(s->part.kind);
    it[3] = em_int(s->part.n);
    it[5] = em_bool(s->part.is_desc);
    if ((st = enc_val(e, s->part.bounds, &it[4])) != EM_OK ||
        (st = enc_fn(e, s->part.fn, &it[6])) != EM_OK)
        return st;
    it[7] = em_nil();
    if (s->has_agg) {
        em_val *g = em_array_make(e->a, 5, &it[7]);
        if (g == NULL)
            return EM_ENOMEM;
        if ((st = enc_fn(e, s->agg.create, &g[0])) != EM_OK ||
            (st = enc_val(e, s->agg.zero, &g[1])) != EM_OK ||
            (st = enc_fn(e, s->agg.merge_value, &g[2])) != EM_OK ||
            (st = enc_fn(e, s->agg.merge_combiners, &g[3])) != EM_OK)
            return st;
        g[4] = em_bool(s->agg.map_side_combine);
    }
    pthread_mutex_lock(&s->lock);
    for (int m = 0; m < s->nmaps && st == EM_OK; m++)
        st = enc_output(e, s, &s->outs[m], &outs[m]);
    pthread_mutex_unlock(&s->lock);
    return st;
}

em_status em__stage_encode(em_ctx *ctx, int stage_id, int job_id,
                           em_rdd *rdd, em__task_fn fn, em_val arg,
                           em_arena *a, em_val *out)
{
    encoder e;
    em_val *it, *nodes, *shufs;
    em_status st;

    memset(&e, 0, sizeof(e));
    e.ctx = ctx;
    e.a = a;
    if ((it = em_array_make(a, 10, out)) == NULL)
        return EM_ENOMEM;
    it[0] = em_int(stage_id);
    it[1] = em_int(job_id);
    it[2] = em_int(rdd->id);
    st = em__addr_export(*(const void **)&fn, a, &it[3]);
    if (st == EM_OK)
        st = enc_val(&e, arg, &it[4]);
    if (st == EM_OK && fn == em__shuffle_map_task) { /* the shuffle written */
        em__shuffle *s = em__shuffle_find(ctx, (int)arg.u.i);
        st = s ? add_shuffle(&e, s) : em__err(EM_ESTATE, "no shuffle %lld",
                                              (long long)arg.u.i);
    }
    if (st == EM_OK)
        st = enc_node(&e, rdd);
    if (st == EM_OK && (nodes = em_array_make(a, e.nnodes, &it[5])) == NULL)
        st = EM_ENOMEM;
    if (st == EM_OK) {
        memcpy(nodes, e.nodes, e.nnodes * sizeof(em_val));
        if ((shufs = em_array_make(a, e.nshuffles, &it[6])) == NULL)
            st = EM_ENOMEM;
    }
    for (size_t i = 0; st == EM_OK && i < e.nshuffles; i++)
        st = enc_shuffle(&e, e.shuffles[i], &shufs[i]);
    if (st == EM_OK)
        st = em__accums_encode(ctx, a, &it[7]);
    if (st == EM_OK)
        st = em__val_export_fns(it[7], a, &it[7]);
    if (st == EM_OK) {
        it[8] = ctx->checkpoint_dir ? em_cstr(ctx->checkpoint_dir) : em_nil();
        it[9] = em_int((int64_t)ctx->serial);
    }
    em__mem_free(e.nodes, e.nodes_cap * sizeof(em_val));
    em__mem_free(e.seen, e.seen_cap * sizeof(int));
    em__mem_free(e.shuffles, e.shuffles_cap * sizeof(*e.shuffles));
    return st;
}

/* ---- decoding, in an executor ---- */

/* The kind of a node outside the stage (a shuffle's map side): nothing in
 * the stage computes it. */
static em_status outside_compute(em_rdd *rdd, int part, em_task *t,
                                 em__sink *out)
{
    (void)part;
    (void)t;
    (void)out;
    return em__err(EM_ESTATE, "RDD %d is not part of this stage", rdd->id);
}

static const em__rdd_kind outside_kind = {"outside", outside_compute, NULL};

static em_status bad(const char *what)
{
    return em__err(EM_EPROTO, "malformed stage: %s", what);
}

static bool is_int(em_val v, int64_t lo, int64_t hi)
{
    return v.type == EM_INT && v.u.i >= lo && v.u.i <= hi;
}

static bool is_arr(em_val v, uint32_t n)
{
    return v.type == EM_ARRAY && v.len == n;
}

/* [ref or nil, env] to a closure; env imported into a. */
static em_status dec_fn(em_arena *a, em_val v, em_fn *out)
{
    const void *p;
    em_status st;

    if (!is_arr(v, 2))
        return bad("function");
    out->call = NULL;
    if (v.u.arr[0].type != EM_NIL) {
        if ((st = em__addr_import(v.u.arr[0], &p)) != EM_OK)
            return st;
        *(const void **)&out->call = p;
    }
    return em__val_import_fns(v.u.arr[1], a, &out->env);
}

static em_rdd *find_node(em__xstage *x, int64_t id)
{
    for (int i = 0; i < x->nnodes; i++)
        if (x->nodes[i]->id == id)
            return x->nodes[i];
    return NULL;
}

static em_status dec_node(em_ctx *ctx, em__xstage *x, em_val v)
{
    em_rdd *r;
    const em_val *it = v.u.arr;
    em_status st;
    const void *kind;

    if (v.type != EM_ARRAY || (v.len != 4 && v.len != 13) ||
        !is_int(it[0], 0, INT32_MAX) || !is_int(it[3], 0, INT32_MAX))
        return bad("node");
    if (find_node(x, it[0].u.i) != NULL)
        return bad("a node twice");
    if ((r = em__arena_alloc(x->arena, sizeof(*r), 8)) == NULL)
        return EM_ENOMEM;
    memset(r, 0, sizeof(*r));
    r->ctx = ctx;
    r->id = (int)it[0].u.i;
    r->nparts = (int)it[3].u.i;
    r->arena = x->arena;
    r->blocks = ctx->blocks;
    x->nodes[x->nnodes++] = r;
    if (v.len == 4) { /* outside the stage: computing it is an error */
        r->kind = &outside_kind;
        return EM_OK;
    }
    if (it[2].type != EM_STR || !is_int(it[4], 0, 1) ||
        it[5].type != EM_ARRAY || !is_arr(it[6], it[5].len) ||
        !is_int(it[10], 0, EM_DISK_ONLY_2) || !is_int(it[11], -1, INT32_MAX))
        return bad("node fields");
    if ((st = em__addr_import(it[1], &kind)) != EM_OK)
        return st;
    r->kind = kind;
    if (strlen(r->kind->name) != it[2].len ||
        memcmp(r->kind->name, it[2].u.s, it[2].len) != 0)
        return em__err(EM_EPROTO, "RDD %d: its kind is %.*s on the driver "
                       "and %s here: driver and executor run different "
                       "programs", r->id, (int)it[2].len, it[2].u.s,
                       r->kind->name);
    r->dep = (em__dep)it[4].u.i;
    r->nparents = (int)it[5].len;
    if (r->nparents > 0) {
        r->parents = em__arena_alloc(x->arena,
                                     (size_t)r->nparents * sizeof(em_rdd *),
                                     8);
        r->shuffles = em__arena_alloc(x->arena, (size_t)r->nparents *
                                                    sizeof(em__shuffle *), 8);
        if (r->parents == NULL || r->shuffles == NULL)
            return EM_ENOMEM;
    }
    for (int i = 0; i < r->nparents; i++) {
        const em_val *sid = &it[6].u.arr[i];
        if (it[5].u.arr[i].type != EM_INT ||
            (r->parents[i] = find_node(x, it[5].u.arr[i].u.i)) == NULL)
            return bad("a parent that comes later");
        r->shuffles[i] = NULL;
        if (!is_int(*sid, -1, INT32_MAX))
            return bad("shuffle id");
        if (sid->u.i >= 0 &&
            (r->shuffles[i] = em__shuffle_find(ctx, (int)sid->u.i)) == NULL)
            return bad("an unknown shuffle");
    }
    if ((st = dec_fn(x->arena, it[7], &r->fn)) != EM_OK ||
        (st = dec_fn(x->arena, it[8], &r->fn2)) != EM_OK ||
        (st = em__val_import_fns(it[9], x->arena, &r->arg)) != EM_OK)
        return st;
    r->storage = (em_storage)it[10].u.i;
    if (it[11].u.i >= 0 &&
        (r->state = em__shuffle_find(ctx, (int)it[11].u.i)) == NULL)
        return bad("an unknown shuffle");
    return EM_OK;
}

static em_status dec_outputs(em__shuffle *s, em_val outs)
{
    em_status st = EM_OK;

    if (!is_arr(outs, (uint32_t)s->nmaps))
        return bad("map outputs");
    for (int m = 0; m < s->nmaps && st == EM_OK; m++) {
        const em_val *o = &outs.u.arr[m];
        char host[256];
        if (o->type == EM_NIL)
            continue;
        if (!is_arr(*o, 4) || o->u.arr[0].type != EM_STR ||
            o->u.arr[0].len >= sizeof(host))
            return bad("map output");
        memcpy(host, o->u.arr[0].u.s, o->u.arr[0].len);
        host[o->u.arr[0].len] = '\0';
        st = em__shuffle_register(s, m, host, em_array(o->u.arr + 1, 3));
    }
    return st;
}

static em_status dec_shuffle(em_ctx *ctx, em_arena *a, em_val v)
{
    const em_val *it = v.u.arr;
    em__partitioner p;
    em__aggregator agg;
    em__shuffle *s;
    em_status st;

    if (!is_arr(v, 9) || !is_int(it[0], 0, INT32_MAX) ||
        !is_int(it[1], 0, INT32_MAX) ||
        !is_int(it[2], EM__PART_HASH, EM__PART_USER) ||
        !is_int(it[3], 1, INT32_MAX) || it[5].type != EM_BOOL)
        return bad("shuffle");
    memset(&p, 0, sizeof(p));
    p.kind = (em__part_kind)it[2].u.i;
    p.n = (int)it[3].u.i;
    p.is_desc = it[5].u.b;
    if ((st = em__val_import_fns(it[4], a, &p.bounds)) != EM_OK ||
        (st = dec_fn(a, it[6], &p.fn)) != EM_OK)
        return st;
    if (p.kind == EM__PART_RANGE &&
        (p.bounds.type != EM_ARRAY || p.bounds.len + 1 != (uint32_t)p.n))
        return bad("range bounds");
    if (p.kind == EM__PART_USER && p.fn.call == NULL)
        return bad("partitioner");
    if (it[7].type != EM_NIL) {
        const em_val *g = it[7].u.arr;
        if (!is_arr(it[7], 5) || g[4].type != EM_BOOL)
            return bad("aggregator");
        if ((st = dec_fn(a, g[0], &agg.create)) != EM_OK ||
            (st = em__val_import_fns(g[1], a, &agg.zero)) != EM_OK ||
            (st = dec_fn(a, g[2], &agg.merge_value)) != EM_OK ||
            (st = dec_fn(a, g[3], &agg.merge_combiners)) != EM_OK)
            return st;
        agg.map_side_combine = g[4].u.b;
    }
    s = em__shuffle_define(ctx, (int)it[0].u.i, (int)it[1].u.i, &p,
                           it[7].type != EM_NIL ? &agg : NULL);
    if (s == NULL)
        return EM_ENOMEM;
    if (s->nmaps != it[1].u.i || s->part.n != p.n)
        return bad("a shuffle redefined");
    return dec_outputs(s, it[8]);
}

static em_status dec_accums(em_ctx *ctx, em_arena *a, em_val v)
{
    em_status st = EM_OK;

    if (v.type != EM_ARRAY)
        return bad("accumulators");
    for (uint32_t i = 0; i < v.len && st == EM_OK; i++) {
        const em_val *f = v.u.arr[i].u.arr;
        em_fn merge;
        em_val zero;
        if (!is_arr(v.u.arr[i], 4) || !is_int(f[0], 1, INT32_MAX) ||
            !is_int(f[1], 0, 16))
            return bad("accumulator");
        if ((st = dec_fn(a, f[3], &merge)) != EM_OK ||
            (st = em__val_import_fns(f[2], a, &zero)) != EM_OK)
            return st;
        st = em__accum_define(ctx, (int)f[0].u.i, (int)f[1].u.i, zero, merge);
    }
    return st;
}

em_status em__stage_decode(em_ctx *ctx, em_val v, em__xstage **out)
{
    const em_val *it = v.u.arr;
    em__xstage *x;
    em_status st = EM_OK;
    const void *fn;

    if (!is_arr(v, 10) || !is_int(it[0], 0, INT32_MAX) ||
        !is_int(it[1], 0, INT32_MAX) || !is_int(it[2], 0, INT32_MAX) ||
        it[5].type != EM_ARRAY || it[6].type != EM_ARRAY ||
        (it[8].type != EM_NIL && it[8].type != EM_STR) ||
        it[9].type != EM_INT)
        return bad("header");
    if ((x = em__mem_calloc(1, sizeof(*x))) == NULL)
        return EM_ENOMEM;
    x->id = (int)it[0].u.i;
    x->job_id = (int)it[1].u.i;
    if ((x->arena = em__arena_create(0)) == NULL ||
        (x->nodes = em__arena_alloc(x->arena, (it[5].len + 1) *
                                                  sizeof(em_rdd *), 8)) ==
            NULL) {
        em__xstage_free(x);
        return EM_ENOMEM;
    }
    ctx->serial = (uint64_t)it[9].u.i;
    if (it[8].type == EM_STR && ctx->checkpoint_dir == NULL) {
        ctx->checkpoint_dir = em__mem_alloc(it[8].len + 1);
        if (ctx->checkpoint_dir == NULL)
            st = EM_ENOMEM;
        else {
            memcpy(ctx->checkpoint_dir, it[8].u.s, it[8].len);
            ctx->checkpoint_dir[it[8].len] = '\0';
        }
    }
    for (uint32_t i = 0; st == EM_OK && i < it[6].len; i++)
        st = dec_shuffle(ctx, x->arena, it[6].u.arr[i]);
    for (uint32_t i = 0; st == EM_OK && i < it[5].len; i++)
        st = dec_node(ctx, x, it[5].u.arr[i]);
    if (st == EM_OK)
        st = dec_accums(ctx, x->arena, it[7]);
    if (st == EM_OK && (x->root = find_node(x, it[2].u.i)) == NULL)
        st = bad("no root");
    if (st == EM_OK && x->root->kind == &outside_kind)
        st = bad("the root is outside the stage");
    if (st == EM_OK && (st = em__addr_import(it[3], &fn)) == EM_OK)
        *(const void **)&x->fn = fn;
    if (st == EM_OK)
        st = em__val_import_fns(it[4], x->arena, &x->arg);
    if (st != EM_OK) {
        em__xstage_free(x);
        return st;
    }
    *out = x;
    return EM_OK;
}

void em__xstage_free(em__xstage *x)
{
    if (x == NULL)
        return;
    em__arena_destroy(x->arena);
    em__mem_free(x, sizeof(*x));
}
