/* Ember's linear models (ops/ml/): loaders of labelled points from LIBSVM
 * and CSV text, one optimizer module shared by every model, and logistic
 * regression, linear regression and the (averaged) perceptron trained as
 * pyspark.mllib's classic loop (weights broadcast, gradients summed by
 * treeAggregate) or by the parallel SGD modes of em_linear_mode (model
 * averaging, hogwild, allreduce, a parameter server); or, inside a task,
 * on an array of points (the trainers of grid search, ml_grid.h). Points are ml.h's labelled points, [label,
 * features]; models are map values, so they broadcast and save like
 * records. docs/ml.md, "Linear models", is the tour.
 */
#ifndef EMBER_INCLUDE_EMBER_ML_LINEAR_H
#define EMBER_INCLUDE_EMBER_ML_LINEAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../ember.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Loaders (ops/ml/loaders.c)                                           */
/* ------------------------------------------------------------------ */

/* Options of the loaders; zero means the default for each field. */
typedef struct em_ml_load_opts {
    int64_t num_features; /* LIBSVM: the dimension (> 0 required); CSV:
                             ignored (the columns other than the label) */
    int label_col;        /* CSV: the label's column, 0-based; negative
                             counts from the end (-1: the last) */
    int skip_header;      /* CSV: lines skipped at the start of the first
                             partition (a header) */
    em_accum *bad_lines;  /* NULL: a malformed line fails the job with a
                             message naming its partition, line and
                             fault; else an EM_ACCUM_SUM accumulator that
                             counts malformed lines, which are skipped */
} em_ml_load_opts;

/* Lines of LIBSVM text ("label i:v i:v ...", indices 1-based and
 * increasing, "#" starts a comment; blank and comment-only lines are not
 * points and are not counted) to labelled points with sparse features of
 * dimension opts->num_features (index i is feature i - 1). Lazy; NULL
 * with EM_EINVAL for bad options. */
EM_API em_rdd *em_ml_load_libsvm(em_rdd *lines, const em_ml_load_opts *opts);

/* Lines of comma-separated numbers to labelled points with dense
 * features: the label from column opts->label_col, the features the other
 * columns in order. Every line must have the number of columns of the
 * first line of its partition; blank lines are not points. Lazy. */
EM_API em_rdd *em_ml_load_csv(em_rdd *lines, const em_ml_load_opts *opts);

/* ------------------------------------------------------------------ */
/* Optimizers (ops/ml/optim.c)                                          */
/* ------------------------------------------------------------------ */

typedef enum em_optim_kind {
    EM_OPTIM_SGD = 0,  /* w -= eta g */
    EM_OPTIM_MOMENTUM, /* v = mu v + g; w -= eta v */
    EM_OPTIM_NESTEROV, /* v = mu v + g; w -= eta (g + mu v) */
    EM_OPTIM_ADAGRAD,  /* s += g^2; w -= eta g / (sqrt(s) + eps) */
    EM_OPTIM_RMSPROP,  /* s = rho s + (1 - rho) g^2; w -= eta g /
                          (sqrt(s) + eps) */
    EM_OPTIM_ADAM,     /* m = b1 m + (1 - b1) g; s = b2 s + (1 - b2) g^2;
                          w -= eta m' / (sqrt(s') + eps), m' = m / (1 -
                          b1^t), s' = s / (1 - b2^t) */
} em_optim_kind;

typedef enum em_reg {
    EM_REG_NONE = 0,
    EM_REG_L2, /* adds reg_param w to the gradient (Spark's
                  SquaredL2Updater for sgd) */
    EM_REG_L1, /* the proximal step after the update: each weight moves
                  eta reg_param towards 0, stopping at 0 (Spark's
                  L1Updater) */
} em_reg;

typedef enum em_schedule {
    EM_SCHEDULE_INV_SQRT = 0, /* eta = step / sqrt(t), t = 1, 2, ...
                                 (Spark's GradientDescent) */
    EM_SCHEDULE_CONSTANT,     /* eta = step */
} em_schedule;

/* An optimizer's settings; zero means the default for each field. */
typedef struct em_optim_conf {
    em_optim_kind kind;
    double step;         /* default 1.0 */
    em_schedule schedule;
    em_reg reg;
    double reg_param;    /* >= 0 */
    double momentum;     /* mu, and adam's b1; default 0.9 */
    double beta2;        /* adam's b2; default 0.999 */
    double rho;          /* rmsprop's decay; default 0.9 */
    double eps;          /* default 1e-8 */
} em_optim_conf;

/* An optimizer's state: the iteration count and the moment vectors.
 * Library-allocated: create, then em_optim_destroy. */
typedef struct em_optim em_optim;

/* An optimizer for dim weights of which the first reg_dim (<= dim) are
 * regularized (the rest, such as an intercept, are not). NULL with
 * EM_EINVAL for bad settings (a negative step or reg_param, a decay
 * outside [0, 1)), EM_ENOMEM. */
EM_API em_optim *em_optim_create(const em_optim_conf *conf, size_t dim,
                                 size_t reg_dim);
EM_API void em_optim_destroy(em_optim *o);

