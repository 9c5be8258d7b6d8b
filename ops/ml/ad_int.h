/* The autodiff tape's hooks for the learning library's operators
 * (ops/ml/ad.c). Internal; the public API is include/ember/ml_ad.h.
 */
#ifndef EMBER_OPS_ML_AD_INT_H
#define EMBER_OPS_ML_AD_INT_H

#include "ember/ml_ad.h"
#include "gpu/gpu.h"

/* Runs the tape's matrix products, forward and backward, through
 * gpu/gpu.h's GEMM on g (borrowed until the tape is destroyed or this is
 * called again; NULL: the tape's own loops). */
void em__ad_use_gpu(em_ad *t, em__gpu *g);

#endif /* EMBER_OPS_ML_AD_INT_H */
