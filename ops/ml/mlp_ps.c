/* The MLP's ps mode: asynchronous mini-batch SGD against a parameter
 * server, for sparse high-dimensional inputs such as hashed text. The
 * server's keys hold h values, h the first hidden layer's width: key
 * j < d the weights from input j to that layer (row j of the first
 * matrix), keys d, d + 1, ... the rest of the weight vector (the later
 * matrices and every bias) in blocks of h, the last one padded. The
 * server holds each weight's change from the initial weights, which the
 * tasks get as a broadcast, so that keys start at zero whatever the
 * initialization. Per mini-batch a task pulls the rows of the batch's
 * non-zero features and every block, records the loss of the network
 * whose first layer has only those rows (the same tape as the other
 * modes) and pushes the mean gradient, which the server's per-key
 * optimizer applies. docs/ml.md, "Allreduce and parameter-server modes".
 */
#include <math.h>
#include <string.h>

#include "dist_sgd.h"
#include "linear.h"
#include "mlp_int.h"
#include "runtime/err.h"
#include "runtime/mem.h"

#define MAX_LAYERS 64

/* The environment of the tasks: an array indexed by these. */
enum {
    ENV_PS,     /* the parameter server's handle */
    ENV_W0,     /* broadcast reference to the initial weights vec */
    ENV_LAYERS, /* vec of the layer sizes */
    ENV_ACT,    /* int: em_mlp_activation */
    ENV_BATCH,  /* int: points per pull and push */
    ENV_EPOCHS, /* int */
    ENV_L2,     /* float: the L2 parameter, 0 for none */
    ENV_N
};

/* Where a network's weights live on the server. */
typedef struct layout {
    int layers[MAX_LAYERS];
    size_t nl;
    size_t d, h;     /* inputs; the first hidden width, each key's size */
    size_t rest;     /* weights after the first matrix */
    size_t blocks;   /* the keys holding them */
    size_t reg_rest; /* of them, the matrices' (the biases follow) */
} layout;

static void layout_of(const int *layers, size_t nl, layout *k)
{
    memcpy(k->layers, layers, nl * sizeof(int));
    k->nl = nl;
    k->d = (size_t)layers[0];
    k->h = (size_t)layers[1];
    k->rest = em_mlp_num_weights(layers, nl) - k->d * k->h;
    k->blocks = (k->rest + k->h - 1) / k->h;
    k->reg_rest = 0;
    for (size_t l = 1; l + 1 < nl; l++)
        k->reg_rest += (size_t)layers[l] * (size_t)layers[l + 1];
}

/* A task's state. */
typedef struct worker {
    em_task *t;
    const em_val *e; /* the environment's entries */
    layout k;
    const double *w0; /* the initial weights */
    em_val recs;      /* the partition's records */
} worker;

/* The class of point p into *y; false when p is not [class in 0 ..
 * classes - 1, vector of dimension d]. */
static bool read_label(const layout *k, em_val p, int64_t *y)
{
    double lab;
    em_val f;

    if (!em_val_is_pair(p) || !em_val_as_float(p.u.arr[0], &lab))
        return false;
    f = p.u.arr[1];
    if (!((f.type == EM_VEC && f.len == k->d) ||
          (f.type == EM_SPVEC && f.u.sp->dim == (int64_t)k->d)))
        return false;
    *y = (int64_t)lab;
    return lab >= 0 && lab < k->layers[k->nl - 1] && lab == (double)*y;
}

/* The distinct non-zero features of points [first, first + n) into
 * *idx (in a), their count into *nf; feature 0 for a batch without any,
 * so that the first layer is never empty (its inputs are zeros). */
static em_status batch_features(worker *w, uint32_t first, size_t n,
                                em_arena *a, uint32_t **idx, size_t *nf)
{
    size_t need = 1, k = 0;
    uint32_t *ix;
    double v;

    for (size_t p = 0; p < n; p++)
        need += w->recs.u.arr[first + p].u.arr[1].len;
    if ((ix = em_arena_alloc(a, need * sizeof(uint32_t))) == NULL)
        return EM_ENOMEM;
    for (size_t p = 0; p < n; p++) {
        em_val f = w->recs.u.arr[first + p].u.arr[1];
        for (uint32_t j = 0; j < f.len; j++) {
            em__ps_feature_at(f, j, &ix[k], &v);
            k += v != 0;
        }
    }
    if (k == 0)
        ix[k++] = 0;
    *nf = em__ps_distinct(ix, k);
    *idx = ix;
    return EM_OK;
}

/* The batch's inputs over its features idx (n x nf, in a). */
static double *compact_inputs(worker *w, uint32_t first, size_t n,
                              const uint32_t *idx, size_t nf, em_arena *a)
{
    double *x = em_arena_alloc(a, n * nf * sizeof(double));
    uint32_t i;
    double v;

    if (x == NULL)
        return NULL;
    memset(x, 0, n * nf * sizeof(double));
    for (size_t p = 0; p < n; p++) {
        em_val f = w->recs.u.arr[first + p].u.arr[1];
        for (uint32_t j = 0; j < f.len; j++) {
            em__ps_feature_at(f, j, &i, &v);
            if (v != 0)
                x[p * nf + em__ps_key_pos(idx, nf, i)] = v;
        }
    }
    return x;
}

