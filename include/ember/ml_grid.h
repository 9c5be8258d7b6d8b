/* Hyperparameter search by k-fold cross-validation (ops/ml/grid.c), as
 * scikit-learn's GridSearchCV: every cell of a grid of parameters is
 * trained on all folds but one and scored on the one held out, each
 * (cell, fold) pair one task. The points are collected and broadcast, so
 * they must fit in memory; the trainer runs inside the task on a plain
 * array of points (em_linear_train_op is one). docs/ml.md, "Grid search".
 */
#ifndef EMBER_INCLUDE_EMBER_ML_GRID_H
#define EMBER_INCLUDE_EMBER_ML_GRID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../ember.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum em_grid_metric {
    EM_GRID_ACCURACY = 0, /* the share of held-out points whose prediction
                             equals their label; higher is better */
    EM_GRID_RMSE,         /* the root mean squared error of the held-out
                             predictions; an error: lower is better */
    EM_GRID_SCORE_FN,     /* opts->score(model, points array) -> number;
                             opts->lower_is_better says which way */
} em_grid_metric;

/* Options of em_ml_grid_search; zero means the default for each field. */
typedef struct em_grid_opts {
    int folds;             /* k >= 2; default 3 */
    em_grid_metric metric; /* default accuracy */
    em_fn predict;         /* accuracy and rmse: predict(model, features)
                              -> number; none: em_linear_predict */
    em_fn score;           /* EM_GRID_SCORE_FN's function */
    bool lower_is_better;  /* EM_GRID_SCORE_FN: the score is an error */
    bool shuffle;          /* deal the points to folds after a shuffle
                              by seed; else fold f is the f-th contiguous
                              block of the points in their order, the
                              first n % k blocks one point longer
                              (scikit-learn's KFold) */
    uint64_t seed;
} em_grid_opts;

/* Trains train(points array, params map) -> model for every cell of grid
 * on every fold's complement and scores the model on the fold. grid is a
 * map from parameter names (strings) to arrays of candidate values (a
 * value that is not an array is the only candidate); the cells are the
 * product of the candidates, names in byte order, the last name varying
 * fastest (scikit-learn's ParameterGrid). The result is a map in a:
 *
 *   {"params": array of the cells' maps, "mean_test_score": vec,
 *    "std_test_score": vec (population), "split_test_scores": array of
 *    one vec per cell (its fold scores), "best_index": int, "best_params":
 *    map, "best_score": float, "lower_is_better": bool}
 *
 * The best cell has the highest mean score (the lowest for an error);
 * the first such cell on ties. Runs jobs; a failing trainer, predictor or
 * scorer, or a score that is not a number, fails the job with its
 * message. EM_EINVAL for bad options or a grid that is not a map of
 * string keys, EM_EEMPTY for an empty grid, EM_EINVAL for fewer points
 * than folds. */
EM_API em_status em_ml_grid_search(em_rdd *points, em_fn train, em_val grid,
                                   const em_grid_opts *opts, em_arena *a,
                                   em_val *out);

#ifdef __cplusplus
}
#endif
#endif /* EMBER_INCLUDE_EMBER_ML_GRID_H */
