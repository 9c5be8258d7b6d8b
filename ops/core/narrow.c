/* Record-at-a-time transformations: map, filter, flatMap, keyBy, and the
 * pair operators mapValues, flatMapValues, keys, values. Each is a push
 * function; chains of them fuse into one pipeline per partition.
 */
#include <string.h>

#include "ops.h"
#include "runtime/arena.h"
#include "runtime/err.h"
#include "runtime/mem.h"

typedef struct narrow_sink {
    em__sink base;
    em_rdd *rdd;      /* the node whose push applies */
    em__sink *out;    /* downstream */
} narrow_sink;

static em_status narrow_sink_push(em__sink *s, em_task *t, em_val rec)
{
    narrow_sink *ns = (narrow_sink *)s;
    const em__narrow_kind *k = (const em__narrow_kind *)ns->rdd->kind;

    return k->push(ns->rdd, t, rec, ns->out);
}

em_status em__narrow_compute(em_rdd *rdd, int part, em_task *t,
                             em__sink *out)
{
    narrow_sink ns = {{narrow_sink_push}, rdd, out};

    return em__rdd_compute(rdd->parents[0], part, t, &ns.base);
}

em_rdd *em__narrow_new(em_rdd *parent, const em__narrow_kind *kind, em_fn f)
{
    em_rdd *r;

    EM__NEED_RDD(parent);
    r = em__rdd_new(parent->ctx, &kind->base, parent->nparts, &parent, 1,
                    EM__DEP_NARROW);
    if (r == NULL)
        return NULL;
    if (em__rdd_set_fn(r, f, &r->fn) != EM_OK)
        return NULL; /* the node is freed with the context */
    if (kind->keeps_partitioner)
        r->partitioner = parent->partitioner;
    return r;
}

static em_status need_pair(const char *op, em_val rec)
{
    char buf[96];

    if (em_val_is_pair(rec))
        return EM_OK;
    em_val_format(rec, buf, sizeof(buf));
    return em__err(EM_ETYPE, "%s: expected a (key, value) pair, got %s %s",
                   op, em_type_name((em_type)rec.type), buf);
}

static em_status need_array(const char *op, em_val v)
{
    if (v.type == EM_ARRAY)
        return EM_OK;
    return em__err(EM_ETYPE, "%s: the function must return an array, not "
                   "%s", op, em_type_name((em_type)v.type));
}

static em_status map_push(em_rdd *rdd, em_task *t, em_val rec, em__sink *out)
{
    em_val r;
    em_status st = em__fn_call(t, &rdd->fn, &rec, 1, &r);

    return st != EM_OK ? st : em__sink_push(out, t, r);
}

static em_status filter_push(em_rdd *rdd, em_task *t, em_val rec,
                             em__sink *out)
{
    em_val r;
    em_status st = em__fn_call(t, &rdd->fn, &rec, 1, &r);

    if (st != EM_OK)
        return st;
    return em__val_truthy(r) ? em__sink_push(out, t, rec) : EM_OK;
}

static em_status push_each(em_task *t, em_val arr, em__sink *out)
{
    for (size_t i = 0; i < arr.len; i++) {
        em_status st = em__sink_push(out, t, arr.u.arr[i]);
        if (st != EM_OK)
            return st;
    }
    return EM_OK;
}

static em_status flat_map_push(em_rdd *rdd, em_task *t, em_val rec,
                               em__sink *out)
{
    em_val r;
    em_status st = em__fn_call(t, &rdd->fn, &rec, 1, &r);

    if (st == EM_OK && r.type == EM_NIL)
        return EM_OK;
    if (st == EM_OK)
        st = need_array("flatMap", r);
    return st != EM_OK ? st : push_each(t, r, out);
}

static em_status key_by_push(em_rdd *rdd, em_task *t, em_val rec,
                             em__sink *out)
{
    em_val k, pair;
    em_status st = em__fn_call(t, &rdd->fn, &rec, 1, &k);

    if (st == EM_OK)
        st = em_pair_make(t->scratch, k, rec, &pair);
    return st != EM_OK ? st : em__sink_push(out, t, pair);
}

static em_status map_values_push(em_rdd *rdd, em_task *t, em_val rec,
                                 em__sink *out)
{
    em_val v, pair;
    em_status st = need_pair("mapValues", rec);

    if (st == EM_OK)
        st = em__fn_call(t, &rdd->fn, &rec.u.arr[1], 1, &v);
    if (st == EM_OK)
        st = em_pair_make(t->scratch, rec.u.arr[0], v, &pair);
    return st != EM_OK ? st : em__sink_push(out, t, pair);
}

