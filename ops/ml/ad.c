/* Reverse-mode automatic differentiation on a tape: every operation
 * appends a node (its operands, its shape and its value, computed at
 * once) to a list; backward walks the list from the root to the start,
 * adding each node's gradient into its operands'. Values, gradients and
 * labels live in one arena per tape. docs/ml.md, "Autodiff".
 */
#include <math.h>
#include <string.h>

#include "ad_int.h"
#include "ember/ml_ad.h"
#include "runtime/err.h"
#include "runtime/mem.h"

typedef enum op {
    OP_CONST, OP_PARAM, OP_ADD, OP_SUB, OP_MUL, OP_ADD_ROWS, OP_SCALE,
    OP_MATMUL, OP_DOT, OP_SUM, OP_MEAN, OP_EXP, OP_LOG, OP_TANH,
    OP_SIGMOID, OP_RELU, OP_XENT,
} op;

typedef struct node {
    op kind;
    em_ad_node a, b;  /* operands, or EM_AD_NONE */
    size_t rows, cols;
    double c;         /* scale's constant */
    double *v;        /* value, rows * cols (arena) */
    double *g;        /* gradient, rows * cols (arena), after backward */
    double *aux;      /* xent: the softmax of the logits (arena) */
    int64_t *labels;  /* xent: one per sample (arena) */
    size_t nlab;      /* xent: samples */
    double *grad_out; /* param: where backward writes the gradient */
} node;

struct em_ad {
    em_arena *arena;  /* values, gradients, labels */
    node *nodes;      /* the list (mem.h) */
    size_t n, cap;    /* nodes used and allocated */
    em_status st;     /* the first error, sticky */
    size_t grads_to;  /* nodes [0, grads_to) have gradients */
    em__gpu *gpu;     /* matrix products on this device, or NULL */
};

void em__ad_use_gpu(em_ad *t, em__gpu *g)
{
    t->gpu = g;
}

em_ad *em_ad_create(void)
{
    em_ad *t = em__mem_calloc(1, sizeof(*t));

    if (t == NULL)
        return NULL;
    if ((t->arena = em_arena_create()) == NULL) {
        em__mem_free(t, sizeof(*t));
        return NULL;
    }
    return t;
}

void em_ad_destroy(em_ad *t)
{
    if (t == NULL)
        return;
    em_arena_destroy(t->arena);
    em__mem_free(t->nodes, t->cap * sizeof(node));
    em__mem_free(t, sizeof(*t));
}

void em_ad_clear(em_ad *t)
{
    em_arena *fresh = em_arena_create();

    t->n = 0;
    t->grads_to = 0;
    t->st = EM_OK;
    if (fresh == NULL) {
        /* keep the old arena: correct, only its memory is not returned */
        return;
    }
    em_arena_destroy(t->arena);
    t->arena = fresh;
}

em_status em_ad_status(const em_ad *t)
{
    return t->st;
}

/* Records the first error and returns EM_AD_NONE. */
static em_ad_node fail(em_ad *t, em_status st)
{
    if (t->st == EM_OK)
        t->st = st;
    return EM_AD_NONE;
}

/* The node n when it exists and the tape has no error, else NULL. */
static node *get(em_ad *t, em_ad_node n)
{
    if (t->st != EM_OK)
        return NULL;
    if (n < 0 || (size_t)n >= t->n) {
        if (n != EM_AD_NONE)
            fail(t, em__err(EM_EINVAL, "autodiff: no node %d on the tape",
                            (int)n));
        else
            fail(t, em__err(EM_EINVAL, "autodiff: an operand is missing"));
        return NULL;
    }
    return &t->nodes[n];
}

/* rows * cols doubles in the tape's arena, zeroed; NULL on overflow or
 * out of memory (the error recorded). */
static double *alloc_doubles(em_ad *t, size_t rows, size_t cols)
{
    size_t n, bytes;
    double *p;

    if (em__mul_ok(rows, cols, &n) != 0 ||
        em__mul_ok(n, sizeof(double), &bytes) != 0) {
        fail(t, em__err(EM_EINVAL, "autodiff: a %zu x %zu matrix is too "
                        "large", rows, cols));
        return NULL;
    }
    if ((p = em_arena_alloc(t->arena, bytes)) == NULL) {
        fail(t, em__oom());
        return NULL;
    }
    memset(p, 0, bytes);
    return p;
}

