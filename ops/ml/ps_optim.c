/* The parameter server's optimizers on the shards: each key gets one of
 * the shared optimizers (ops/ml/optim.c) of its dimension, which the
 * shard steps with every pushed gradient. Registered with the scheduler's
 * shards when the library loads, so executors have them too (scheduler/
 * may not call ops/: DESIGN.md, "Layers"). docs/ps.md.
 */
#include "ember/ml_linear.h"
#include "ember/ps.h"
#include "runtime/err.h"
#include "scheduler/ps_int.h"

static void *create(const em_optim_conf *c, size_t dim)
{
    void *o = em_optim_create(c, dim, dim);

    if (o == NULL) /* the conf was checked by em_ps_create: no memory */
        em__oom();
    return o;
}

static void step(void *o, double *w, const double *g)
{
    em_optim_step(o, w, g);
}

static void destroy(void *o)
{
    em_optim_destroy(o);
}

static em_status to_val(const void *o, em_arena *a, em_val *out)
{
    return em_optim_to_val(o, a, out);
}

/* em_optim_from_val, whose NULL is either a bad state or no memory: the
 * state's shape is checked first, so that NULL after it means memory. */
static em_status from_val(const em_optim_conf *c, size_t dim, em_val v,
                          void **out)
{
    const em_val *it = v.u.arr;

    if (v.type != EM_ARRAY || v.len != 4 || it[0].type != EM_INT ||
        it[0].u.i != (int64_t)c->kind || it[1].type != EM_INT ||
        it[1].u.i < 0 || it[2].type != EM_VEC || it[2].len != dim ||
        it[3].type != EM_VEC || it[3].len != dim)
        return em__err(EM_EFORMAT, "parameter server: a stored optimizer "
                       "state does not fit the configuration");
    if ((*out = em_optim_from_val(c, dim, v)) == NULL)
        return em__oom();
    return EM_OK;
}

static const em__ps_updater updater = {create, step, destroy, to_val,
                                       from_val};

/* Before main: an executor serves shards without calling em_ps_create.
 * Ahead of the default priority, so that it runs before executor.c's
 * start-up hook, which never returns in an executor (in a static link the
 * constructors would otherwise run in link order, scheduler/ first). */
__attribute__((constructor(101))) static void ps_optim_hook(void)
{
    em__ps_init(&updater);
}

em_ps *em_ps_create(em_ctx *ctx, const em_ps_opts *opts)
{
    em_optim *probe;

    /* a bad optimizer is refused here, not on the first push */
    if (opts != NULL && opts->has_optim) {
        if ((probe = em_optim_create(&opts->optim, 1, 1)) == NULL)
            return NULL;
        em_optim_destroy(probe);
    }
    return em__ps_create(ctx, opts);
}
