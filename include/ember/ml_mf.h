/* Ember's matrix factorization: alternating least squares as
 * pyspark.mllib's ALS.train (ops/ml/als.c) and distributed SGD by strata
 * after Gemulla et al. (ops/ml/dsgd.c). Ratings are [user, item, rating]
 * arrays (user and item any values, usually ints; rating a number). Both
 * give the same model value, a map, so it broadcasts and saves like any
 * record. docs/ml.md, "Matrix factorization", is the tour.
 */
#ifndef EMBER_INCLUDE_EMBER_ML_MF_H
#define EMBER_INCLUDE_EMBER_ML_MF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../ember.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Options of em_als_train; zero means the default for each field. */
typedef struct em_als_opts {
    int iterations; /* alternations (items, then users); 0: 5 */
    double lambda;  /* regularization, scaled by each user's and item's
                       number of ratings; 0: 0.01 (pyspark's default);
                       must not be negative */
    int blocks;     /* partitions of the ratings and factors; <= 0: the
                       default parallelism */
    uint64_t seed;  /* of the initial factors */
} em_als_opts;

/* Options of em_dsgd_train; zero means the default for each field. */
typedef struct em_dsgd_opts {
    int iterations; /* epochs (d sub-epochs each); 0: 20 */
    double step;    /* the rate of epoch e is step / sqrt(e + 1); 0: 0.05 */
    double lambda;  /* L2 regularization per rating; 0: 0.05; not
                       negative */
    int d;          /* the grid is d x d blocks and d tasks run at once;
                       <= 0: the default parallelism */
    uint64_t seed;  /* of the initial factors and the order of ratings
                       inside a block */
} em_dsgd_opts;

/* The starting factor of a user or item id: rank standard normal numbers
 * from a generator seeded by seed and em_val_hash(id), scaled to unit
 * norm (Spark's initialization). ALS starts every user there; DSGD every
 * user and item. Written to out (rank doubles). */
EM_API void em_mf_initial_factor(uint64_t seed, em_val id, int rank,
                                 double *out);

/* Alternating least squares with Spark's weighted-lambda regularization.
 * Users start at em_mf_initial_factor; each iteration solves every item's
 * factor from the users', then every user's from the items':
 *
 *   (sum_u x_u x_u^T + lambda n_i I) y_i = sum_u r_ui x_u
 *
 * over the n_i ratings of item i (by Cholesky). The factors are RDDs of
 * (id, vec) hash-partitioned like the ratings keyed by the same side, so
 * each half-step joins the other side's factors to the ratings without
 * shuffling either, groups the joined ratings by the side being solved
 * (one shuffle) and solves each group (sorted by the other id first, so a
 * model is the same on any number of threads). A half-step is one job;
 * the new factors are cached and the old ones dropped.
 *
 * The model (in `a`) is the map {"rank": int, "userFeatures": array of
 * [user, vec] pairs sorted by user, "productFeatures": the same for
 * items}. EM_EINVAL for rank < 1 or bad options, EM_EEMPTY for no
 * ratings; a record that is not [user, item, number] fails the job
 * (EM_EUSER) with a message naming it. opts may be NULL. */
EM_API em_status em_als_train(em_rdd *ratings, int rank,
                              const em_als_opts *opts, em_arena *a,
                              em_val *model_out);

/* Distributed SGD by strata (Gemulla, Nijkamp, Haas and Sismanis, KDD
 * 2011). Users fall in row block hash(user) mod d, items in column block
 * hash(item) mod d (em_val_hash). Sub-epoch s of an epoch processes the
 * stratum of the d blocks (b, (b + s) mod d), which share no user and no
 * item: one task per block runs SGD over its ratings (in a fixed order
 * drawn from the seed) from the current factors, broadcast to every task,
 * and returns the rows it changed; the driver writes them back. For a
 * rating r of user u and item i, with e = r - x_u . y_i:
 *
 *   x_u += eta (e y_i - lambda x_u),  y_i += eta (e x_u - lambda y_i)
 *
 * (both from the old values). Blocks of a stratum are disjoint, so the
 * model does not depend on the number of threads. Model and errors as
 * em_als_train. */
EM_API em_status em_dsgd_train(em_rdd *ratings, int rank,
                               const em_dsgd_opts *opts, em_arena *a,
                               em_val *model_out);

/* Makes a model of rank >= 1 from two arrays of [id, vec of rank] pairs
 * (copied into `a` and sorted by id). EM_EINVAL when they are not such
 * arrays or an id repeats. */
EM_API em_status em_mf_model_make(int rank, em_val user_features,
                                  em_val product_features, em_arena *a,
                                  em_val *model_out);

/* The parts of a model (views into it); any out may be NULL. EM_EFORMAT
 * when model is not one. */
EM_API em_status em_mf_model_parts(em_val model, int *rank_out,
                                   em_val *user_features_out,
                                   em_val *product_features_out);

/* The predicted rating x_user . y_item. EM_ENOENT, naming the id, for a
 * user or item the model has no factor for (as Spark, no default). */
EM_API em_status em_mf_predict(em_val model, em_val user, em_val item,
                               double *out);

/* The prediction as a user function for map: env is the model or a
 * broadcast reference to it; args[0] is [user, item, ...]; the result is
 * [user, item, prediction] (Spark's predictAll). */
EM_API em_status em_mf_predict_op(em_task *t, const em_val *env,
                                  const em_val *args, size_t nargs,
                                  em_val *out);

/* The root mean squared error of the model on an RDD of [user, item,
 * rating] records, skipping those whose user or item the model lacks;
 * their number goes to *skipped_out when it is not NULL. Runs a job. NaN
 * when nothing was scored. */
EM_API em_status em_mf_rmse(em_val model, em_rdd *ratings, double *out,
                            int64_t *skipped_out);

#ifdef __cplusplus
}
#endif
#endif /* EMBER_INCLUDE_EMBER_ML_MF_H */