/* Appends a node of the given shape with a zeroed value; its id in
 * *id_out. NULL when out of memory. */
static node *push(em_ad *t, op kind, em_ad_node a, em_ad_node b,
                  size_t rows, size_t cols, em_ad_node *id_out)
{
    node *x;
    double *v;

    if (t->n >= INT32_MAX) {
        fail(t, em__err(EM_ELIMIT, "autodiff: the tape is full"));
        return NULL;
    }
    if ((v = alloc_doubles(t, rows, cols)) == NULL)
        return NULL;
    if (em__mem_grow((void **)&t->nodes, &t->cap, t->n + 1, sizeof(node)) !=
        0) {
        fail(t, em__oom());
        return NULL;
    }
    x = &t->nodes[t->n];
    *x = (node){.kind = kind, .a = a, .b = b, .rows = rows, .cols = cols,
                .v = v};
    *id_out = (em_ad_node)t->n++;
    return x;
}

static size_t size_of(const node *x)
{
    return x->rows * x->cols;
}

static em_ad_node leaf(em_ad *t, op kind, size_t rows, size_t cols,
                       const double *v, double *grad)
{
    em_ad_node id;
    node *x;

    if (t->st != EM_OK)
        return EM_AD_NONE;
    if (rows == 0 || cols == 0)
        return fail(t, em__err(EM_EINVAL, "autodiff: a %zu x %zu leaf has "
                               "no entries", rows, cols));
    if ((x = push(t, kind, EM_AD_NONE, EM_AD_NONE, rows, cols, &id)) ==
        NULL)
        return EM_AD_NONE;
    if (v != NULL)
        memcpy(x->v, v, size_of(x) * sizeof(double));
    x->grad_out = grad;
    return id;
}

em_ad_node em_ad_const(em_ad *t, size_t rows, size_t cols, const double *v)
{
    return leaf(t, OP_CONST, rows, cols, v, NULL);
}

em_ad_node em_ad_scalar(em_ad *t, double x)
{
    return leaf(t, OP_CONST, 1, 1, &x, NULL);
}

em_ad_node em_ad_param(em_ad *t, size_t rows, size_t cols, const double *v,
                       double *grad)
{
    return leaf(t, OP_PARAM, rows, cols, v, grad);
}

static const char *const op_names[] = {
    "const", "param", "add", "sub", "mul", "add_rows", "scale", "matmul",
    "dot", "sum", "mean", "exp", "log", "tanh", "sigmoid", "relu",
    "softmax_xent"};

/* Records a shape mismatch of an operation on x and y. */
static em_ad_node mismatch(em_ad *t, op kind, const node *x, const node *y)
{
    return fail(t, em__err(EM_EINVAL, "autodiff: %s of a %zu x %zu and a "
                           "%zu x %zu node: shapes do not match",
                           op_names[kind], x->rows, x->cols, y->rows,
                           y->cols));
}

/* add, sub, mul, dot: operands of equal shapes. */
static em_ad_node binary(em_ad *t, op kind, em_ad_node a, em_ad_node b)
{
    node *x = get(t, a), *y = get(t, b), *z;
    em_ad_node id;
    bool is_dot = kind == OP_DOT;

    if (x == NULL || y == NULL)
        return EM_AD_NONE;
    if (x->rows != y->rows || x->cols != y->cols)
        return mismatch(t, kind, x, y);
    if ((z = push(t, kind, a, b, is_dot ? 1 : x->rows, is_dot ? 1 : x->cols,
                  &id)) == NULL)
        return EM_AD_NONE;
    x = &t->nodes[a]; /* push may have moved the list */
    y = &t->nodes[b];
    for (size_t i = 0; i < size_of(x); i++) {
        double p = x->v[i], q = y->v[i];
        if (kind == OP_DOT)
            z->v[0] += p * q;
        else
            z->v[i] = kind == OP_ADD ? p + q : kind == OP_SUB ? p - q : p * q;
    }
    return id;
}

em_ad_node em_ad_add(em_ad *t, em_ad_node a, em_ad_node b)
{
    return binary(t, OP_ADD, a, b);
}

em_ad_node em_ad_sub(em_ad *t, em_ad_node a, em_ad_node b)
{
    return binary(t, OP_SUB, a, b);
}

