/* Parallel SGD by model averaging: each partition runs per-point SGD over
 * its shard with the shared optimizer (Zinkevich et al.'s averaging: all
 * epochs, one average; McDonald et al.'s iterative parameter mixing: one
 * epoch, averaged every round), summing its weights after every step when
 * the model is the average over steps (the averaged perceptron).
 * docs/ml.md, "Linear models".
 */
#include <math.h>
#include <string.h>

#include "linear.h"
#include "runtime/err.h"
#include "runtime/mem.h"

bool em__lin_sampled(uint64_t seed, int64_t iter, int part, uint32_t i,
                     double frac)
{
    uint64_t z;

    if (frac >= 1)
        return true;
    z = seed ^ ((uint64_t)iter * 0x9e3779b97f4a7c15ULL) ^
        ((uint64_t)part << 32) ^ i;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double)(z >> 11) * 0x1.0p-53 < frac;
}

em_status em__lin_sum_op(em_task *t, const em_val *env, const em_val *args,
                         size_t nargs, em_val *out)
{
    em_val x = args[0], y = args[1], *r;
    em_arena *a = em_task_arena(t);

    if (x.type != EM_ARRAY || y.type != EM_ARRAY || x.len != y.len)
        return em_task_fail(t, "linear: partition results differ in shape");
    if ((r = em_array_make(a, x.len, out)) == NULL)
        return EM_ENOMEM;
    for (uint32_t i = 0; i < x.len; i++) {
        em_val p = x.u.arr[i], q = y.u.arr[i];
        double *s;
        if (p.type == EM_INT && q.type == EM_INT) {
            r[i] = em_int(p.u.i + q.u.i);
        } else if (p.type == EM_FLOAT && q.type == EM_FLOAT) {
            r[i] = em_float(p.u.f + q.u.f);
        } else if (p.type == EM_VEC && q.type == EM_VEC && p.len == q.len) {
            if ((s = em_vec_make(a, p.len, &r[i])) == NULL)
                return EM_ENOMEM;
            for (uint32_t j = 0; j < p.len; j++)
                s[j] = p.u.vec[j] + q.u.vec[j];
        } else {
            return em_task_fail(t, "linear: partition results differ in "
                                "shape (features of different dimensions?)");
        }
    }
    return EM_OK;
}

/* The optimizer settings carried in the environment. */
static em_optim_conf env_conf(em_val v)
{
    em_optim_conf c = {0};

    c.kind = (em_optim_kind)v.u.vec[0];
    c.step = v.u.vec[1];
    c.schedule = (em_schedule)v.u.vec[2];
    c.reg = (em_reg)v.u.vec[3];
    c.reg_param = v.u.vec[4];
    return c;
}

em_optim *em__lin_optim_at(const em_val *env, size_t dim, int64_t t0,
                           em_arena *a)
{
    em_optim_conf c = env_conf(env[EM__LIN_OPTIM]);
    em_val st, *it = em_array_make(a, 4, &st);

    if (it == NULL || em_vec_make(a, dim, &it[2]) == NULL ||
        em_vec_make(a, dim, &it[3]) == NULL)
        return NULL;
    it[0] = em_int(c.kind);
    it[1] = em_int(t0);
    return em_optim_from_val(&c, dim - (env[EM__LIN_ICPT].u.b ? 1 : 0), st);
}

/* The epochs of one shard: updates w, adds to the loss and count sums
 * and, when averaging the steps, the weights after every step to avg. */
static em_status run_epochs(em_task *t, const em_val *e, int part,
                            em_val recs, double *w, size_t dim, em_optim *o,
                            double *ls, double *cs, double *avg)
{
    bool is_avg = e[EM__LIN_AVG].u.b;
    em_linear_loss loss = (em_linear_loss)e[EM__LIN_LOSS].u.i;
    bool icpt = e[EM__LIN_ICPT].u.b;
    size_t d = dim - (icpt ? 1 : 0);
    int64_t epochs = e[EM__LIN_EPOCHS].u.i, iter = e[EM__LIN_ITER].u.i;
    double *g = em__mem_alloc(dim * sizeof(double));

    if (g == NULL)
        return EM_ENOMEM;
    for (int64_t ep = 0; ep < epochs; ep++) {
        for (uint32_t i = 0; i < recs.len; i++) {
            if (!em__lin_sampled((uint64_t)e[EM__LIN_SEED].u.i, iter + ep,
                                 part, i,
                                 e[EM__LIN_FRAC].u.f))
                continue;
            memset(g, 0, dim * sizeof(double));
            if (em_linear_loss_grad(loss, w, d, icpt, recs.u.arr[i], g,
                                    &ls[ep]) != EM_OK) {
                em__mem_free(g, dim * sizeof(double));
                return em__lin_fail_last(t);
            }
            cs[ep] += 1;
            em_optim_step(o, w, g);
            for (size_t j = 0; is_avg && j < dim; j++)
                avg[j] += w[j];
        }
    }
    em__mem_free(g, dim * sizeof(double));
    return EM_OK;
}

em_status em__lin_local_sgd(em_task *t, const em_val *env,
                            const em_val *args, size_t nargs, em_val *out)
{
    const em_val *e = env->u.arr;
    em_arena *a = em_task_arena(t);
    em_val wv, res, *r, *cell = em_array_make(a, 1, out);
    size_t dim, epochs = (size_t)e[EM__LIN_EPOCHS].u.i;
    double *w, *ls, *cs, *avg;
    em_optim *o;
    em_status st;

    if (cell == NULL || (r = em_array_make(a, 5, &res)) == NULL)
        return EM_ENOMEM;
    if ((st = em__lin_weights(t, e[EM__LIN_W], &wv)) != EM_OK)
        return st;
    dim = wv.len;
    if ((w = em_vec_make(a, dim, &r[3])) == NULL ||
        (ls = em_vec_make(a, epochs, &r[1])) == NULL ||
        (cs = em_vec_make(a, epochs, &r[2])) == NULL ||
        (avg = em_vec_make(a, dim, &r[4])) == NULL)
        return EM_ENOMEM;
    memcpy(w, wv.u.vec, dim * sizeof(double));
    o = em__lin_optim_at(e, dim,
                         (e[EM__LIN_ITER].u.i - 1) * (int64_t)args[1].len, a);
    if (o == NULL)
        return em__lin_fail_last(t);
    st = run_epochs(t, e, (int)args[0].u.i, args[1], w, dim, o, ls, cs, avg);
    em_optim_destroy(o);
    if (st != EM_OK)
        return st;
    /* weighted by the shard's size, so unequal partitions count fairly */
    for (size_t i = 0; i < dim; i++)
        w[i] *= (double)args[1].len;
    r[0] = em_int(args[1].len);
    cell[0] = res;
    return EM_OK;
}
