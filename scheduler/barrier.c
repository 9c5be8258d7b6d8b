/* Barrier stages (barrier.h): the node that makes a stage one, how a
 * stage is recognized as one, and how local mode runs it -- every task on
 * its own thread at once, the whole stage again when an attempt fails, as
 * Spark's barrier execution mode. The pool's side is in
 * cluster/driver.c. docs/collectives.md.
 */
#include "barrier.h"

#include <string.h>

#include "ctx.h"
#include "runtime/arena.h"
#include "runtime/err.h"
#include "runtime/mem.h"
#include "runtime/rdd.h"

/* The partition's records as one array to the function, whose array of
 * results is pushed on: mapPartitions, run by a barrier stage. */
static em_status barrier_compute(em_rdd *rdd, int part, em_task *t,
                                 em__sink *out)
{
    em_val arg, res;
    em__part p;
    em_status st = em__part_init(&p);

    if (st != EM_OK)
        return st;
    st = em__rdd_materialize(rdd->parents[0], part, t, &p);
    if (st != EM_OK)
        goto out;
    arg = em_array(p.recs, p.n);
    if ((st = em__fn_call(t, &rdd->fn, &arg, 1, &res)) != EM_OK ||
        res.type == EM_NIL)
        goto out;
    if (res.type != EM_ARRAY) {
        st = em__err(EM_ETYPE, "barrier mapPartitions: the function must "
                     "return an array, not %s",
                     em_type_name((em_type)res.type));
        goto out;
    }
    st = em__push_all(t, res.u.arr, res.len, out);
out:
    em__part_fini(&p);
    return st;
}

static const em__rdd_kind barrier_kind = {"barrierMapPartitions",
                                          barrier_compute, NULL};

em_rdd *em_rdd_barrier_map_partitions(em_rdd *rdd, em_fn f)
{
    em_rdd *r;

    if (rdd == NULL || f.call == NULL) {
        em__err(EM_EINVAL, "barrier mapPartitions: %s",
                rdd == NULL ? "no RDD given" : "no function given");
        return NULL;
    }
    r = em__rdd_new(rdd->ctx, &barrier_kind, rdd->nparts, &rdd, 1,
                    EM__DEP_NARROW);
    if (r == NULL || em__rdd_set_fn(r, f, &r->fn) != EM_OK)
        return NULL;
    return r;
}

static bool has_barrier(const em_rdd *rdd, int depth)
{
    if (rdd->kind == &barrier_kind)
        return true;
    if (depth > 256)
        return false;
    for (int i = 0; i < rdd->nparents; i++)
        if ((rdd->shuffles == NULL || rdd->shuffles[i] == NULL) &&
            has_barrier(rdd->parents[i], depth + 1))
            return true;
    return false;
}

bool em__stage_is_barrier(em_rdd *rdd)
{
    return has_barrier(rdd, 0);
}

em_status em__barrier_check_parts(em_rdd *rdd, const int *parts, int n)
{
    bool is_all = parts == NULL || n == rdd->nparts;

    for (int i = 0; is_all && parts != NULL && i < n; i++)
        is_all = parts[i] == i;
    if (is_all)
        return EM_OK;
    return em__err(EM_EINVAL, "a barrier stage runs every partition at once: "
                   "an action over %d of its %d partitions (first, take, "
                   "lookup) cannot run it; collect it, or end the barrier "
                   "stage with a shuffle first", n, rdd->nparts);
}

em_status em__barrier_stage_run_local(em_ctx *ctx, em_rdd *rdd, int n,
                                      em__task_fn fn, em_val arg,
                                      em__job_result *out)
{
    const char **peers;
    char first[1024] = "";
    em__barrier_round round;
    em_status st = EM_OK;
    int attempt;

    if (ctx->threads < n)
        return em__err(EM_ESTATE, "a barrier stage of %d tasks needs %d task "
                       "slots at once, and %s has %d: use local[N] with N >= "
                       "%d, or fewer partitions (coalesce) -- barrier mode "
                       "cannot run a stage that needs more slots than the "
                       "cluster has", n, n, ctx->master ? ctx->master
                                                         : "the context",
                       ctx->threads, n);
    if ((st = em__coll_init()) != EM_OK)
        return st;
    if ((peers = em__mem_calloc((size_t)(n ? n : 1), sizeof(*peers))) == NULL)
        return EM_ENOMEM;
    for (int i = 0; i < n; i++)
        peers[i] = "local";
    for (attempt = 0; attempt < ctx->max_attempts; attempt++) {
        round.serial = ctx->serial;
        round.stage = 0; /* em__stage_run_round sets it */
        round.attempt = attempt;
        round.n = n;
        round.peers = peers;
        st = em__stage_run_round(ctx, rdd, n, fn, arg, out, &round);
        if (st == EM_OK || st == EM_ENOMEM || st == EM_EFETCH ||
            ctx->is_cancel_asked)
            break;
        if (first[0] == '\0')
            em__err_save(first, sizeof(first));
    }
    em__mem_free(peers, (size_t)(n ? n : 1) * sizeof(*peers));
    if (attempt == ctx->max_attempts)
        return em__err(st, "barrier stage failed %d times (every task "
                       "retried each time); first cause: %s", attempt, first);
    return st;
}
