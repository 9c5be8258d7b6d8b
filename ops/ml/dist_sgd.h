/* The linear models' allreduce and ps modes (dist_sgd.c): training that
 * runs its iterations inside the tasks, synchronized by collectives or
 * through a parameter server. Internal to ops/ml/; docs/ml.md, "Allreduce
 * and parameter-server modes".
 */
#ifndef EMBER_OPS_ML_DIST_SGD_H
#define EMBER_OPS_ML_DIST_SGD_H

#include "ember/ps.h"
#include "linear_gpu.h"

/* The training environment (linear.h, linear_gpu.h) gets these entries;
 * EM__LIN_W is not used (the weights start at zero in the tasks or on the
 * server), EM__LIN_EPOCHS holds the iterations. */
enum {
    EM__LIN_TOL = EM__LIN_NENV_GPU, /* float: convergence tolerance */
    EM__LIN_DIM,                    /* int: weights, the intercept last */
    EM__LIN_PS,                     /* the parameter server's handle */
    EM__LIN_BATCH,                  /* int: points per push (ps) */
    EM__LIN_NENV_DIST
};

/* Allreduce mode: one barrier stage over points in which every task runs
 * the iterations on its copy of the weights. *out (in a): [weights vec,
 * loss per iteration vec (the iterations run), sum of the weights after
 * every step vec, steps float]. Errors of the job. */
em_status em__lin_train_allreduce(em_rdd *points, const em_val *env,
                                  em_arena *a, em_val *out);

/* One task of allreduce mode's stage, for tests that check the copies:
 * the iterations over recs, in step with the stage's other tasks; *out
 * as em__lin_train_allreduce's, in a. Fails the task for a bad point or
 * outside a barrier stage. */
em_status em__lin_allreduce_run(em_task *t, const em_val *env, em_val recs,
                                em_arena *a, em_val *out);

/* Ps mode: creates a parameter server of dim keys of one weight, trains
 * (env's EM__LIN_PS is set here), reads the weights back and drops the
 * server. oc: the optimizer, applied per key on the server (its L2 term
 * is added by the tasks, so the intercept is not regularized); *out as
 * em__lin_train_allreduce's. EM_EINVAL for L1 regularization or an
 * averaged model. */
em_status em__lin_train_ps(em_rdd *points, em_val *env,
                           const em_optim_conf *oc, int staleness,
                           em_arena *a, em_val *out);

/* Helpers of ps mode shared with the MLP's (mlp_ps.c). */

/* Stored feature j of f (a dense or sparse vector): its index and
 * value. */
void em__ps_feature_at(em_val f, uint32_t j, uint32_t *i, double *v);

/* Sorts idx[0..n) and drops repeats; the count left. */
size_t em__ps_distinct(uint32_t *idx, size_t n);

/* The position of i in the sorted distinct idx[0..n), which holds it. */
size_t em__ps_key_pos(const uint32_t *idx, size_t n, uint32_t i);

/* Keys 0 .. nkeys - 1 of a server of dimension width into w (nkeys *
 * width doubles), read on the driver in chunks. */
em_status em__ps_read_all(em_ps *ps, size_t nkeys, size_t width, double *w);

/* A shard restored from a snapshot lost the pushes after it: the model
 * misses those steps, which the log says (before the server is
 * dropped). model names the model in the message. */
void em__ps_report_losses(em_ps *ps, const char *model);

#endif /* EMBER_OPS_ML_DIST_SGD_H */
