/* The push pipeline's shared pieces (see rdd.h): calling user functions,
 * the partition sink, and computing a partition through the block store.
 */
#include "rdd.h"

#include <string.h>

#include "arena.h"
#include "blocks.h"
#include "err.h"

em_status em__fn_call(em_task *t, const em_fn *f, const em_val *args,
                      size_t nargs, em_val *out)
{
    unsigned gen = em__err_gen();
    em_status st;

    *out = em_nil();
    st = f->call(t, &f->env, args, nargs, out);
    if (st != EM_OK && em__err_gen() == gen)
        return em__err(st, "a user function failed with %s and no message",
                       em_status_name(st));
    return st;
}

bool em__val_truthy(em_val v)
{
    return !(v.type == EM_NIL || (v.type == EM_BOOL && !v.u.b));
}

static em_status part_sink_push(em__sink *s, em_task *t, em_val rec)
{
    (void)t;
    return em__part_push(((em__part_sink *)s)->part, rec);
}

void em__part_sink_init(em__part_sink *s, em__part *p)
{
    s->base.push = part_sink_push;
    s->part = p;
}

em_status em__push_all(em_task *t, const em_val *recs, size_t n,
                       em__sink *out)
{
    for (size_t i = 0; i < n; i++) {
        em__arena_mark m = em__arena_mark_get(t->scratch);
        em_status st = em__sink_push(out, t, recs[i]);
        em__arena_rewind(t->scratch, m);
        if (st != EM_OK)
            return st;
    }
    return EM_OK;
}

em_status em__rdd_materialize(em_rdd *rdd, int part, em_task *t,
                              em__part *p)
{
    em__part_sink ps;
    const em_val *recs;

    /* A block held in memory is lent as it is: an iterative job over a
     * cached RDD reads it without copying every record each time. */
    if (rdd->storage != EM_STORAGE_NONE && p->n == 0 &&
        em__blocks_lend(rdd->blocks, rdd->id, part, &recs, &p->n,
                        &p->loan) == EM_OK) {
        p->recs = (em_val *)recs;
        p->lender = rdd->blocks;
        return EM_OK;
    }
    em__part_sink_init(&ps, p);
    return em__rdd_compute(rdd, part, t, &ps.base);
}

em_status em__rdd_compute(em_rdd *rdd, int part, em_task *t, em__sink *out)
{
    em__part_sink ps;
    em__part p;
    em_status st;
    bool is_replica;

    if (rdd->storage == EM_STORAGE_NONE)
        return rdd->kind->compute(rdd, part, t, out);
    for (;;) {
        st = em__blocks_get(rdd->blocks, rdd->id, part, t, out);
        if (st != EM_ENOENT)
            return st;
        /* not held: compute it once, even if other tasks want it now */
        st = em__blocks_begin_compute(rdd->blocks, rdd->id, part);
        if (st == EM_EEXIST)
            continue; /* another task just stored it */
        if (st != EM_OK)
            return st;
        break;
    }
    if ((st = em__part_init(&p)) != EM_OK)
        goto out_end;
    em__part_sink_init(&ps, &p);
    st = EM_ENOENT; /* a second copy kept for a _2 level, if any */
    if (t->find_replica != NULL)
        st = t->find_replica(t, rdd->id, part, &p);
    is_replica = st == EM_OK;
    if (st == EM_ENOENT)
        st = rdd->kind->compute(rdd, part, t, &ps.base);
    if (st == EM_OK)
        st = em__push_all(t, p.recs, p.n, out);
    if (st != EM_OK) {
        em__part_fini(&p);
        goto out_end;
    }
    if (t->on_block_put != NULL)
        t->on_block_put(t, rdd->id, part, rdd->storage, &p, is_replica);
    st = em__blocks_put(rdd->blocks, rdd->id, part, rdd->storage, &p);
out_end:
    em__blocks_end_compute(rdd->blocks, rdd->id, part);
    return st;
}