/* One iteration: t advances, eta is the schedule's rate for t, and w (dim
 * doubles) moves by the rule of the kind for gradient g (dim doubles),
 * with the regularization of the conf. */
EM_API void em_optim_step(em_optim *o, double *w, const double *g);

/* The number of steps taken. */
EM_API int64_t em_optim_iter(const em_optim *o);

/* The state as a value, in a: [kind, t, first moment vec, second moment
 * vec]; and an optimizer resumed from such a value (NULL with EM_EFORMAT
 * when v is not one of this conf's dimension). */
EM_API em_status em_optim_to_val(const em_optim *o, em_arena *a,
                                 em_val *out);
EM_API em_optim *em_optim_from_val(const em_optim_conf *conf, size_t reg_dim,
                                   em_val v);

/* Spark's convergence test: |w - prev| < tol max(|w|, 1) (L2 norms). */
EM_API bool em_optim_converged(const double *prev, const double *w,
                               size_t dim, double tol);

/* The kind named "sgd", "momentum", "nesterov", "adagrad", "rmsprop" or
 * "adam"; EM_EINVAL for another name. */
EM_API em_status em_optim_kind_parse(const char *name, em_optim_kind *out);
EM_API const char *em_optim_kind_name(em_optim_kind kind);

/* ------------------------------------------------------------------ */
/* Losses and gradients (ops/ml/linear.c)                               */
/* ------------------------------------------------------------------ */

typedef enum em_linear_loss {
    EM_LOSS_LOGISTIC = 0, /* labels 0 or 1; log(1 + e^m) - y m, m the
                             margin */
    EM_LOSS_SQUARED,      /* (m - y)^2 / 2 */
    EM_LOSS_PERCEPTRON,   /* labels 0 or 1; max(0, -s m), s = 2 y - 1:
                             a step on a misclassified point (s m <= 0)
                             adds eta s x, Rosenblatt's update */
} em_linear_loss;

/* The loss of one labelled point at weights w (d features, then the
 * intercept when has_intercept), added to *loss_out, and its gradient
 * added to grad (d or d + 1 doubles); grad may be NULL. EM_EINVAL when
 * the point is not [number, vector of dimension d] (or, for the logistic
 * loss, the label is not 0 or 1). */
EM_API em_status em_linear_loss_grad(em_linear_loss loss, const double *w,
                                     size_t d, bool has_intercept,
                                     em_val point, double *grad,
                                     double *loss_out);

/* ------------------------------------------------------------------ */
/* Training (ops/ml/linear.c, parallel_sgd.c, hogwild.c, dist_sgd.c)     */
/* ------------------------------------------------------------------ */

typedef enum em_linear_mode {
    EM_LINEAR_BATCH = 0, /* per iteration: weights broadcast, the
                            (sampled) gradient summed by treeAggregate,
                            one optimizer step on the mean gradient */
    EM_LINEAR_AVERAGING, /* each partition runs `iterations` epochs of
                            per-point SGD over its shard from the initial
                            weights; the models are averaged once */
    EM_LINEAR_IPM,       /* iterative parameter mixing: per iteration each
                            partition runs one epoch from the broadcast
                            mix; the models are averaged into the next
                            mix */
    EM_LINEAR_HOGWILD,   /* per iteration, one epoch of lock-free SGD by
                            all task threads of a process (an executor,
                            or the local process) on one shared vector,
                            stepping only the weights a point touches;
                            the processes' vectors are averaged into the
                            next iteration's start. For sparse data; the
                            result depends on the threads' timing */
    EM_LINEAR_ALLREDUCE, /* synchronous data-parallel SGD in one barrier
                            stage, one task per partition, each holding
                            a copy of the weights: per iteration the
                            tasks' gradient sums and counts are
                            ring-allreduced and every task takes the same
                            optimizer step; batch mode's mathematics
                            without a job per iteration */
    EM_LINEAR_PS,        /* asynchronous mini-batch SGD against a
                            parameter server (key: feature index, the
                            intercept key d): per mini-batch a task pulls
                            the weights of the batch's non-zero features
                            and pushes their mean gradient, which the
                            server's per-key optimizer applies; one epoch
                            of every shard per iteration. For sparse,
                            high-dimensional data */
} em_linear_mode;

/* Options of em_linear_train, pyspark.mllib's keyword arguments; zero
 * means the default for each field. */
typedef struct em_linear_opts {
    int iterations;             /* default 100 */
    double step;                /* default 1.0 */
    double mini_batch_fraction; /* in (0, 1]; default 1.0. Points are
                                   drawn per iteration (per epoch) from
                                   seed, iteration, partition and position,
                                   so a run repeats exactly */
    double reg_param;           /* >= 0; default 0 */
    em_reg reg_type;            /* default none */
    bool intercept;             /* fit an intercept (not regularized) */
    double convergence_tol;     /* batch mode stops when the weights move
                                   less (em_optim_converged); default
                                   0.001, negative: never */
    em_optim_kind optimizer;
    em_schedule schedule;
    em_linear_mode mode;
    uint64_t seed;
    int tree_depth;             /* of the gradient sums; default 2 */
    bool averaged;              /* the model is the average of the weights
                                   after every step (of every partition)
                                   instead of the last weights: the
                                   averaged perceptron (Freund and
                                   Schapire; Collins) with
                                   EM_LOSS_PERCEPTRON and
                                   EM_SCHEDULE_CONSTANT, any loss else;
                                   not in ps mode */
    int batch_size;             /* ps mode: sampled points per pull and
                                   push; default 32 */
    int staleness;              /* ps mode: a pull may use weights cached
                                   in the process while their shard has
                                   applied at most this many pushes since
                                   (em_ps_opts.staleness); 0 reads every
                                   change, negative: blocking reads */
} em_linear_opts;

