/* Logistic regression's batch gradient on a GPU (linear_gpu.c, through
 * gpu/gpu.h). Internal to ops/ml/.
 */
#ifndef EMBER_OPS_ML_LINEAR_GPU_H
#define EMBER_OPS_ML_LINEAR_GPU_H

#include "linear.h"

/* The training environment (linear.h) gets one more entry: */
#define EM__LIN_GPU EM__LIN_NENV           /* bool: ember.gpu */
#define EM__LIN_NENV_GPU (EM__LIN_NENV + 1) /* the entries with it */

/* The batch gradient of one partition on the task's device, when the
 * environment has ember.gpu on, the loss is logistic and a device is
 * there: the sampled points (args: index, records) staged once, their
 * count, loss sum and gradient sum (added to grad, zeroed, as the
 * weights wv) into r[0..1] and grad; *st_out EM_OK or the task's failure
 * for a bad point (em_linear_loss_grad's message). Returns false, having
 * done nothing, for the CPU path. */
bool em__lin_grad_gpu(em_task *t, const em_val *env, const em_val *args,
                      em_val wv, double *grad, em_val *r, em_status *st_out);

#endif /* EMBER_OPS_ML_LINEAR_GPU_H */
