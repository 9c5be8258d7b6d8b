/* Pieces shared by the linear models' files (ops/ml/): the training
 * environment, the mini-batch draw and the element-wise sum of partition
 * results. Internal; the public API is include/ember/ml_linear.h.
 */
#ifndef EMBER_OPS_ML_LINEAR_H
#define EMBER_OPS_ML_LINEAR_H

#include "ember.h"
#include "ember/ml_linear.h"

/* The environment of the training functions: an array indexed by these. */
enum {
    EM__LIN_W,       /* broadcast reference to the weights vec (the vec
                        itself when training in a task) */
    EM__LIN_LOSS,    /* em_linear_loss */
    EM__LIN_ICPT,    /* bool: the last weight is the intercept */
    EM__LIN_FRAC,    /* float: miniBatchFraction */
    EM__LIN_SEED,    /* int */
    EM__LIN_ITER,    /* int: the iteration (round), from 1 */
    EM__LIN_EPOCHS,  /* int: local epochs (parallel SGD) */
    EM__LIN_OPTIM,   /* vec: kind, step, schedule, reg, reg_param */
    EM__LIN_AVG,     /* bool: also sum the weights after every step (the
                        averaged perceptron) */
    EM__LIN_NENV
};

/* True when the point at position i of partition part is in iteration
 * iter's mini-batch: a hash of (seed, iter, part, i) below frac. */
bool em__lin_sampled(uint64_t seed, int64_t iter, int part, uint32_t i,
                     double frac);

/* The loss of label y at margin m added to *loss_out, and the loss's
 * derivative in m in *coef_out (the gradient is coef times the features).
 * EM_EINVAL for a label the loss does not take. */
em_status em__lin_coef(em_linear_loss loss, double y, double m,
                       double *loss_out, double *coef_out);

/* The step size of the optimizer's next step; advances its clock. */
double em__optim_tick(em_optim *o);

/* Weight i after one step of size eta for gradient g (regularization
 * included), w its value before. em_optim_step is em__optim_tick and
 * this for every weight; hogwild steps only the weights a point touches. */
double em__optim_coord(em_optim *o, size_t i, double w, double g,
                       double eta);

/* EM_OK when conf is valid, else EM_EINVAL with the reason (optim.c). */
em_status em__optim_check(const em_optim_conf *conf);

/* Fails the task with the current em_last_error() message (copied
 * first: em_task_fail writes the same buffer). */
em_status em__lin_fail_last(em_task *t);

/* A model's prediction as a map function body: env is the model or a
 * broadcast of it, rec a feature vector or a point [label, features];
 * predict is em_linear_predict or em_mlp_predict. */
em_status em__ml_predict_op(em_task *t, const em_val *env, em_val rec,
                            em_status (*predict)(em_val, em_val, double *),
                            em_val *out);

/* The weights of a training function's environment: w itself when it is
 * a vector (training in a task), else the broadcast it refers to. */
em_status em__lin_weights(em_task *t, em_val w, em_val *out);

/* Adds two arrays of ints, floats and vecs element-wise (for treeReduce):
 * the partition results of both training loops. */
em_status em__lin_sum_op(em_task *t, const em_val *env, const em_val *args,
                         size_t nargs, em_val *out);

/* Parallel SGD over each partition (the averaging and ipm modes):
 * (index, records) -> [[n, loss sums vec, count sums vec, n * weights vec, sum of the
 * weights after every step vec (empty unless EM__LIN_AVG)]], one epoch per
 * EM__LIN_EPOCHS from the broadcast weights. */
em_status em__lin_local_sgd(em_task *t, const em_val *env,
                            const em_val *args, size_t nargs, em_val *out);

/* An optimizer whose clock starts at t0 steps (so a round continues the
 * step / sqrt(t) schedule of the rounds before it); scratch in a. */
em_optim *em__lin_optim_at(const em_val *env, size_t dim, int64_t t0,
                           em_arena *a);

/* Hogwild (hogwild.c): the length of the shared vector broadcast for dim
 * weights, and the partition function: one epoch of lock-free SGD by
 * every task of the process on the broadcast vector; records -> an array
 * of one entry per process, [token, steps, n, loss sum, weights vec, sum
 * of the weights after every step vec], merged by em__lin_hogwild_merge
 * (the latest snapshot of each process, counts summed). */
size_t em__lin_hogwild_len(size_t dim);
em_status em__lin_hogwild(em_task *t, const em_val *env, const em_val *args,
                          size_t nargs, em_val *out);
em_status em__lin_hogwild_merge(em_task *t, const em_val *env,
                                const em_val *args, size_t nargs,
                                em_val *out);

#endif /* EMBER_OPS_ML_LINEAR_H */
