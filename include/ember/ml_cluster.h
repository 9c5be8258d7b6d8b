/* Ember's clustering: k-means as MapReduce EM (ops/ml/kmeans.c), named as
 * pyspark.mllib's KMeans. Every operator is built on the RDD API of
 * ember.h; the model is an ordinary value (a map), so it broadcasts and
 * saves like any record. docs/ml.md, "Clustering", is the tour.
 */
#ifndef EMBER_INCLUDE_EMBER_ML_CLUSTER_H
#define EMBER_INCLUDE_EMBER_ML_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../ember.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How the first centres are chosen. */
typedef enum em_kmeans_init {
    /* k-means|| (Bahmani et al.): one random point, then init_steps rounds
     * each sampling every point with probability min(1, 2k d(x)^2 / cost)
     * (d(x) the distance to the nearest candidate so far); the candidates
     * are weighted by the points nearest to them and reduced to k by a
     * weighted k-means++ and at most 30 weighted Lloyd iterations on the
     * driver. Spark's default. */
    EM_KMEANS_PARALLEL = 0,
    /* k records sampled without replacement (takeSample). */
    EM_KMEANS_RANDOM = 1,
} em_kmeans_init;

/* Options of em_kmeans_train; zero means the default for each field. */
typedef struct em_kmeans_opts {
    int max_iterations;      /* Lloyd iterations at most; 0: 100 */
    em_kmeans_init init_mode; /* default EM_KMEANS_PARALLEL */
    int init_steps;          /* rounds of k-means||; 0: 2 */
    em_val initial_centers;  /* nil, or an array of k dense vectors used
                                as the first centres (init_mode is then
                                ignored), as pyspark's initialModel */
    uint64_t seed;           /* of the initialization's sampling */
    double epsilon;          /* converged when no centre moved farther
                                than epsilon (Euclidean); 0: 1e-4;
                                negative: only when no centre moved */
    int tree_depth;          /* of the partial sums' treeReduce; 0: 2 */
} em_kmeans_opts;

/* Trains k-means on an RDD of points, dense (EM_VEC) or sparse (EM_SPVEC)
 * vectors of one dimension. Each iteration is one job: the E-step maps
 * every partition to one record holding, for each centre, the number and
 * the sum of the partition's points nearest to it (the first centre on
 * ties) and their squared distances; treeReduce adds the partitions'
 * records in partition order; the M-step on the driver moves each centre
 * to the mean of its points (a centre without points stays). The loop
 * ends after max_iterations or when converged. An input that is not
 * persisted is cached for the run and unpersisted after.
 *
 * The model (in `a`) is the map {"clusterCenters": array of k vecs,
 * "trainingCost": the cost of the last E-step (the centres before the
 * last move, as Spark), "numIter": iterations run}. With fewer than k
 * points the random and k-means|| modes give fewer centres.
 * EM_EINVAL for k < 1 or bad options (initial centres not k vectors of
 * one dimension), EM_EEMPTY on no points; a record that is not a vector
 * of the centres' dimension fails the job with a message. opts may be
 * NULL. */
EM_API em_status em_kmeans_train(em_rdd *points, int k,
                                 const em_kmeans_opts *opts, em_arena *a,
                                 em_val *model_out);

/* Makes a model of the array of dense vectors `centers` (copied into
 * `a`), for predict and computeCost, or as initial centres. EM_EINVAL
 * unless they are at least one vector, all of one dimension >= 1. */
EM_API em_status em_kmeans_model_make(em_val centers, em_arena *a,
                                      em_val *model_out);

/* The model's centres (a view into it). EM_EFORMAT when model is not a
 * k-means model. */
EM_API em_status em_kmeans_model_centers(em_val model, em_val *centers_out);

/* The index of the centre nearest to point (dense or sparse; the first on
 * ties). EM_EFORMAT for a bad model, EM_EINVAL when point is not a vector
 * of the centres' dimension. */
EM_API em_status em_kmeans_predict(em_val model, em_val point,
                                   int64_t *cluster_out);

/* The prediction as a user function for map: env is the model or a
 * broadcast reference to it, args[0] a point; the result is the index
 * (int). */
EM_API em_status em_kmeans_predict_op(em_task *t, const em_val *env,
                                      const em_val *args, size_t nargs,
                                      em_val *out);

/* The sum over points of the squared distance to the nearest centre
 * (pyspark's computeCost, scikit-learn's inertia). Runs a job; 0 for no
 * points. */
EM_API em_status em_kmeans_compute_cost(em_val model, em_rdd *points,
                                        double *cost_out);

#ifdef __cplusplus
}
#endif
#endif /* EMBER_INCLUDE_EMBER_ML_CLUSTER_H */
