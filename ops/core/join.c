/* cogroup and what is built on it: join, the outer joins, subtract,
 * subtractByKey, intersection; and cartesian. An input that is already
 * partitioned by the cogroup's partitioner is read partition by partition
 * without a shuffle (a narrow dependency).
 */
#include <string.h>

#include "shuffled.h"
#include "runtime/arena.h"
#include "runtime/err.h"

/* ---- cogroup ---- */

typedef struct cogroup_emit {
    em__sink *out;
    int k;          /* inputs */
} cogroup_emit;

/* (key, [[vals of input 0], ...]) from the tagged values of one key. */
static em_status emit_cogroup(em_task *t, em_val key, const em_val *vals,
                              size_t n, void *arg)
{
    cogroup_emit *ce = arg;
    em__arena_mark mk = em__arena_mark_get(t->scratch);
    em_val lists, *per, pair;
    size_t *fill;
    em_status st = EM_OK;

    per = em_array_make(t->scratch, (size_t)ce->k, &lists);
    fill = em__arena_alloc(t->scratch, (size_t)ce->k * sizeof(size_t), 8);
    if (per == NULL || fill == NULL)
        st = EM_ENOMEM;
    for (int i = 0; st == EM_OK && i < ce->k; i++) {
        size_t c = 0;
        for (size_t j = 0; j < n; j++)
            c += vals[j].u.arr[0].u.i == i;
        fill[i] = 0;
        if (em_array_make(t->scratch, c, &per[i]) == NULL)
            st = EM_ENOMEM;
    }
    for (size_t j = 0; st == EM_OK && j < n; j++) {
        int i = (int)vals[j].u.arr[0].u.i;
        ((em_val *)per[i].u.arr)[fill[i]++] = vals[j].u.arr[1];
    }
    if (st == EM_OK)
        st = em_pair_make(t->scratch, key, lists, &pair);
    if (st == EM_OK)
        st = em__sink_push(ce->out, t, pair);
    em__arena_rewind(t->scratch, mk);
    return st;
}

static em_status cogroup_compute(em_rdd *rdd, int part, em_task *t,
                                 em__sink *out)
{
    cogroup_emit ce = {out, rdd->nparents};

    return em__group_read(rdd, part, t, "cogroup", true, emit_cogroup, &ce);
}

static const em__rdd_kind cogroup_kind = {"cogroup", cogroup_compute, NULL};

/* The partitioner a cogroup uses: the one an input already has when the
 * caller left the count open (the largest such), else hash. */
static em__partitioner pick_partitioner(em_ctx *ctx, em_rdd *const *rdds,
                                        size_t n, int requested)
{
    const em__partitioner *best = NULL;
    em__partitioner p;

    memset(&p, 0, sizeof(p));
    for (size_t i = 0; requested <= 0 && i < n; i++) {
        if (rdds[i]->partitioner != NULL &&
            (best == NULL || rdds[i]->partitioner->n > best->n))
            best = rdds[i]->partitioner;
    }
    if (best != NULL)
        return *best;
    p.kind = EM__PART_HASH;
    p.n = em__default_partitions(ctx, rdds, n, requested);
    return p;
}