static em_status flat_map_values_push(em_rdd *rdd, em_task *t, em_val rec,
                                      em__sink *out)
{
    em_val vs, pair;
    em_status st = need_pair("flatMapValues", rec);

    if (st == EM_OK)
        st = em__fn_call(t, &rdd->fn, &rec.u.arr[1], 1, &vs);
    if (st == EM_OK && vs.type == EM_NIL)
        return EM_OK;
    if (st == EM_OK)
        st = need_array("flatMapValues", vs);
    for (size_t i = 0; st == EM_OK && i < vs.len; i++) {
        st = em_pair_make(t->scratch, rec.u.arr[0], vs.u.arr[i], &pair);
        if (st == EM_OK)
            st = em__sink_push(out, t, pair);
    }
    return st;
}

static em_status keys_push(em_rdd *rdd, em_task *t, em_val rec,
                           em__sink *out)
{
    em_status st = need_pair("keys", rec);

    return st != EM_OK ? st : em__sink_push(out, t, rec.u.arr[0]);
}

static em_status values_push(em_rdd *rdd, em_task *t, em_val rec,
                             em__sink *out)
{
    em_status st = need_pair("values", rec);

    return st != EM_OK ? st : em__sink_push(out, t, rec.u.arr[1]);
}

#define NARROW_KIND(var, name, fn, keeps)                                      \
    static const em__narrow_kind var = {{name, em__narrow_compute, NULL},     \
                                        fn, keeps}

NARROW_KIND(map_kind, "map", map_push, false);
NARROW_KIND(filter_kind, "filter", filter_push, true);
NARROW_KIND(flat_map_kind, "flatMap", flat_map_push, false);
NARROW_KIND(key_by_kind, "keyBy", key_by_push, false);
NARROW_KIND(map_values_kind, "mapValues", map_values_push, true);
NARROW_KIND(flat_map_values_kind, "flatMapValues", flat_map_values_push,
            true);
NARROW_KIND(keys_kind, "keys", keys_push, false);
NARROW_KIND(values_kind, "values", values_push, false);

static em_rdd *with_fn(em_rdd *rdd, const em__narrow_kind *k, em_fn f,
                       const char *op)
{
    EM__NEED_RDD(rdd);
    if (f.call == NULL) {
        em__err(EM_EINVAL, "%s: no function given", op);
        return NULL;
    }
    return em__narrow_new(rdd, k, f);
}

em_rdd *em_rdd_map(em_rdd *rdd, em_fn f)
{
    return with_fn(rdd, &map_kind, f, "map");
}

em_rdd *em_rdd_filter(em_rdd *rdd, em_fn f)
{
    return with_fn(rdd, &filter_kind, f, "filter");
}

em_rdd *em_rdd_flat_map(em_rdd *rdd, em_fn f)
{
    return with_fn(rdd, &flat_map_kind, f, "flatMap");
}

em_rdd *em_rdd_key_by(em_rdd *rdd, em_fn f)
{
    return with_fn(rdd, &key_by_kind, f, "keyBy");
}

em_rdd *em_rdd_map_values(em_rdd *rdd, em_fn f)
{
    return with_fn(rdd, &map_values_kind, f, "mapValues");
}

em_rdd *em_rdd_flat_map_values(em_rdd *rdd, em_fn f)
{
    return with_fn(rdd, &flat_map_values_kind, f, "flatMapValues");
}

em_rdd *em_rdd_keys(em_rdd *rdd)
{
    return em__narrow_new(rdd, &keys_kind, EM_FN_NONE);
}

em_rdd *em_rdd_values(em_rdd *rdd)
{
    return em__narrow_new(rdd, &values_kind, EM_FN_NONE);
}

/* ---- the vector sink ---- */

static em_status vec_sink_push(em__sink *s, em_task *t, em_val rec)
{
    em__vec_sink *vs = (em__vec_sink *)s;
    void *p = vs->recs;
    em_status st;

    (void)t;
    if (vs->n >= vs->limit)
        return EM__STOP;
    if (em__mem_grow(&p, &vs->cap, vs->n + 1, sizeof(em_val)) != 0)
        return EM_ENOMEM;
    vs->recs = p;
    st = em_val_copy(vs->arena, rec, &vs->recs[vs->n]);
    if (st != EM_OK)
        return st;
    vs->n++;
    return vs->n >= vs->limit ? EM__STOP : EM_OK;
}

void em__vec_sink_init(em__vec_sink *s, em_arena *a, size_t limit)
{
    memset(s, 0, sizeof(*s));
    s->base.push = vec_sink_push;
    s->arena = a;
    s->limit = limit;
}

em_status em__vec_sink_finish(em__vec_sink *s, em_val *out)
{
    em_val *items = em_array_make(s->arena, s->n, out);

    if (items == NULL) {
        em__vec_sink_fini(s);
        return EM_ENOMEM;
    }
    if (s->n)
        memcpy(items, s->recs, s->n * sizeof(em_val));
    em__vec_sink_fini(s);
    return EM_OK;
}

void em__vec_sink_fini(em__vec_sink *s)
{
    em__mem_free(s->recs, s->cap * sizeof(em_val));
    s->recs = NULL;
    s->n = s->cap = 0;
}
