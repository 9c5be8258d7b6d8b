/* Nodes on the reduce side of a shuffle: plain (partitionBy,
 * repartition), combining (combineByKey and its family), grouping
 * (groupByKey, cogroup) and sorting (sortByKey). Each reads its partition's
 * segments from every map output (scheduler/shuffle.h).
 */
#include <stdlib.h>
#include <string.h>

#include "shuffled.h"
#include "runtime/arena.h"
#include "runtime/err.h"
#include "runtime/mem.h"
#include "runtime/vmap.h"
#include "runtime/xsort.h"

/* The node's own copy of its partitioner (bounds in the node's arena). */
static em_status set_partitioner(em_rdd *r, const em__partitioner *p)
{
    em__partitioner *copy = em__arena_alloc(r->arena, sizeof(*copy), 16);
    em_status st;

    if (copy == NULL)
        return EM_ENOMEM;
    *copy = *p;
    if ((st = em_val_copy(r->arena, p->bounds, &copy->bounds)) != EM_OK)
        return st;
    if ((st = em_val_copy(r->arena, p->fn.env, &copy->fn.env)) != EM_OK)
        return st;
    r->partitioner = copy;
    return EM_OK;
}

em_rdd *em__shuffled_new(em_rdd *parent, const em__rdd_kind *kind,
                         const em__partitioner *p, const em__aggregator *agg)
{
    em__aggregator a;
    em__shuffle *s;
    em_rdd *r;

    EM__NEED_RDD(parent);
    r = em__rdd_new(parent->ctx, kind, p->n, &parent, 1, EM__DEP_SHUFFLE);
    if (r == NULL || set_partitioner(r, p))
        return NULL;
    if (agg != NULL) {
        a = *agg;
        if (em__rdd_set_fn(r, agg->create, &a.create) ||
            em__rdd_set_fn(r, agg->merge_value, &a.merge_value) ||
            em__rdd_set_fn(r, agg->merge_combiners, &a.merge_combiners) ||
            em_val_copy(r->arena, agg->zero, &a.zero))
            return NULL;
    }
    r->shuffles = em__arena_alloc(r->arena, sizeof(*r->shuffles), 8);
    if (r->shuffles == NULL)
        return NULL;
    s = em__shuffle_new(parent, r->partitioner, agg ? &a : NULL);
    if (s == NULL)
        return NULL;
    r->shuffles[0] = s;
    r->state = s;
    return r;
}

int em__default_partitions(em_ctx *ctx, em_rdd *const *rdds, size_t n,
                           int requested)
{
    int most = 1;

    if (requested > 0)
        return requested;
    if (ctx->has_default_parallelism)
        return ctx->default_parallelism;
    for (size_t i = 0; i < n; i++)
        if (rdds[i] != NULL && rdds[i]->nparts > most)
            most = rdds[i]->nparts;
    return most;
}

/* ---- plain ---- */

static em_status plain_compute(em_rdd *rdd, int part, em_task *t,
                               em__sink *out)
{
    return em__shuffle_read(rdd->state, part, t, out);
}

const em__rdd_kind em__plain_shuffled_kind = {"shuffled", plain_compute,
                                              NULL};

/* ---- combining ---- */

/* Spilled entries are [hash, key, value] ordered by hash, then key, so
 * equal keys from different runs meet. */
static int by_hash_key(em_val a, em_val b, void *arg)
{
    int64_t ha = a.u.arr[0].u.i, hb = b.u.arr[0].u.i;

    (void)arg;
    if (ha != hb)
        return ha < hb ? -1 : 1;
    return em_val_cmp(a.u.arr[1], b.u.arr[1]);
}

typedef struct combine_sink {
    em__sink base;
    const em__shuffle *s;
    em__vmap map;
    int64_t budget;      /* bytes of table before spilling */
    em__xsort x;         /* spilled tables */
    bool has_spilled;
    const char *dir;
} combine_sink;

/* Moves the table's entries into the sorter as one sorted run. */
static em_status spill_table(combine_sink *cs, bool is_final)
{
    em_status st = EM_OK;

    if (!cs->has_spilled) {
        st = em__xsort_init(&cs->x, INT64_MAX, cs->dir, by_hash_key, NULL);
        if (st != EM_OK)
            return st;
        cs->has_spilled = true;
    }
    for (size_t i = 0; i < cs->map.cap && st == EM_OK; i++) {
        em__vmap_slot *sl = &cs->map.slots[i];
        em_val item[3];
        if (sl->hash == 0)
            continue;
        item[0] = em_int((int64_t)(sl->hash >> 1));
        item[1] = sl->key;
        item[2] = sl->val;
        st = em__xsort_add(&cs->x, em_array(item, 3));
    }
    if (st == EM_OK && !is_final)
        st = em__xsort_spill(&cs->x);
    em__vmap_fini(&cs->map);
    if (st == EM_OK && !is_final)
        st = em__vmap_init(&cs->map);
    return st;
}

