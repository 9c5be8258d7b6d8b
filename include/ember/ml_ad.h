/* Reverse-mode automatic differentiation on a tape (a Wengert list) over
 * dense row-major matrices of doubles, and the multilayer perceptron
 * trained with it (ops/ml/ad.c, ops/ml/mlp.c). docs/ml.md, "Autodiff" and
 * "MLP".
 */
#ifndef EMBER_INCLUDE_EMBER_ML_AD_H
#define EMBER_INCLUDE_EMBER_ML_AD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../ember.h"
#include "ml_linear.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* The tape (ops/ml/ad.c)                                               */
/* ------------------------------------------------------------------ */

/* A tape: the nodes recorded so far, each with its value (computed when
 * it is recorded) and, after em_ad_backward, its gradient. Every node is
 * a rows x cols matrix stored row-major; a vector of n is n x 1 and a
 * scalar 1 x 1. Library-allocated: create, then em_ad_destroy. A tape is
 * used by one thread at a time.
 *
 * Errors are sticky: an operation that fails (a shape mismatch, a label
 * out of range, an unknown node, out of memory) records the first error
 * on the tape (em_ad_status, em_last_error) and returns EM_AD_NONE; an
 * operation given EM_AD_NONE returns EM_AD_NONE without a new message.
 * So an expression can be written in one go and checked once. */
typedef struct em_ad em_ad;

/* A node of a tape: its position in the list. */
typedef int32_t em_ad_node;

#define EM_AD_NONE ((em_ad_node)-1)

/* An empty tape; NULL with EM_ENOMEM. */
EM_API em_ad *em_ad_create(void);
EM_API void em_ad_destroy(em_ad *t);

/* Forgets every node and the sticky error, keeping the tape for reuse. */
EM_API void em_ad_clear(em_ad *t);

/* EM_OK, or the first error an operation on the tape met. */
EM_API em_status em_ad_status(const em_ad *t);

/* ---- leaves ---- */

/* A constant rows x cols matrix, a copy of the rows * cols doubles at v
 * (row-major; zeros when v is NULL). It has a gradient after backward but is no parameter. */
EM_API em_ad_node em_ad_const(em_ad *t, size_t rows, size_t cols,
                              const double *v);

/* The constant scalar x. */
EM_API em_ad_node em_ad_scalar(em_ad *t, double x);

/* A parameter: as em_ad_const (v is copied), and em_ad_backward writes
 * the gradient of the root with respect to it to grad (rows * cols
 * doubles, overwritten, not added to) unless grad is NULL. grad is
 * borrowed and must stay valid until the last backward of the tape. */
EM_API em_ad_node em_ad_param(em_ad *t, size_t rows, size_t cols,
                              const double *v, double *grad);

/* ---- operations; each value is computed when the node is recorded ---- */

/* a + b, a - b and the elementwise product a * b, of equal shapes. */
EM_API em_ad_node em_ad_add(em_ad *t, em_ad_node a, em_ad_node b);
EM_API em_ad_node em_ad_sub(em_ad *t, em_ad_node a, em_ad_node b);
EM_API em_ad_node em_ad_mul(em_ad *t, em_ad_node a, em_ad_node b);

/* m with the vector v (cols entries, 1 x cols or cols x 1) added to each
 * row: the bias of a layer applied to a batch of rows. */
EM_API em_ad_node em_ad_add_rows(em_ad *t, em_ad_node m, em_ad_node v);

/* c a for a constant c. */
EM_API em_ad_node em_ad_scale(em_ad *t, em_ad_node a, double c);

/* The product of a (m x k) and b (k x n): m x n. em_ad_matvec is the same
 * with x a vector of k (k x 1), giving a vector of m. */
EM_API em_ad_node em_ad_matmul(em_ad *t, em_ad_node a, em_ad_node b);
EM_API em_ad_node em_ad_matvec(em_ad *t, em_ad_node a, em_ad_node x);

/* The scalar sum of a_ij b_ij, of equal shapes (the dot product of two
 * vectors). */
EM_API em_ad_node em_ad_dot(em_ad *t, em_ad_node a, em_ad_node b);

/* The scalar sum and mean of the entries of a. */
EM_API em_ad_node em_ad_sum(em_ad *t, em_ad_node a);
EM_API em_ad_node em_ad_mean(em_ad *t, em_ad_node a);

/* Elementwise functions. log is C's log (an entry <= 0 gives -inf or
 * NaN, not an error); relu's derivative at 0 is taken as 0. */
EM_API em_ad_node em_ad_exp(em_ad *t, em_ad_node a);
EM_API em_ad_node em_ad_log(em_ad *t, em_ad_node a);
EM_API em_ad_node em_ad_tanh(em_ad *t, em_ad_node a);
EM_API em_ad_node em_ad_sigmoid(em_ad *t, em_ad_node a);
EM_API em_ad_node em_ad_relu(em_ad *t, em_ad_node a);

/* The mean over the rows of logits (n x c, one sample per row) of the
 * cross-entropy -log softmax(row)[label] with labels[i] in [0, c): a
 * scalar. As a special case a vector (c x 1) with n == 1 is one sample of
 * c classes. Computed stably (the row maximum subtracted). */
EM_API em_ad_node em_ad_softmax_xent(em_ad *t, em_ad_node logits,
                                     const int64_t *labels, size_t n);

