/* What the learning examples share about labelled points read from a CSV
 * (examples/common/points.c): loading, standardizing, the hold-out split
 * and accuracy. Points are ml.h's [label, features] with dense features.
 */
#ifndef EMBER_EXAMPLES_POINTS_H
#define EMBER_EXAMPLES_POINTS_H

#include <stdint.h>

#include "ember/ml.h"

/* Collects the points of the CSV at path (em_ml_load_csv with lo) into
 * *pts, in a. */
em_status ex_load_points(em_ctx *ctx, const char *path,
                         const em_ml_load_opts *lo, em_arena *a, em_val *pts);

/* Standardizes the features of the n points in place: mean 0 and
 * population standard deviation 1 over all of them. */
void ex_standardize(const em_val *pts, uint32_t n);

/* Splits pts into sets[0] (training) and sets[1] (held out: rows 0, 5,
 * 10, ...), allocated in a, with their sizes in n[0] and n[1]. */
em_status ex_split(em_val pts, em_arena *a, em_val **sets, uint32_t *n);

/* The fraction of the n points whose label predict(model, features)
 * gives (em_linear_predict, em_mlp_predict). */
double ex_accuracy(em_val model, const em_val *pts, uint32_t n,
                   em_status (*predict)(em_val, em_val, double *));

#endif /* EMBER_EXAMPLES_POINTS_H */