static em_status combine_push(em__sink *base, em_task *t, em_val rec)
{
    combine_sink *cs = (combine_sink *)base;
    const em__aggregator *agg = &cs->s->agg;
    em_val args[2], c;
    em_val *slot;
    bool is_new;
    em_status st;

    slot = em__vmap_upsert(&cs->map, rec.u.arr[0], &is_new);
    if (slot == NULL)
        return EM_ENOMEM;
    args[0] = *slot;
    args[1] = rec.u.arr[1];
    if (agg->map_side_combine) /* values are combiners already */
        st = is_new ? (c = args[1], EM_OK)
                    : em__fn_call(t, &agg->merge_combiners, args, 2, &c);
    else if (is_new)
        st = em__agg_create(agg, t, args[1], &c);
    else
        st = em__fn_call(t, &agg->merge_value, args, 2, &c);
    if (st == EM_OK)
        st = em_val_copy(cs->map.arena, c, slot);
    if (st == EM_OK && (int64_t)em__vmap_bytes(&cs->map) > cs->budget)
        st = spill_table(cs, false);
    return st;
}

/* Pushes (key, value) for every slot of a table. */
static em_status push_table(const em__vmap *m, em_task *t, em__sink *out)
{
    for (size_t i = 0; i < m->cap; i++) {
        em__arena_mark mk;
        em_val pair;
        em_status st;
        if (m->slots[i].hash == 0)
            continue;
        mk = em__arena_mark_get(t->scratch);
        st = em_pair_make(t->scratch, m->slots[i].key, m->slots[i].val,
                          &pair);
        if (st == EM_OK)
            st = em__sink_push(out, t, pair);
        em__arena_rewind(t->scratch, mk);
        if (st != EM_OK)
            return st;
    }
    return EM_OK;
}

/* Merging spilled entries in order: equal keys are adjacent. */
typedef struct merger {
    em_task *t;
    const em_fn *merge;        /* combines two values of one key */
    em__sink *out;
    em_arena *cur, *spare;     /* the pending entry lives in cur */
    em_val key, val;
    bool has;
} merger;

static em_status merger_flush(merger *m)
{
    em__arena_mark mk = em__arena_mark_get(m->t->scratch);
    em_val pair;
    em_status st;

    if (!m->has)
        return EM_OK;
    st = em_pair_make(m->t->scratch, m->key, m->val, &pair);
    if (st == EM_OK)
        st = em__sink_push(m->out, m->t, pair);
    em__arena_rewind(m->t->scratch, mk);
    m->has = false;
    return st;
}

static em_status merger_add(em_val item, void *arg)
{
    merger *m = arg;
    em_val k = item.u.arr[1], v = item.u.arr[2], args[2], r;
    em_arena *tmp;
    em_status st;

    if (m->has && em_val_eq(k, m->key)) {
        args[0] = m->val;
        args[1] = v;
        if ((st = em__fn_call(m->t, m->merge, args, 2, &r)) != EM_OK)
            return st;
        em__arena_reset(m->spare);
        if ((st = em_val_copy(m->spare, k, &m->key)) != EM_OK ||
            (st = em_val_copy(m->spare, r, &m->val)) != EM_OK)
            return st;
    } else {
        if ((st = merger_flush(m)) != EM_OK)
            return st;
        em__arena_reset(m->spare);
        if ((st = em_val_copy(m->spare, k, &m->key)) != EM_OK ||
            (st = em_val_copy(m->spare, v, &m->val)) != EM_OK)
            return st;
        m->has = true;
    }
    tmp = m->cur;
    m->cur = m->spare;
    m->spare = tmp;
    return EM_OK;
}

static em_status merge_spilled(em__xsort *x, em_task *t, const em_fn *merge,
                               em__sink *out)
{
    merger m = {t, merge, out, em__arena_create(0), em__arena_create(0),
                {0}, {0}, false};
    em_status st = EM_ENOMEM;

    if (m.cur != NULL && m.spare != NULL) {
        st = em__xsort_each(x, merger_add, &m);
        if (st == EM_OK)
            st = merger_flush(&m);
    }
    em__arena_destroy(m.cur);
    em__arena_destroy(m.spare);
    return st;
}