em_rdd *em_rdd_cogroup(em_rdd *const *rdds, size_t n, int num_partitions)
{
    em__partitioner p, *copy;
    em_ctx *ctx;
    em_rdd *r;

    if (n == 0 || n > 64) {
        em__err(EM_EINVAL, "cogroup: needs 1 to 64 inputs, not %zu", n);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        EM__NEED_RDD(rdds[i]);
    ctx = rdds[0]->ctx;
    for (size_t i = 1; i < n; i++) {
        if (rdds[i]->ctx != ctx) {
            em__err(EM_EINVAL, "cogroup: the RDDs belong to different "
                    "contexts");
            return NULL;
        }
    }
    p = pick_partitioner(ctx, rdds, n, num_partitions);
    r = em__rdd_new(ctx, &cogroup_kind, p.n, rdds, (int)n, EM__DEP_SHUFFLE);
    if (r == NULL)
        return NULL;
    copy = em__arena_alloc(r->arena, sizeof(*copy), 16);
    r->shuffles = em__arena_alloc(r->arena, n * sizeof(*r->shuffles), 8);
    if (copy == NULL || r->shuffles == NULL)
        return NULL;
    *copy = p;
    if (em_val_copy(r->arena, p.bounds, &copy->bounds) != EM_OK)
        return NULL;
    r->partitioner = copy;
    for (size_t i = 0; i < n; i++) {
        r->shuffles[i] = NULL;
        if (em__partitioner_eq(rdds[i]->partitioner, copy))
            continue; /* co-partitioned: read it narrowly */
        r->shuffles[i] = em__shuffle_new(rdds[i], copy, NULL);
        if (r->shuffles[i] == NULL)
            return NULL;
    }
    return r;
}

/* ---- joins and set operations over a cogroup of two ---- */

enum join_mode {
    JOIN_INNER,
    JOIN_LEFT,
    JOIN_RIGHT,
    JOIN_FULL,
    SUBTRACT_BY_KEY, /* (k, v) for v of a when b has none */
    SUBTRACT,        /* k for each v of a when b has none */
    INTERSECT,       /* k once when both have values */
};

static em_status push_pair(em_task *t, em__sink *out, em_val k, em_val v)
{
    em_val pair;
    em_status st = em_pair_make(t->scratch, k, v, &pair);

    return st != EM_OK ? st : em__sink_push(out, t, pair);
}

static em_status push_joined(em_task *t, em__sink *out, em_val k, em_val v,
                             em_val w)
{
    em_val vw;
    em_status st = em_pair_make(t->scratch, v, w, &vw);

    return st != EM_OK ? st : push_pair(t, out, k, vw);
}

static em_status join_push(em_rdd *rdd, em_task *t, em_val rec,
                           em__sink *out)
{
    em_val k = rec.u.arr[0], vs = rec.u.arr[1].u.arr[0],
           ws = rec.u.arr[1].u.arr[1];
    int mode = (int)rdd->arg.u.i;
    em_status st = EM_OK;

    switch (mode) {
    case SUBTRACT_BY_KEY:
    case SUBTRACT:
        for (size_t i = 0; ws.len == 0 && i < vs.len && st == EM_OK; i++)
            st = mode == SUBTRACT ? em__sink_push(out, t, k)
                                  : push_pair(t, out, k, vs.u.arr[i]);
        return st;
    case INTERSECT:
        return vs.len && ws.len ? em__sink_push(out, t, k) : EM_OK;
    default:
        break;
    }
    for (size_t i = 0; i < vs.len && st == EM_OK; i++) {
        for (size_t j = 0; j < ws.len && st == EM_OK; j++)
            st = push_joined(t, out, k, vs.u.arr[i], ws.u.arr[j]);
        if (ws.len == 0 && (mode == JOIN_LEFT || mode == JOIN_FULL))
            st = push_joined(t, out, k, vs.u.arr[i], em_nil());
    }
    if (vs.len == 0 && (mode == JOIN_RIGHT || mode == JOIN_FULL)) {
        for (size_t j = 0; j < ws.len && st == EM_OK; j++)
            st = push_joined(t, out, k, em_nil(), ws.u.arr[j]);
    }
    return st;
}

static const em__narrow_kind join_kind = {{"join", em__narrow_compute, NULL},
                                          join_push, false};

static em_rdd *cogroup_two(em_rdd *a, em_rdd *b, int n, int mode)
{
    em_rdd *both[2] = {a, b}, *cg, *r;

    EM__NEED_RDD(a);
    EM__NEED_RDD(b);
    if ((cg = em_rdd_cogroup(both, 2, n)) == NULL)
        return NULL;
    r = em__narrow_new(cg, &join_kind, EM_FN_NONE);
    if (r == NULL || em__rdd_set_arg(r, em_int(mode)) != EM_OK)
        return NULL;
    if (mode <= SUBTRACT_BY_KEY)
        r->partitioner = cg->partitioner; /* keys stay where they were */
    return r;
}

em_rdd *em_rdd_join(em_rdd *a, em_rdd *b, int n)
{
    return cogroup_two(a, b, n, JOIN_INNER);
}

em_rdd *em_rdd_left_outer_join(em_rdd *a, em_rdd *b, int n)
{
    return cogroup_two(a, b, n, JOIN_LEFT);
}

em_rdd *em_rdd_right_outer_join(em_rdd *a, em_rdd *b, int n)
{
    return cogroup_two(a, b, n, JOIN_RIGHT);
}

em_rdd *em_rdd_full_outer_join(em_rdd *a, em_rdd *b, int n)
{
    return cogroup_two(a, b, n, JOIN_FULL);
}

em_rdd *em_rdd_subtract_by_key(em_rdd *a, em_rdd *b, int n)
{
    return cogroup_two(a, b, n, SUBTRACT_BY_KEY);
}

static em_status to_nil_pair(em_task *t, const em_val *env,
                             const em_val *args, size_t nargs, em_val *out)
{
    return em_pair_make(em_task_arena(t), args[0], em_nil(), out);
}

em_rdd *em_rdd_subtract(em_rdd *a, em_rdd *b, int n)
{
    return cogroup_two(em_rdd_map(a, EM_FN(to_nil_pair)),
                       em_rdd_map(b, EM_FN(to_nil_pair)), n, SUBTRACT);
}

em_rdd *em_rdd_intersection(em_rdd *a, em_rdd *b)
{
    return cogroup_two(em_rdd_map(a, EM_FN(to_nil_pair)),
                       em_rdd_map(b, EM_FN(to_nil_pair)), 0, INTERSECT);
}

/* ---- cartesian ---- */

typedef struct cross_sink {
    em__sink base;
    em__sink *out;
    const em__part *right;
} cross_sink;

static em_status cross_push(em__sink *base, em_task *t, em_val x)
{
    cross_sink *cs = (cross_sink *)base;

    for (size_t j = 0; j < cs->right->n; j++) {
        em__arena_mark mk = em__arena_mark_get(t->scratch);
        em_val pair;
        em_status st = em_pair_make(t->scratch, x, cs->right->recs[j], &pair);
        if (st == EM_OK)
            st = em__sink_push(cs->out, t, pair);
        em__arena_rewind(t->scratch, mk);
        if (st != EM_OK)
            return st;
    }
    return EM_OK;
}

static em_status cartesian_compute(em_rdd *rdd, int part, em_task *t,
                                   em__sink *out)
{
    int nb = rdd->parents[1]->nparts;
    cross_sink cs = {{cross_push}, out, NULL};
    em__part right;
    em_status st = em__part_init(&right);

    if (st != EM_OK)
        return st;
    st = em__rdd_materialize(rdd->parents[1], part % nb, t, &right);
    cs.right = &right;
    if (st == EM_OK)
        st = em__rdd_compute(rdd->parents[0], part / nb, t, &cs.base);
    em__part_fini(&right);
    return st;
}

static const em__rdd_kind cartesian_kind = {"cartesian", cartesian_compute,
                                            NULL};

em_rdd *em_rdd_cartesian(em_rdd *a, em_rdd *b)
{
    em_rdd *both[2] = {a, b};
    int64_t n;

    EM__NEED_RDD(a);
    EM__NEED_RDD(b);
    if (a->ctx != b->ctx) {
        em__err(EM_EINVAL, "cartesian: the RDDs belong to different "
                "contexts");
        return NULL;
    }
    n = (int64_t)a->nparts * b->nparts;
    if (n > INT32_MAX) {
        em__err(EM_ELIMIT, "cartesian: too many partitions");
        return NULL;
    }
    return em__rdd_new(a->ctx, &cartesian_kind, (int)n, both, 2,
                       EM__DEP_NARROW);
}