em_ad_node em_ad_mul(em_ad *t, em_ad_node a, em_ad_node b)
{
    return binary(t, OP_MUL, a, b);
}

em_ad_node em_ad_dot(em_ad *t, em_ad_node a, em_ad_node b)
{
    return binary(t, OP_DOT, a, b);
}

em_ad_node em_ad_add_rows(em_ad *t, em_ad_node m, em_ad_node v)
{
    node *x = get(t, m), *y = get(t, v), *z;
    em_ad_node id;

    if (x == NULL || y == NULL)
        return EM_AD_NONE;
    if (size_of(y) != x->cols || (y->rows != 1 && y->cols != 1))
        return mismatch(t, OP_ADD_ROWS, x, y);
    if ((z = push(t, OP_ADD_ROWS, m, v, x->rows, x->cols, &id)) == NULL)
        return EM_AD_NONE;
    x = &t->nodes[m];
    y = &t->nodes[v];
    for (size_t i = 0; i < x->rows; i++)
        for (size_t j = 0; j < x->cols; j++)
            z->v[i * x->cols + j] = x->v[i * x->cols + j] + y->v[j];
    return id;
}

em_ad_node em_ad_matmul(em_ad *t, em_ad_node a, em_ad_node b)
{
    node *x = get(t, a), *y = get(t, b), *z;
    em_ad_node id;
    size_t m, k, n;

    if (x == NULL || y == NULL)
        return EM_AD_NONE;
    if (x->cols != y->rows)
        return mismatch(t, OP_MATMUL, x, y);
    m = x->rows;
    k = x->cols;
    n = y->cols;
    if ((z = push(t, OP_MATMUL, a, b, m, n, &id)) == NULL)
        return EM_AD_NONE;
    x = &t->nodes[a];
    y = &t->nodes[b];
    if (t->gpu != NULL) {
        em__gpu_gemm(t->gpu, false, false, m, n, k, x->v, y->v, z->v);
        return id;
    }
    for (size_t i = 0; i < m; i++)
        for (size_t l = 0; l < k; l++) {
            double p = x->v[i * k + l];
            for (size_t j = 0; j < n; j++)
                z->v[i * n + j] += p * y->v[l * n + j];
        }
    return id;
}

em_ad_node em_ad_matvec(em_ad *t, em_ad_node a, em_ad_node x)
{
    node *y = get(t, x);

    if (y != NULL && y->cols != 1)
        return fail(t, em__err(EM_EINVAL, "autodiff: matvec of a %zu x %zu "
                               "node: not a vector", y->rows, y->cols));
    return em_ad_matmul(t, a, x);
}

/* scale, sum, mean and the elementwise functions. */
static em_ad_node unary(em_ad *t, op kind, em_ad_node a, double c)
{
    node *x = get(t, a), *z;
    em_ad_node id;
    bool is_red = kind == OP_SUM || kind == OP_MEAN;
    size_t n;

    if (x == NULL)
        return EM_AD_NONE;
    if ((z = push(t, kind, a, EM_AD_NONE, is_red ? 1 : x->rows,
                  is_red ? 1 : x->cols, &id)) == NULL)
        return EM_AD_NONE;
    x = &t->nodes[a];
    z->c = c;
    n = size_of(x);
    for (size_t i = 0; i < n; i++) {
        double p = x->v[i];
        switch (kind) {
        case OP_SCALE: z->v[i] = c * p; break;
        case OP_SUM: z->v[0] += p; break;
        case OP_MEAN: z->v[0] += p / (double)n; break;
        case OP_EXP: z->v[i] = exp(p); break;
        case OP_LOG: z->v[i] = log(p); break;
        case OP_TANH: z->v[i] = tanh(p); break;
        case OP_SIGMOID: z->v[i] = 1 / (1 + exp(-p)); break;
        case OP_RELU: z->v[i] = p > 0 ? p : 0; break;
        default: break;
        }
    }
    return id;
}

em_ad_node em_ad_scale(em_ad *t, em_ad_node a, double c)
{
    return unary(t, OP_SCALE, a, c);
}

em_ad_node em_ad_sum(em_ad *t, em_ad_node a)
{
    return unary(t, OP_SUM, a, 0);
}

em_ad_node em_ad_mean(em_ad *t, em_ad_node a)
{
    return unary(t, OP_MEAN, a, 0);
}

em_ad_node em_ad_exp(em_ad *t, em_ad_node a)
{
    return unary(t, OP_EXP, a, 0);
}

