/* The MLP's pieces shared by its modes (mlp.c, mlp_ps.c). Internal to
 * ops/ml/.
 */
#ifndef EMBER_OPS_ML_MLP_INT_H
#define EMBER_OPS_ML_MLP_INT_H

#include "ember/ml_ad.h"

/* Records the network's mean loss on the n x layers[0] batch x with
 * labels y at weights w (laid out as em_mlp_num_weights says); each
 * parameter's gradient goes to its place in g. */
em_ad_node em__mlp_record_loss(em_ad *t, const int *layers, size_t nl,
                               em_mlp_activation act, const double *w,
                               double *g, const double *x, const int64_t *y,
                               size_t n);

/* Ps mode (mlp_ps.c): trains from the initial weights w (o's defaults
 * filled in and checked) and leaves the trained weights in w and each
 * epoch's mean batch loss in hist. EM_EINVAL for L1 regularization;
 * errors of the job. */
em_status em__mlp_train_ps(em_rdd *points, const em_mlp_opts *o, double *w,
                           double *hist);

#endif /* EMBER_OPS_ML_MLP_INT_H */
