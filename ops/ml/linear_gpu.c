/* Logistic regression's batch gradient on a GPU: the partition's sampled
 * points staged as dense rows and labels once per iteration's stage, the
 * fused loss and gradient run by gpu/gpu.h (on the CPU path when the
 * device fails). docs/gpu.md.
 */
#include <string.h>

#include "gpu/gpu.h"
#include "linear_gpu.h"

/* Writes the features of point p into row (d values) and its label into
 * *y; false when p is not [0 or 1, vector of dimension d]. */
static bool stage_point(em_val p, size_t d, double *row, double *y)
{
    em_val f;

    if (!em_val_is_pair(p) || !em_val_as_float(p.u.arr[0], y) ||
        (*y != 0 && *y != 1))
        return false;
    f = p.u.arr[1];
    if (f.type == EM_VEC && f.len == d) {
        memcpy(row, f.u.vec, d * sizeof(double));
        return true;
    }
    if (f.type != EM_SPVEC || f.u.sp->dim != (int64_t)d)
        return false;
    memset(row, 0, d * sizeof(double));
    for (uint32_t j = 0; j < f.len; j++)
        row[f.u.sp->idx[j]] = f.u.sp->val[j];
    return true;
}

/* True when record i of the task's partition is in the mini-batch. */
static bool is_sampled(const em_val *e, const em_val *args, uint32_t i)
{
    return em__lin_sampled((uint64_t)e[EM__LIN_SEED].u.i, e[EM__LIN_ITER].u.i,
                           (int)args[0].u.i, i, e[EM__LIN_FRAC].u.f);
}

/* Stages the sampled records into g and sums their gradient into grad. */
static em_status run_batch(em_task *t, em__gpu *g, const em_val *e,
                           const em_val *args, em_val wv, double *grad,
                           em_val *r)
{
    bool icpt = e[EM__LIN_ICPT].u.b;
    size_t d = wv.len - (icpt ? 1 : 0), n = 0, k = 0;
    em_val recs = args[1];
    double *rows, loss = 0;

    for (uint32_t i = 0; i < recs.len; i++)
        n += is_sampled(e, args, i);
    if ((rows = em__gpu_rows(g, n, d)) == NULL)
        return EM_ENOMEM;
    for (uint32_t i = 0; i < recs.len; i++) {
        if (!is_sampled(e, args, i))
            continue;
        if (!stage_point(recs.u.arr[i], d, rows + k * d, rows + n * d + k)) {
            /* the CPU path's check, for its message */
            em_linear_loss_grad(EM_LOSS_LOGISTIC, wv.u.vec, d, icpt,
                                recs.u.arr[i], NULL, &loss);
            return em__lin_fail_last(t);
        }
        k++;
    }
    em__gpu_logistic(g, wv.u.vec, icpt, grad, &loss);
    r[0] = em_int((int64_t)n);
    r[1] = em_float(loss);
    return EM_OK;
}

bool em__lin_grad_gpu(em_task *t, const em_val *env, const em_val *args,
                      em_val wv, double *grad, em_val *r, em_status *st_out)
{
    const em_val *e = env->u.arr;
    em__gpu *g;

    if (env->len <= EM__LIN_GPU ||
        e[EM__LIN_LOSS].u.i != EM_LOSS_LOGISTIC ||
        (g = em__gpu_open(e[EM__LIN_GPU].u.b)) == NULL)
        return false;
    *st_out = run_batch(t, g, e, args, wv, grad, r);
    em__gpu_close(g);
    return true;
}