em_ad_node em_ad_log(em_ad *t, em_ad_node a)
{
    return unary(t, OP_LOG, a, 0);
}

em_ad_node em_ad_tanh(em_ad *t, em_ad_node a)
{
    return unary(t, OP_TANH, a, 0);
}

em_ad_node em_ad_sigmoid(em_ad *t, em_ad_node a)
{
    return unary(t, OP_SIGMOID, a, 0);
}

em_ad_node em_ad_relu(em_ad *t, em_ad_node a)
{
    return unary(t, OP_RELU, a, 0);
}

/* Row i's softmax into p and its cross-entropy at label y. */
static double softmax_row(const double *z, size_t c, int64_t y, double *p)
{
    double mx = z[0], s = 0;

    for (size_t j = 1; j < c; j++)
        mx = fmax(mx, z[j]);
    for (size_t j = 0; j < c; j++)
        s += (p[j] = exp(z[j] - mx));
    for (size_t j = 0; j < c; j++)
        p[j] /= s;
    return log(s) - (z[y] - mx);
}

em_ad_node em_ad_softmax_xent(em_ad *t, em_ad_node logits,
                              const int64_t *labels, size_t n)
{
    node *x = get(t, logits), *z;
    em_ad_node id;
    size_t c;

    if (x == NULL)
        return EM_AD_NONE;
    c = x->cols == 1 && n == 1 ? x->rows : x->cols;
    if (n == 0 || (x->rows != n && !(x->cols == 1 && n == 1)))
        return fail(t, em__err(EM_EINVAL, "autodiff: softmax_xent of a %zu "
                               "x %zu node with %zu labels: one label per "
                               "row", x->rows, x->cols, n));
    for (size_t i = 0; i < n; i++)
        if (labels[i] < 0 || (uint64_t)labels[i] >= c)
            return fail(t, em__err(EM_EINVAL, "autodiff: softmax_xent: "
                                   "label %lld of sample %zu is not in [0, "
                                   "%zu)", (long long)labels[i], i, c));
    if ((z = push(t, OP_XENT, logits, EM_AD_NONE, 1, 1, &id)) == NULL)
        return EM_AD_NONE;
    x = &t->nodes[logits];
    if ((z->aux = alloc_doubles(t, x->rows, x->cols)) == NULL ||
        (z->labels = em_arena_alloc(t->arena, n * sizeof(int64_t))) ==
            NULL) {
        t->n--;
        return t->st == EM_OK ? fail(t, em__oom()) : EM_AD_NONE;
    }
    memcpy(z->labels, labels, n * sizeof(int64_t));
    z->nlab = n;
    for (size_t i = 0; i < n; i++)
        z->v[0] += softmax_row(x->v + i * c, c, labels[i], z->aux + i * c) /
                   (double)n;
    return id;
}

/* ---- backward ---- */

/* Adds the gradient of elementwise and reduction nodes to operand x. */
static void back_unary(const node *z, node *x)
{
    size_t n = size_of(x);

    if (z->kind == OP_SUM || z->kind == OP_MEAN) {
        double g = z->g[0] / (z->kind == OP_MEAN ? (double)n : 1.0);
        for (size_t i = 0; i < n; i++)
            x->g[i] += g;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        double p = x->v[i], q = z->v[i], g;
        switch (z->kind) {
        case OP_SCALE: g = z->g[i] * z->c; break;
        case OP_EXP: g = z->g[i] * q; break;
        case OP_LOG: g = z->g[i] / p; break;
        case OP_TANH: g = z->g[i] * (1 - q * q); break;
        case OP_SIGMOID: g = z->g[i] * q * (1 - q); break;
        case OP_RELU: g = p > 0 ? z->g[i] : 0; break;
        default: g = 0; break;
        }
        x->g[i] += g;
    }
}

static void back_matmul(em__gpu *g, const node *z, node *x, node *y)
{
    size_t m = x->rows, k = x->cols, n = y->cols;

    /* dX = dZ Y^T, dY = X^T dZ */
    if (g != NULL) {
        em__gpu_gemm(g, false, true, m, k, n, z->g, y->v, x->g);
        em__gpu_gemm(g, true, false, k, n, m, x->v, z->g, y->g);
        return;
    }
    for (size_t i = 0; i < m; i++)
        for (size_t l = 0; l < k; l++) {
            double s = 0, p = x->v[i * k + l];
            for (size_t j = 0; j < n; j++) {
                s += z->g[i * n + j] * y->v[l * n + j];
                y->g[l * n + j] += p * z->g[i * n + j];
            }
            x->g[i * k + l] += s;
        }
}