static em_status combine_compute(em_rdd *rdd, int part, em_task *t,
                                 em__sink *out)
{
    combine_sink cs;
    em_status st;

    memset(&cs, 0, sizeof(cs));
    cs.base.push = combine_push;
    cs.s = rdd->state;
    cs.budget = em__task_budget(rdd->ctx);
    cs.dir = rdd->ctx->local_dir;
    if ((st = em__vmap_init(&cs.map)) != EM_OK)
        return st;
    st = em__shuffle_read(rdd->state, part, t, &cs.base);
    if (st == EM_OK && !cs.has_spilled) {
        st = push_table(&cs.map, t, out);
    } else if (st == EM_OK) {
        st = spill_table(&cs, true);
        if (st == EM_OK)
            st = merge_spilled(&cs.x, t, &cs.s->agg.merge_combiners, out);
    }
    if (cs.map.slots != NULL)
        em__vmap_fini(&cs.map);
    if (cs.has_spilled)
        em__xsort_fini(&cs.x);
    return st;
}

const em__rdd_kind em__combine_shuffled_kind = {"combineByKey",
                                                combine_compute, NULL};

/* ---- grouping ---- */

typedef struct group {
    em_val *v;     /* values (copies in the sink's arena) */
    size_t n, cap;
} group;

typedef struct group_sink {
    em__sink base;
    em__vmap map;      /* key -> int index into groups */
    em_arena *arena;   /* copies of values */
    group *groups;
    size_t n, cap;
    int64_t bytes;     /* what the groups hold */
    int64_t spill_at;  /* the task's share: spill past it */
    int64_t budget;    /* the executor's whole budget: one group's limit */
    const char *op;    /* for the message */
    const char *dir;   /* spill directory */
    em__xsort x;       /* spilled groups: [hash, key, [values]] */
    bool has_spilled;
} group_sink;

static void groups_clear(group_sink *gs)
{
    for (size_t i = 0; i < gs->n; i++)
        em__mem_free(gs->groups[i].v, gs->groups[i].cap * sizeof(em_val));
    em__mem_free(gs->groups, gs->cap * sizeof(group));
    em__arena_destroy(gs->arena);
    if (gs->map.slots != NULL)
        em__vmap_fini(&gs->map);
    gs->groups = NULL;
    gs->arena = NULL;
    gs->n = gs->cap = 0;
    gs->bytes = 0;
}

static em_status groups_reset(group_sink *gs)
{
    groups_clear(gs);
    if ((gs->arena = em__arena_create(0)) == NULL)
        return EM_ENOMEM;
    return em__vmap_init(&gs->map);
}

/* Moves the groups into the sorter (as a run unless is_final). */
static em_status spill_groups(group_sink *gs, bool is_final)
{
    em_status st = EM_OK;

    if (!gs->has_spilled) {
        st = em__xsort_init(&gs->x, INT64_MAX, gs->dir, by_hash_key, NULL);
        if (st != EM_OK)
            return st;
        gs->has_spilled = true;
    }
    for (size_t i = 0; i < gs->map.cap && st == EM_OK; i++) {
        em__vmap_slot *sl = &gs->map.slots[i];
        group *g;
        em_val item[3];
        if (sl->hash == 0)
            continue;
        g = &gs->groups[sl->val.u.i];
        item[0] = em_int((int64_t)(sl->hash >> 1));
        item[1] = sl->key;
        item[2] = em_array(g->v, g->n);
        st = em__xsort_add(&gs->x, em_array(item, 3));
    }
    if (st == EM_OK && !is_final)
        st = em__xsort_spill(&gs->x);
    if (st == EM_OK && !is_final)
        st = groups_reset(gs);
    return st;
}