/* Trains a linear model on an RDD of labelled points (dense or sparse
 * features, all of one dimension; logistic and perceptron labels 0 or 1).
 * The model is a map value in a:
 *
 *   {"kind": "logistic" | "linear" | "perceptron", "weights": vec,
 *    "intercept": float,
 *    "loss": vec of the mean training loss per iteration (batch: at the
 *    weights the iteration started from; averaging and ipm: the points'
 *    mean loss during each epoch, averaged over partitions; allreduce:
 *    as batch; ps: the points' mean loss at the weights pulled for
 *    them during each epoch),
 *    "iterations": int run}
 *
 * Runs jobs; a malformed point fails the job with a message. EM_EINVAL
 * for bad options, EM_EEMPTY for no points. Persist the points first. */
EM_API em_status em_linear_train(em_rdd *points, em_linear_loss loss,
                                 const em_linear_opts *opts, em_arena *a,
                                 em_val *model_out);

/* Trains the same model on an array of labelled points in the calling
 * task's thread, for functions that train inside tasks (the trainers of
 * em_ml_grid_search): no jobs run; the array is one partition (index 0),
 * so batch mode steps on its full (or sampled) gradient, averaging and
 * ipm are plain SGD over it, and hogwild is too, on one thread. The same
 * options, model and errors as em_linear_train; a malformed point fails
 * the task (EM_EUSER with the message). EM_EINVAL when t is NULL or
 * points is not an array, EM_EEMPTY for an empty one. */
EM_API em_status em_linear_train_local(em_task *t, em_val points,
                                       em_linear_loss loss,
                                       const em_linear_opts *opts,
                                       em_arena *a, em_val *model_out);

/* em_linear_train_local as a user function, the trainer of
 * em_ml_grid_search: args[0] an array of labelled points, args[1] (may be
 * absent or nil) a map of options overriding those of env (a map, or
 * nil). The keys are pyspark.mllib's keyword arguments and the Lua
 * binding's: iterations (int), step, miniBatchFraction, regParam,
 * convergenceTol (<= 0: never stop early), seed (int), intercept and
 * averaged (bools), and strings regType ("none", "l2", "l1"), schedule
 * ("invsqrt", "constant"), mode ("batch", "averaging", "ipm", "hogwild"),
 * optimizer (em_optim_kind_parse's names) and loss ("logistic" (the
 * default), "linear", "perceptron"); the C defaults otherwise. The model
 * is placed in the task's arena. An unknown key or a value of the wrong
 * kind fails the task. */
EM_API em_status em_linear_train_op(em_task *t, const em_val *env,
                                    const em_val *args, size_t nargs,
                                    em_val *out);

/* The parts of a model value (views into it); any out may be NULL.
 * EM_EFORMAT when model is not a linear model. */
EM_API em_status em_linear_model_parts(em_val model, em_linear_loss *loss_out,
                                       em_val *weights_out,
                                       double *intercept_out);

/* The margin w.x + b of a feature vector. EM_EINVAL for a vector of
 * another dimension. */
EM_API em_status em_linear_margin(em_val model, em_val features,
                                  double *out);

/* A logistic model's class (1 when the probability is > 0.5, else 0), a
 * perceptron's class (1 when the margin is > 0, else 0) or a linear
 * model's value. */
EM_API em_status em_linear_predict(em_val model, em_val features,
                                   double *out);

/* A logistic model's probability of class 1, 1 / (1 + e^-m). EM_EINVAL
 * for a linear model or a perceptron. */
EM_API em_status em_linear_predict_probability(em_val model, em_val features,
                                               double *out);

/* The prediction as a user function for map: env is the model or a
 * broadcast reference to it; args[0] features or a labelled point. */
EM_API em_status em_linear_predict_op(em_task *t, const em_val *env,
                                      const em_val *args, size_t nargs,
                                      em_val *out);

/* Writes the model (the value codec's msgpack) to a new file at path,
 * replacing one there. EM_EIO with the path and reason on failure. */
EM_API em_status em_linear_model_save(em_val model, const char *path);

/* Reads a model written by em_linear_model_save into a. EM_EIO, or
 * EM_EFORMAT when the file does not hold a linear model. */
EM_API em_status em_linear_model_load(const char *path, em_arena *a,
                                      em_val *out);

#ifdef __cplusplus
}
#endif
#endif /* EMBER_INCLUDE_EMBER_ML_LINEAR_H */