static void back_xent(const node *z, node *x)
{
    size_t n = z->nlab, c = size_of(x) / n;

    /* d/dz_ij = (p_ij - [j == y_i]) / n */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < c; j++)
            x->g[i * c + j] += z->g[0] *
                               (z->aux[i * c + j] -
                                ((int64_t)j == z->labels[i] ? 1.0 : 0.0)) /
                               (double)n;
}

/* Adds node z's gradient into its operands'. */
static void back_node(em_ad *t, const node *z)
{
    node *x = z->a >= 0 ? &t->nodes[z->a] : NULL;
    node *y = z->b >= 0 ? &t->nodes[z->b] : NULL;
    size_t n = size_of(z);

    switch (z->kind) {
    case OP_CONST:
    case OP_PARAM:
        break;
    case OP_ADD:
    case OP_SUB:
        for (size_t i = 0; i < n; i++) {
            x->g[i] += z->g[i];
            y->g[i] += z->kind == OP_ADD ? z->g[i] : -z->g[i];
        }
        break;
    case OP_MUL:
        for (size_t i = 0; i < n; i++) {
            double xv = x->v[i]; /* x and y may be the same node */
            x->g[i] += z->g[i] * y->v[i];
            y->g[i] += z->g[i] * xv;
        }
        break;
    case OP_DOT:
        for (size_t i = 0; i < size_of(x); i++) {
            double xv = x->v[i];
            x->g[i] += z->g[0] * y->v[i];
            y->g[i] += z->g[0] * xv;
        }
        break;
    case OP_ADD_ROWS:
        for (size_t i = 0; i < n; i++) {
            x->g[i] += z->g[i];
            y->g[i % z->cols] += z->g[i];
        }
        break;
    case OP_MATMUL:
        back_matmul(t->gpu, z, x, y);
        break;
    case OP_XENT:
        back_xent(z, x);
        break;
    default:
        back_unary(z, x);
        break;
    }
}

em_status em_ad_backward(em_ad *t, em_ad_node root)
{
    node *r;

    if (t->st != EM_OK)
        return t->st;
    if (root < 0 || (size_t)root >= t->n)
        return em__err(EM_EINVAL, "autodiff: backward from node %d, not on "
                       "the tape", (int)root);
    r = &t->nodes[root];
    if (size_of(r) != 1)
        return em__err(EM_EINVAL, "autodiff: backward from a %zu x %zu "
                       "node: the root must be a scalar", r->rows, r->cols);
    for (size_t i = 0; i <= (size_t)root; i++) {
        node *x = &t->nodes[i];
        if (x->g == NULL &&
            (x->g = alloc_doubles(t, x->rows, x->cols)) == NULL) {
            t->st = EM_OK; /* out of memory here is not sticky */
            t->grads_to = 0;
            return EM_ENOMEM;
        }
        memset(x->g, 0, size_of(x) * sizeof(double));
    }
    t->grads_to = (size_t)root + 1;
    r->g[0] = 1;
    for (size_t i = (size_t)root + 1; i-- > 0;)
        back_node(t, &t->nodes[i]);
    for (size_t i = 0; i <= (size_t)root; i++) {
        node *x = &t->nodes[i];
        if (x->kind == OP_PARAM && x->grad_out != NULL)
            memcpy(x->grad_out, x->g, size_of(x) * sizeof(double));
    }
    return EM_OK;
}

void em_ad_shape(const em_ad *t, em_ad_node n, size_t *rows_out,
                 size_t *cols_out)
{
    bool ok = n >= 0 && (size_t)n < t->n;

    *rows_out = ok ? t->nodes[n].rows : 0;
    *cols_out = ok ? t->nodes[n].cols : 0;
}

const double *em_ad_value(const em_ad *t, em_ad_node n)
{
    return n >= 0 && (size_t)n < t->n ? t->nodes[n].v : NULL;
}

const double *em_ad_grad(const em_ad *t, em_ad_node n)
{
    return n >= 0 && (size_t)n < t->grads_to ? t->nodes[n].g : NULL;
}