static em_status group_push(em__sink *base, em_task *t, em_val rec)
{
    group_sink *gs = (group_sink *)base;
    em_val *slot;
    group *g;
    bool is_new;
    void *p;
    size_t before = em_arena_used(gs->arena);
    em_status st;

    slot = em__vmap_upsert(&gs->map, rec.u.arr[0], &is_new);
    if (slot == NULL)
        return EM_ENOMEM;
    if (is_new) {
        p = gs->groups;
        if (em__mem_grow(&p, &gs->cap, gs->n + 1, sizeof(group)) != 0)
            return EM_ENOMEM;
        gs->groups = p;
        memset(&gs->groups[gs->n], 0, sizeof(group));
        *slot = em_int((int64_t)gs->n++);
    }
    g = &gs->groups[slot->u.i];
    p = g->v;
    if (g->n == g->cap) {
        size_t old = g->cap;
        if (em__mem_grow(&p, &g->cap, g->n + 1, sizeof(em_val)) != 0)
            return EM_ENOMEM;
        gs->bytes += (int64_t)((g->cap - old) * sizeof(em_val));
    }
    g->v = p;
    st = em_val_copy(gs->arena, rec.u.arr[1], &g->v[g->n]);
    if (st != EM_OK)
        return st;
    g->n++;
    gs->bytes += (int64_t)(em_arena_used(gs->arena) - before);
    if (gs->bytes + (int64_t)em__vmap_bytes(&gs->map) > gs->spill_at)
        return spill_groups(gs, false);
    return EM_OK;
}

/* Concatenating the spilled parts of each key's group, in key order. */
typedef struct concat {
    group_sink *gs;
    em_task *t;
    em__group_fn emit;
    void *arg;
    em_arena *arena;   /* the pending group's key and values */
    em_val key;
    em_val *v;         /* mem.h */
    size_t n, cap;
    bool has;
} concat;

static em_status concat_flush(concat *c)
{
    em_status st = EM_OK;

    if (c->has)
        st = c->emit(c->t, c->key, c->v, c->n, c->arg);
    c->has = false;
    c->n = 0;
    em__arena_reset(c->arena);
    return st;
}

static em_status concat_add(em_val item, void *arg)
{
    concat *c = arg;
    em_val k = item.u.arr[1], vals = item.u.arr[2];
    void *p = c->v;
    em_status st;

    if (c->has && !em_val_eq(k, c->key) && (st = concat_flush(c)) != EM_OK)
        return st;
    if (!c->has) {
        if ((st = em_val_copy(c->arena, k, &c->key)) != EM_OK)
            return st;
        c->has = true;
    }
    if (em__mem_grow(&p, &c->cap, c->n + vals.len, sizeof(em_val)) != 0)
        return EM_ENOMEM;
    c->v = p;
    for (size_t i = 0; i < vals.len; i++) {
        if ((st = em_val_copy(c->arena, vals.u.arr[i], &c->v[c->n++])))
            return st;
    }
    if ((int64_t)(em_arena_used(c->arena) + c->n * sizeof(em_val)) >
        c->gs->budget) {
        char key[80];
        em_val_format(k, key, sizeof(key));
        return em__err(EM_ELIMIT, "%s: the group of key %s (%zu values so "
                       "far) is larger than the memory budget of %lld "
                       "bytes; use reduceByKey or aggregateByKey to combine "
                       "values per key instead of keeping them all",
                       c->gs->op, key, c->n, (long long)c->gs->budget);
    }
    return EM_OK;
}

static em_status emit_spilled(group_sink *gs, em_task *t, em__group_fn emit,
                              void *arg)
{
    concat c;
    em_status st;

    memset(&c, 0, sizeof(c));
    c.gs = gs;
    c.t = t;
    c.emit = emit;
    c.arg = arg;
    if ((c.arena = em__arena_create(0)) == NULL)
        return EM_ENOMEM;
    st = em__xsort_each(&gs->x, concat_add, &c);
    if (st == EM_OK)
        st = concat_flush(&c);
    em__arena_destroy(c.arena);
    em__mem_free(c.v, c.cap * sizeof(em_val));
    return st;
}

typedef struct tag_sink {
    em__sink base;
    em__sink *out;
    int tag;
} tag_sink;

static em_status tag_push(em__sink *base, em_task *t, em_val rec)
{
    tag_sink *ts = (tag_sink *)base;
    em_val tagged, pair;
    em_status st;

    if (!em_val_is_pair(rec))
        return em__err(EM_ETYPE, "cogroup: records must be (key, value) "
                       "pairs, got %s", em_type_name((em_type)rec.type));
    st = em_pair_make(t->scratch, em_int(ts->tag), rec.u.arr[1], &tagged);
    if (st == EM_OK)
        st = em_pair_make(t->scratch, rec.u.arr[0], tagged, &pair);
    return st != EM_OK ? st : em__sink_push(ts->out, t, pair);
}