/* The compact network's weights (nf rows of the first matrix, then the
 * rest) from the initial weights and the pulled changes. */
static void compact_weights(const worker *w, const uint32_t *idx, size_t nf,
                            const double *pulled, double *lw)
{
    size_t h = w->k.h, dh = w->k.d * h;

    for (size_t r = 0; r < nf; r++)
        for (size_t c = 0; c < h; c++)
            lw[r * h + c] = w->w0[idx[r] * h + c] + pulled[r * h + c];
    for (size_t r = 0; r < w->k.rest; r++)
        lw[nf * h + r] = w->w0[dh + r] + pulled[nf * h + r];
}

/* The mean loss of the batch at weights lw and its gradient into g (the
 * compact layout, zeroed by the caller); the loss times n added to
 * *loss. */
static em_status compact_grad(worker *w, const double *x, const int64_t *y,
                              size_t n, size_t nf, const double *lw,
                              double *g, double *loss)
{
    int ll[MAX_LAYERS];
    double l2 = w->e[ENV_L2].u.f;
    size_t reg = nf * w->k.h + w->k.reg_rest;
    em_ad *tape = em_ad_create();
    em_ad_node root;
    em_status st;

    if (tape == NULL)
        return EM_ENOMEM;
    memcpy(ll, w->k.layers, w->k.nl * sizeof(int));
    ll[0] = (int)nf;
    root = em__mlp_record_loss(tape, ll, w->k.nl,
                               (em_mlp_activation)w->e[ENV_ACT].u.i, lw, g,
                               x, y, n);
    st = em_ad_backward(tape, root);
    if (st == EM_OK)
        *loss += em_ad_value(tape, root)[0] * (double)n;
    em_ad_destroy(tape);
    if (st != EM_OK)
        return st == EM_ENOMEM ? st : em__lin_fail_last(w->t);
    /* L2 on the matrices, as the optimizer's own would be: the server's
     * optimizer sees changes from the initial weights, not the weights */
    for (size_t i = 0; i < reg && l2 > 0; i++)
        g[i] += l2 * lw[i];
    return EM_OK;
}

/* Pull, gradient and push for points [first, first + n) in the scratch
 * arena a. */
static em_status run_batch(worker *w, uint32_t first, size_t n, em_arena *a,
                           double *loss)
{
    size_t h = w->k.h, nf, nk;
    uint32_t *idx;
    int64_t *y = em_arena_alloc(a, n * sizeof(int64_t));
    double *x, *pulled, *lw, *g;
    em_val *keys;
    em_status st;

    if (y == NULL)
        return EM_ENOMEM;
    for (size_t p = 0; p < n; p++)
        if (!read_label(&w->k, w->recs.u.arr[first + p], &y[p]))
            return em_task_fail(w->t, "mlp: partition %d record %zu is not "
                                "[class in 0..%d, vector of dimension %zu]",
                                em_task_partition(w->t), first + p,
                                w->k.layers[w->k.nl - 1] - 1, w->k.d);
    if ((st = batch_features(w, first, n, a, &idx, &nf)) != EM_OK)
        return st;
    nk = nf + w->k.blocks;
    keys = em_arena_alloc(a, nk * sizeof(em_val));
    pulled = em_arena_alloc(a, 3 * nk * h * sizeof(double));
    if (keys == NULL || pulled == NULL ||
        (x = compact_inputs(w, first, n, idx, nf, a)) == NULL)
        return EM_ENOMEM;
    lw = pulled + nk * h;
    g = lw + nk * h;
    for (size_t i = 0; i < nk; i++)
        keys[i] = em_int(i < nf ? (int64_t)idx[i]
                                : (int64_t)(w->k.d + i - nf));
    if ((st = em_ps_pull(w->t, w->e[ENV_PS], keys, nk, pulled)) != EM_OK)
        return st;
    compact_weights(w, idx, nf, pulled, lw);
    memset(g, 0, nk * h * sizeof(double)); /* the last block's padding */
    if ((st = compact_grad(w, x, y, n, nf, lw, g, loss)) != EM_OK)
        return st;
    return em_ps_push(w->t, w->e[ENV_PS], keys, nk, g);
}

/* One pass over the partition in mini-batches; the loss sum into *ls. */
static em_status run_epoch(worker *w, double *ls)
{
    size_t bsize = (size_t)w->e[ENV_BATCH].u.i;
    em_status st = EM_OK;

    for (uint32_t at = 0; at < w->recs.len && st == EM_OK; at += bsize) {
        size_t n = w->recs.len - at < bsize ? w->recs.len - at : bsize;
        /* a batch's buffers live until its push returns */
        em_arena *a = em_arena_create();
        if (a == NULL)
            return EM_ENOMEM;
        st = run_batch(w, at, n, a, ls);
        em_arena_destroy(a);
    }
    return st;
}