/* ---- results ---- */

/* Fills the gradient of the scalar root with respect to every node
 * recorded before it, and writes each parameter's to its grad buffer.
 * EM_EINVAL when root is not a scalar node; the sticky error when the
 * tape has one; EM_ENOMEM. May be called again (for another root). */
EM_API em_status em_ad_backward(em_ad *t, em_ad_node root);

/* The shape of a node (both 0 for EM_AD_NONE or an unknown node). */
EM_API void em_ad_shape(const em_ad *t, em_ad_node n, size_t *rows_out,
                        size_t *cols_out);

/* The value (rows * cols doubles) and the gradient of the last backward
 * of a node, borrowed until the tape is cleared or destroyed; NULL for
 * an unknown node, and for the gradient of a node the last backward did
 * not reach (recorded after its root) or before any backward. */
EM_API const double *em_ad_value(const em_ad *t, em_ad_node n);
EM_API const double *em_ad_grad(const em_ad *t, em_ad_node n);

/* ------------------------------------------------------------------ */
/* Multilayer perceptron (ops/ml/mlp.c)                                 */
/* ------------------------------------------------------------------ */

typedef enum em_mlp_activation {
    EM_MLP_TANH = 0, /* of every hidden layer; the output is a softmax */
    EM_MLP_RELU,
} em_mlp_activation;

typedef enum em_mlp_mode {
    EM_MLP_BATCH = 0,  /* a job per step: the weights broadcast, the
                          gradients summed by treeReduce, the step taken
                          on the driver */
    EM_MLP_ALLREDUCE,  /* the same steps in one barrier stage, one task per
                          partition holding a copy of the weights: the
                          gradient sums and counts ring-allreduced, every
                          task taking the same optimizer step */
    EM_MLP_PS,         /* asynchronous mini-batch SGD against a parameter
                          server: the first layer's weights keyed per
                          input feature, so a mini-batch pulls and pushes
                          only the rows of its non-zero features */
} em_mlp_mode;

/* Options of em_mlp_train; zero means the default for each field. */
typedef struct em_mlp_opts {
    const int *layers;  /* Spark's layers: the input size, the hidden
                           sizes, the number of classes; required */
    size_t num_layers;  /* >= 2 */
    em_mlp_activation activation;
    em_optim_conf optim; /* the shared optimizers; the matrices are
                            regularized, the biases not */
    int epochs;         /* default 100; in ps mode every task's passes
                           over its partition */
    int batch_size;     /* points per step, expected: each step draws
                           every point with probability batch_size / N;
                           an epoch is ceil(N / batch_size) steps; in
                           ps mode the points per pull and push, taken
                           in order from the task's partition; default
                           32 */
    uint64_t seed;      /* of the initial weights and the draws */
    const double *initial_weights; /* NULL: Glorot uniform from seed;
                           else em_mlp_num_weights doubles */
    int tree_depth;     /* of the gradient sums; default 2 */
    em_mlp_mode mode;   /* allreduce needs a task slot per partition */
    int staleness;      /* ps mode: as em_linear_opts.staleness (0 reads
                           every change, negative: blocking reads) */
} em_mlp_opts;

/* The number of weights of a network: per layer l, a layers[l] x
 * layers[l + 1] matrix (row-major) and a bias of layers[l + 1]; in the
 * weight vector all matrices come first, then all biases. 0 for bad
 * sizes. */
EM_API size_t em_mlp_num_weights(const int *layers, size_t num_layers);

/* Trains a classifier by data-parallel mini-batch SGD on an RDD of
 * labelled points (labels 0 .. classes - 1, dense or sparse features of
 * dimension layers[0]): each step broadcasts the weights, every partition
 * records its drawn points' mean loss (softmax cross-entropy) on a tape
 * and differentiates it, treeReduce adds the partitions' gradients
 * (weighted by their points) and the driver takes one optimizer step on
 * the mean. The draws depend on (seed, step, partition, position) only,
 * so a model repeats exactly for the same partitioning on any number of
 * threads (in ps mode, whose tasks step without waiting for each other,
 * only on one task). The model is a map value in a:
 *
 *   {"kind": "mlp", "layers": [int...], "activation": "tanh" | "relu",
 *    "weights": vec, "loss": vec of each epoch's mean batch loss,
 *    "epochs": int}
 *
 * Runs jobs; a malformed point or label fails the job with a message.
 * EM_EINVAL for bad options, EM_EEMPTY for no points. Persist the points
 * first. */
EM_API em_status em_mlp_train(em_rdd *points, const em_mlp_opts *opts,
                              em_arena *a, em_val *model_out);

/* The class of highest probability for a feature vector (the first on
 * ties). EM_EFORMAT when model is not an MLP, EM_EINVAL for features of
 * another dimension. */
EM_API em_status em_mlp_predict(em_val model, em_val features, double *out);

/* The prediction as a user function for map: env is the model or a
 * broadcast reference to it; args[0] features or a labelled point. */
EM_API em_status em_mlp_predict_op(em_task *t, const em_val *env,
                                   const em_val *args, size_t nargs,
                                   em_val *out);

#ifdef __cplusplus
}
#endif
#endif /* EMBER_INCLUDE_EMBER_ML_AD_H */