em_status em__group_read(em_rdd *rdd, int part, em_task *t, const char *op,
                         bool is_tagged, em__group_fn emit, void *arg)
{
    group_sink gs;
    em_status st;

    memset(&gs, 0, sizeof(gs));
    gs.base.push = group_push;
    gs.spill_at = em__task_budget(rdd->ctx);
    gs.budget = rdd->ctx->memory_bytes;
    gs.op = op;
    gs.dir = rdd->ctx->local_dir;
    if ((st = groups_reset(&gs)) != EM_OK) {
        groups_clear(&gs);
        return st;
    }
    for (int i = 0; i < rdd->nparents && st == EM_OK; i++) {
        tag_sink ts = {{tag_push}, &gs.base, i};
        em__sink *into = is_tagged ? &ts.base : &gs.base;
        if (rdd->shuffles[i] != NULL)
            st = em__shuffle_read(rdd->shuffles[i], part, t, into);
        else
            st = em__rdd_compute(rdd->parents[i], part, t, into);
    }
    if (st == EM_OK && gs.has_spilled) {
        st = spill_groups(&gs, true);
        if (st == EM_OK)
            st = emit_spilled(&gs, t, emit, arg);
    }
    for (size_t i = 0; st == EM_OK && !gs.has_spilled && i < gs.map.cap;
         i++) {
        em__vmap_slot *sl = &gs.map.slots[i];
        group *g;
        if (sl->hash == 0)
            continue;
        g = &gs.groups[sl->val.u.i];
        st = emit(t, sl->key, g->v, g->n, arg);
    }
    groups_clear(&gs);
    if (gs.has_spilled)
        em__xsort_fini(&gs.x);
    return st;
}

typedef struct emit_pairs {
    em__sink *out;
} emit_pairs;

static em_status emit_group(em_task *t, em_val key, const em_val *vals,
                            size_t n, void *arg)
{
    em__arena_mark mk = em__arena_mark_get(t->scratch);
    em_val pair;
    em_status st = em_pair_make(t->scratch, key, em_array(vals, n), &pair);

    if (st == EM_OK)
        st = em__sink_push(((emit_pairs *)arg)->out, t, pair);
    em__arena_rewind(t->scratch, mk);
    return st;
}

static em_status group_compute(em_rdd *rdd, int part, em_task *t,
                               em__sink *out)
{
    emit_pairs ep = {out};

    return em__group_read(rdd, part, t, "groupByKey", false, emit_group,
                          &ep);
}

const em__rdd_kind em__group_shuffled_kind = {"groupByKey", group_compute,
                                              NULL};

/* ---- sorting ---- */

/* Items are [ordering key, record]. */
static int by_sort_key(em_val a, em_val b, void *is_desc)
{
    int c = em_val_cmp(a.u.arr[0], b.u.arr[0]);

    return *(const bool *)is_desc ? -c : c;
}

typedef struct sort_sink {
    em__sink base;
    em_rdd *rdd;       /* fn: optional key function */
    em__xsort x;
} sort_sink;

static em_status sort_push(em__sink *base, em_task *t, em_val rec)
{
    sort_sink *ss = (sort_sink *)base;
    em_val item[2];
    em_status st;

    item[0] = rec.u.arr[0];
    item[1] = rec;
    if (ss->rdd->fn.call != NULL &&
        (st = em__fn_call(t, &ss->rdd->fn, &rec.u.arr[0], 1, &item[0])))
        return st;
    return em__xsort_add(&ss->x, em_array(item, 2));
}

typedef struct sort_out {
    em_task *t;
    em__sink *out;
} sort_out;

static em_status sort_emit(em_val item, void *arg)
{
    sort_out *so = arg;
    em__arena_mark mk = em__arena_mark_get(so->t->scratch);
    em_status st = em__sink_push(so->out, so->t, item.u.arr[1]);

    em__arena_rewind(so->t->scratch, mk);
    return st;
}

/* Reads the partition, ordered by key (keyfunc(key) when the node has
 * one), spilling sorted runs past the task's memory share. arg: [is_desc]. */
static em_status sort_compute(em_rdd *rdd, int part, em_task *t,
                              em__sink *out)
{
    bool is_desc = rdd->arg.u.arr[0].u.b;
    sort_sink ss = {{sort_push}, rdd, {0}};
    sort_out so = {t, out};
    em_status st;

    st = em__xsort_init(&ss.x, em__task_budget(rdd->ctx),
                        rdd->ctx->local_dir, by_sort_key, &is_desc);
    if (st == EM_OK)
        st = em__shuffle_read(rdd->state, part, t, &ss.base);
    if (st == EM_OK)
        st = em__xsort_each(&ss.x, sort_emit, &so);
    em__xsort_fini(&ss.x);
    return st;
}

const em__rdd_kind em__sort_shuffled_kind = {"sortByKey", sort_compute,
                                             NULL};