/* (index, records) -> [[loss sums vec, point counts vec]], one entry per
 * epoch. */
static em_status ps_partition(em_task *t, const em_val *env,
                              const em_val *args, size_t nargs, em_val *out)
{
    const em_val *e = env->u.arr;
    em_arena *a = em_task_arena(t);
    size_t epochs = (size_t)e[ENV_EPOCHS].u.i;
    int layers[MAX_LAYERS];
    worker w = {.t = t, .e = e, .recs = args[1]};
    em_val w0, *cell, *r;
    double *ls, *cs;
    em_status st = EM_OK;

    for (uint32_t l = 0; l < e[ENV_LAYERS].len; l++)
        layers[l] = (int)e[ENV_LAYERS].u.vec[l];
    layout_of(layers, e[ENV_LAYERS].len, &w.k);
    if ((st = em_task_broadcast(t, e[ENV_W0], &w0)) != EM_OK)
        return st;
    w.w0 = w0.u.vec;
    if ((cell = em_array_make(a, 1, out)) == NULL ||
        (r = em_array_make(a, 2, &cell[0])) == NULL ||
        (ls = em_vec_make(a, epochs, &r[0])) == NULL ||
        (cs = em_vec_make(a, epochs, &r[1])) == NULL)
        return EM_ENOMEM;
    for (size_t ep = 0; ep < epochs && st == EM_OK; ep++) {
        ls[ep] = 0;
        cs[ep] = w.recs.len;
        st = run_epoch(&w, &ls[ep]);
    }
    return st;
}

/* The training job; the changes read back are added to w, each epoch's
 * mean loss goes to hist. */
static em_status ps_job(em_rdd *points, em_ps *ps, const em_val *env,
                        const layout *k, double *w, double *hist)
{
    size_t nw = (k->d + k->blocks) * k->h, dim = k->d * k->h + k->rest;
    size_t epochs = (size_t)env[ENV_EPOCHS].u.i;
    em_rdd *parts = em_rdd_map_partitions_with_index(
        points, em_fn_of(ps_partition, em_array(env, ENV_N)));
    double *delta = em__mem_alloc(nw * sizeof(double));
    em_arena *a = em_arena_create();
    em_val got;
    em_status st = EM_ENOMEM;

    if (parts != NULL && delta != NULL && a != NULL)
        st = em_rdd_tree_reduce(parts, EM_FN(em__lin_sum_op), 2, a, &got);
    if (st == EM_OK)
        st = em__ps_read_all(ps, k->d + k->blocks, k->h, delta);
    if (st == EM_OK) {
        /* the keys in order are the weight vector, padded */
        for (size_t i = 0; i < dim; i++)
            w[i] += delta[i];
        for (size_t ep = 0; ep < epochs; ep++) {
            double n = got.u.arr[1].u.vec[ep];
            hist[ep] = n > 0 ? got.u.arr[0].u.vec[ep] / n : NAN;
        }
    }
    em__mem_free(delta, nw * sizeof(double));
    em_arena_destroy(a);
    return st;
}

em_status em__mlp_train_ps(em_rdd *points, const em_mlp_opts *o, double *w,
                           double *hist)
{
    em_ctx *ctx = em_rdd_ctx(points);
    em_ps_opts po = {.dim = o->layers[1], .has_optim = true,
                     .optim = o->optim, .staleness = o->staleness};
    double lv[MAX_LAYERS];
    em_val env[ENV_N];
    layout k;
    em_broadcast *bc;
    em_ps *ps;
    em_status st;

    if (o->optim.reg == EM_REG_L1)
        return em__err(EM_EINVAL, "mlp: ps mode takes L2 or no "
                       "regularization");
    po.optim.reg = EM_REG_NONE; /* the tasks add L2, sparing the biases */
    po.optim.reg_param = 0;
    layout_of(o->layers, o->num_layers, &k);
    for (size_t l = 0; l < o->num_layers; l++)
        lv[l] = o->layers[l];
    if ((bc = em_ctx_broadcast(ctx, em_vec(w, (uint32_t)(k.d * k.h +
                                                         k.rest)))) == NULL)
        return EM_ENOMEM;
    /* em_ps_create sets the message; an unreachable executor is the
     * failure left once the options are valid */
    if ((ps = em_ps_create(ctx, &po)) == NULL) {
        em_broadcast_destroy(bc);
        return EM_ELOST;
    }
    env[ENV_PS] = em_ps_ref(ps);
    env[ENV_W0] = em_broadcast_ref(bc);
    env[ENV_LAYERS] = em_vec(lv, (uint32_t)o->num_layers);
    env[ENV_ACT] = em_int(o->activation);
    env[ENV_BATCH] = em_int(o->batch_size);
    env[ENV_EPOCHS] = em_int(o->epochs);
    env[ENV_L2] = em_float(o->optim.reg == EM_REG_L2 ? o->optim.reg_param
                                                     : 0);
    st = ps_job(points, ps, env, &k, w, hist);
    em__ps_report_losses(ps, "mlp");
    em_ps_destroy(ps);
    em_broadcast_destroy(bc);
    return st;
}
