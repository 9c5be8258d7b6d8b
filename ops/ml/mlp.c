/* The multilayer perceptron: a softmax classifier over tanh or relu
 * hidden layers, trained by data-parallel mini-batch SGD. Each step
 * broadcasts the weights; every partition records the mean loss of its
 * drawn points on an autodiff tape (ad.c) and differentiates it;
 * treeReduce adds the partition sums and the driver takes one step of the
 * shared optimizer (optim.c) on the mean gradient. Allreduce mode runs
 * the same steps in one barrier stage, each task holding a copy of the
 * weights and the gradients ring-allreduced; ps mode (mlp_ps.c) trains
 * asynchronously against a parameter server. docs/ml.md, "MLP".
 */
#include <math.h>
#include <string.h>

#include "ad_int.h"
#include "ember/barrier.h"
#include "ember/ml_ad.h"
#include "linear.h"
#include "mlp_int.h"
#include "runtime/err.h"
#include "runtime/mem.h"

#define MAX_LAYERS 64
#define MAX_WIDTH ((int)1 << 20)

/* The environment of the gradient function: an array indexed by these. */
enum {
    ENV_W,      /* broadcast reference to the weights vec */
    ENV_LAYERS, /* vec of the layer sizes */
    ENV_ACT,    /* int: em_mlp_activation */
    ENV_FRAC,   /* float: the draw probability */
    ENV_SEED,   /* int */
    ENV_STEP,   /* int: the step, from 1 */
    ENV_GPU,    /* bool: ember.gpu, the products on the task's GPU */
    ENV_OPTIM,  /* vec: the optimizer's settings (allreduce) */
    ENV_EPOCHS, /* int (allreduce) */
    ENV_STEPS,  /* int: steps per epoch (allreduce) */
    ENV_N
};

size_t em_mlp_num_weights(const int *layers, size_t num_layers)
{
    size_t n = 0;

    if (layers == NULL || num_layers < 2 || num_layers > MAX_LAYERS)
        return 0;
    for (size_t l = 0; l < num_layers; l++)
        if (layers[l] < 1 || layers[l] > MAX_WIDTH)
            return 0;
    for (size_t l = 0; l + 1 < num_layers; l++)
        n += ((size_t)layers[l] + 1) * (size_t)layers[l + 1];
    return n;
}

/* Offsets of layer l's matrix and bias in the weight vector. */
static void offsets(const int *layers, size_t nl, size_t l, size_t *w_out,
                    size_t *b_out)
{
    size_t w = 0, b = 0;

    for (size_t k = 0; k + 1 < nl; k++)
        b += (size_t)layers[k] * (size_t)layers[k + 1];
    for (size_t k = 0; k < l; k++) {
        w += (size_t)layers[k] * (size_t)layers[k + 1];
        b += (size_t)layers[k + 1];
    }
    *w_out = w;
    *b_out = b;
}

/* The dimension of a feature vector, or -1 when v is not one. */
static int64_t vec_dim(em_val v)
{
    return v.type == EM_VEC ? (int64_t)v.len
           : v.type == EM_SPVEC ? v.u.sp->dim
                                : -1;
}

/* Writes features f (dense or sparse, of dimension d) to row. */
static void densify(em_val f, double *row, size_t d)
{
    if (f.type == EM_VEC) {
        memcpy(row, f.u.vec, d * sizeof(double));
        return;
    }
    memset(row, 0, d * sizeof(double));
    for (uint32_t j = 0; j < f.len; j++)
        row[f.u.sp->idx[j]] = f.u.sp->val[j];
}

/* Point p's features into row and its class into *y; false when p is
 * not [label in 0 .. c - 1, vector of dimension d]. */
static bool read_point(em_val p, size_t d, int c, double *row, int64_t *y)
{
    double lab;

    if (!em_val_is_pair(p) || !em_val_as_float(p.u.arr[0], &lab) ||
        vec_dim(p.u.arr[1]) != (int64_t)d || !(lab >= 0 && lab < c) ||
        lab != floor(lab))
        return false;
    densify(p.u.arr[1], row, d);
    *y = (int64_t)lab;
    return true;
}

em_ad_node em__mlp_record_loss(em_ad *t, const int *layers, size_t nl,
                              em_mlp_activation act, const double *w,
                              double *g, const double *x, const int64_t *y,
                              size_t n)
{
    em_ad_node h = em_ad_const(t, n, (size_t)layers[0], x);

    for (size_t l = 0; l + 1 < nl; l++) {
        size_t wo, bo, in = (size_t)layers[l], out = (size_t)layers[l + 1];
        em_ad_node wl, bl;
        offsets(layers, nl, l, &wo, &bo);
        wl = em_ad_param(t, in, out, w + wo, g + wo);
        bl = em_ad_param(t, 1, out, w + bo, g + bo);
        h = em_ad_add_rows(t, em_ad_matmul(t, h, wl), bl);
        if (l + 2 < nl)
            h = act == EM_MLP_RELU ? em_ad_relu(t, h) : em_ad_tanh(t, h);
    }
    return em_ad_softmax_xent(t, h, y, n);
}

/* The drawn points of a partition at a step: n_out rows of x and labels
 * y (task arena). */
static em_status draw_batch(em_task *t, const em_val *e, int part,
                            em_val recs, int64_t step, const int *layers,
                            double **x_out, int64_t **y_out, size_t *n_out)
{
    em_arena *a = em_task_arena(t);
    size_t d = (size_t)layers[0], n = 0;
    double *x = em_arena_alloc(a, (size_t)recs.len * d * sizeof(double) + 1);
    int64_t *y = em_arena_alloc(a, (size_t)recs.len * sizeof(int64_t) + 1);
    int c = layers[e[ENV_LAYERS].len - 1];

    if (x == NULL || y == NULL)
        return EM_ENOMEM;
    for (uint32_t i = 0; i < recs.len; i++) {
        if (!em__lin_sampled((uint64_t)e[ENV_SEED].u.i, step, part, i,
                             e[ENV_FRAC].u.f))
            continue;
        if (!read_point(recs.u.arr[i], d, c, x + n * d, &y[n]))
            return em_task_fail(t, "mlp: partition %d record %u is not "
                                "[class in 0..%d, vector of dimension %zu]",
                                part, i, c - 1, d);
        n++;
    }
    *x_out = x;
    *y_out = y;
    *n_out = n;
    return EM_OK;
}

/* The layer sizes in the environment. */
static size_t env_layers(const em_val *e, int *layers)
{
    for (size_t l = 0; l < e[ENV_LAYERS].len; l++)
        layers[l] = (int)e[ENV_LAYERS].u.vec[l];
    return e[ENV_LAYERS].len;
}

/* The gradient sum of a partition's drawn points at a step, at weights
 * w: into g (dim doubles, zeroed here), their count into *n_out and loss
 * sum into *loss_out. */
static em_status batch_grad(em_task *t, const em_val *e, int part,
                            em_val recs, int64_t step, em_val w, double *g,
                            int64_t *n_out, double *loss_out)
{
    int layers[MAX_LAYERS];
    size_t nl = env_layers(e, layers), n = 0;
    double *x = NULL;
    int64_t *y = NULL;
    em_ad *tape;
    em__gpu *gpu;
    em_status st;

    memset(g, 0, w.len * sizeof(double));
    *n_out = 0;
    *loss_out = 0;
    if ((st = draw_batch(t, e, part, recs, step, layers, &x, &y, &n)) !=
            EM_OK ||
        n == 0)
        return st;
    if ((tape = em_ad_create()) == NULL)
        return EM_ENOMEM;
    gpu = em__gpu_open(e[ENV_GPU].u.b);
    em__ad_use_gpu(tape, gpu);
    {
        em_ad_node loss = em__mlp_record_loss(tape, layers, nl,
                                      (em_mlp_activation)e[ENV_ACT].u.i,
                                      w.u.vec, g, x, y, n);
        st = em_ad_backward(tape, loss);
        if (st == EM_OK)
            *loss_out = em_ad_value(tape, loss)[0] * (double)n;
    }
    em_ad_destroy(tape);
    em__gpu_close(gpu);
    if (st != EM_OK)
        return st == EM_ENOMEM ? st : em__lin_fail_last(t);
    for (uint32_t i = 0; i < w.len; i++)
        g[i] *= (double)n; /* a sum, so that partitions add */
    *n_out = (int64_t)n;
    return EM_OK;
}

/* (index, records) -> [[count, loss sum, gradient sum vec]] */
static em_status grad_partition(em_task *t, const em_val *env,
                                const em_val *args, size_t nargs,
                                em_val *out)
{
    const em_val *e = env->u.arr;
    em_val wv, *cell, *r;
    double *g, loss;
    int64_t n;
    em_status st;

    if ((st = em_task_broadcast(t, e[ENV_W], &wv)) != EM_OK)
        return st;
    if ((cell = em_array_make(em_task_arena(t), 1, out)) == NULL ||
        (r = em_array_make(em_task_arena(t), 3, &cell[0])) == NULL ||
        (g = em_vec_make(em_task_arena(t), wv.len, &r[2])) == NULL)
        return EM_ENOMEM;
    if ((st = batch_grad(t, e, (int)args[0].u.i, args[1], e[ENV_STEP].u.i,
                         wv, g, &n, &loss)) != EM_OK)
        return st;
    r[0] = em_int(n);
    r[1] = em_float(loss);
    return EM_OK;
}

/* One training run's state on the driver. */
typedef struct run {
    em_rdd *points;
    em_mlp_opts o;    /* defaults filled in */
    size_t dim;       /* weights */
    double *w, *g;    /* dim each (mem.h) */
    double *hist;     /* loss per epoch (mem.h) */
    double frac;      /* the draw probability */
    int64_t steps;    /* per epoch */
} run;

/* The optimizer's settings as ENV_OPTIM's vec (NOPTIM doubles), and
 * back. */
enum { NOPTIM = 9 };

static void conf_to_vec(const em_optim_conf *c, double *v)
{
    v[0] = c->kind;
    v[1] = c->step;
    v[2] = c->schedule;
    v[3] = c->reg;
    v[4] = c->reg_param;
    v[5] = c->momentum;
    v[6] = c->beta2;
    v[7] = c->rho;
    v[8] = c->eps;
}

static em_optim_conf vec_to_conf(const double *v)
{
    return (em_optim_conf){.kind = (em_optim_kind)v[0], .step = v[1],
                           .schedule = (em_schedule)v[2],
                           .reg = (em_reg)v[3], .reg_param = v[4],
                           .momentum = v[5], .beta2 = v[6], .rho = v[7],
                           .eps = v[8]};
}

/* The environment of a run with the weights wv (a broadcast reference);
 * lv (MAX_LAYERS) and ov (NOPTIM doubles) hold what it points to. */
static void fill_env(const run *r, em_val wv, int64_t step, double *lv,
                     double *ov, em_val *env)
{
    for (size_t l = 0; l < r->o.num_layers; l++)
        lv[l] = r->o.layers[l];
    conf_to_vec(&r->o.optim, ov);
    env[ENV_W] = wv;
    env[ENV_LAYERS] = em_vec(lv, (uint32_t)r->o.num_layers);
    env[ENV_ACT] = em_int(r->o.activation);
    env[ENV_FRAC] = em_float(r->frac);
    env[ENV_SEED] = em_int((int64_t)r->o.seed);
    env[ENV_STEP] = em_int(step);
    env[ENV_GPU] = em_bool(em_ctx_gpu(em_rdd_ctx(r->points)));
    env[ENV_OPTIM] = em_vec(ov, NOPTIM);
    env[ENV_EPOCHS] = em_int(r->o.epochs);
    env[ENV_STEPS] = em_int(r->steps);
}

/* One step: the mean gradient of the drawn points into r->g, their count
 * into *n_out and their loss sum into *loss_out. */
static em_status grad_round(run *r, int64_t step, em_arena *tmp,
                            int64_t *n_out, double *loss_out)
{
    em_ctx *ctx = em_rdd_ctx(r->points);
    em_broadcast *bc = em_ctx_broadcast(ctx, em_vec(r->w, r->dim));
    double lv[MAX_LAYERS], ov[NOPTIM];
    em_val env[ENV_N], got;
    em_rdd *parts;
    em_status st;

    if (bc == NULL)
        return EM_ENOMEM;
    fill_env(r, em_broadcast_ref(bc), step, lv, ov, env);
    parts = em_rdd_map_partitions_with_index(
        r->points, em_fn_of(grad_partition, em_array(env, ENV_N)));
    st = parts == NULL ? EM_ENOMEM
                       : em_rdd_tree_reduce(parts, EM_FN(em__lin_sum_op),
                                            r->o.tree_depth, tmp, &got);
    em_broadcast_destroy(bc);
    if (st != EM_OK)
        return st;
    *n_out = got.u.arr[0].u.i;
    *loss_out = got.u.arr[1].u.f;
    for (size_t i = 0; i < r->dim; i++)
        r->g[i] = *n_out > 0 ? got.u.arr[2].u.vec[i] / (double)*n_out : 0;
    return EM_OK;
}

static em_status train_loop(run *r, em_arena *tmp)
{
    size_t wo, reg_dim;
    em_optim *opt;
    em_status st = EM_OK;

    offsets(r->o.layers, r->o.num_layers, 0, &wo, &reg_dim);
    if ((opt = em_optim_create(&r->o.optim, r->dim, reg_dim)) == NULL)
        return EM_ENOMEM;
    for (int ep = 0; ep < r->o.epochs && st == EM_OK; ep++) {
        double loss = 0, l;
        int64_t seen = 0, n;
        for (int64_t s = 1; s <= r->steps; s++) {
            if ((st = grad_round(r, ep * r->steps + s, tmp, &n, &l)) !=
                EM_OK)
                break;
            seen += n;
            loss += l;
            if (n > 0) /* an empty mini-batch: no step, as Spark */
                em_optim_step(opt, r->w, r->g);
        }
        r->hist[ep] = seen > 0 ? loss / (double)seen : NAN;
    }
    em_optim_destroy(opt);
    return st;
}

/* ---- allreduce mode ---- */

/* One step in a task of the allreduce stage: the stage's gradient sum,
 * loss sum and count into sums (w.len + 2 doubles), the same in every
 * task. */
static em_status allreduce_step(em_task *t, const em_val *e, em_val recs,
                                int64_t step, em_val w, double *sums)
{
    em_arena *scratch;
    em_val sum;
    int64_t n;
    em_status st;

    if ((st = batch_grad(t, e, em_task_partition(t), recs, step, w, sums, &n,
                         &sums[w.len])) != EM_OK)
        return st;
    sums[w.len + 1] = (double)n;
    /* the reduced vector lives only until it is copied back */
    if ((scratch = em_arena_create()) == NULL)
        return EM_ENOMEM;
    st = em_barrier_all_reduce(em_task_barrier(t), em_vec(sums, w.len + 2),
                               EM_REDUCE_SUM, EM_ALLREDUCE_RING, scratch,
                               &sum);
    if (st == EM_OK)
        memcpy(sums, sum.u.vec, (w.len + 2) * sizeof(double));
    em_arena_destroy(scratch);
    return st;
}

/* train_loop's epochs on the task's copy w of the weights. */
static em_status allreduce_epochs(em_task *t, const em_val *e, em_val recs,
                                  em_val w, em_optim *o, double *sums,
                                  double *hist)
{
    int64_t steps = e[ENV_STEPS].u.i;
    em_status st;

    for (int64_t ep = 0; ep < e[ENV_EPOCHS].u.i; ep++) {
        double loss = 0, seen = 0, n;
        for (int64_t s = 1; s <= steps; s++) {
            if ((st = allreduce_step(t, e, recs, ep * steps + s, w, sums)) !=
                EM_OK)
                return st;
            n = sums[w.len + 1];
            seen += n;
            loss += sums[w.len];
            if (n == 0) /* an empty mini-batch: no step, as Spark */
                continue;
            for (uint32_t i = 0; i < w.len; i++)
                sums[i] /= n;
            em_optim_step(o, (double *)w.u.vec, sums);
        }
        hist[ep] = seen > 0 ? loss / seen : NAN;
    }
    return EM_OK;
}

/* The stage's function: each task steps its copy of the weights with the
 * allreduced gradients; records -> [[weights vec, loss per epoch vec]]
 * from partition 0, [] from the others (their copies are the same). */
static em_status allreduce_partition(em_task *t, const em_val *env,
                                     const em_val *args, size_t nargs,
                                     em_val *out)
{
    const em_val *e = env->u.arr;
    em_arena *a = em_task_arena(t);
    em_optim_conf c = vec_to_conf(e[ENV_OPTIM].u.vec);
    int layers[MAX_LAYERS];
    size_t wo, reg_dim;
    em_val wv, *r, *cell;
    double *sums;
    em_optim *o;
    em_status st;

    if (em_task_barrier(t) == NULL)
        return em_task_fail(t, "mlp: allreduce mode runs in a barrier stage");
    if ((st = em_task_broadcast(t, e[ENV_W], &wv)) != EM_OK)
        return st;
    if ((cell = em_array_make(a, 1, out)) == NULL ||
        (r = em_array_make(a, 2, &cell[0])) == NULL ||
        em_vec_make(a, wv.len, &r[0]) == NULL ||
        em_vec_make(a, (size_t)e[ENV_EPOCHS].u.i, &r[1]) == NULL ||
        (sums = em_arena_alloc(a, (wv.len + 2) * sizeof(double))) == NULL)
        return EM_ENOMEM;
    memcpy((double *)r[0].u.vec, wv.u.vec, wv.len * sizeof(double));
    offsets(layers, env_layers(e, layers), 0, &wo, &reg_dim);
    if ((o = em_optim_create(&c, wv.len, reg_dim)) == NULL)
        return em__lin_fail_last(t);
    st = allreduce_epochs(t, e, args[0], r[0], o, sums,
                          (double *)r[1].u.vec);
    em_optim_destroy(o);
    if (st == EM_OK && em_task_partition(t) != 0)
        *out = em_array(NULL, 0);
    return st;
}

/* Allreduce mode: the whole training in one barrier stage. */
static em_status train_allreduce(run *r, em_arena *tmp)
{
    em_broadcast *bc = em_ctx_broadcast(em_rdd_ctx(r->points),
                                        em_vec(r->w, r->dim));
    double lv[MAX_LAYERS], ov[NOPTIM];
    em_val env[ENV_N], got;
    em_rdd *stage;
    em_status st;

    if (bc == NULL)
        return EM_ENOMEM;
    fill_env(r, em_broadcast_ref(bc), 1, lv, ov, env);
    stage = em_rdd_barrier_map_partitions(
        r->points, em_fn_of(allreduce_partition, em_array(env, ENV_N)));
    st = stage == NULL ? EM_ENOMEM : em_rdd_collect(stage, tmp, &got);
    em_broadcast_destroy(bc);
    if (st != EM_OK)
        return st;
    if (got.len != 1)
        return em__err(EM_EFORMAT, "mlp: allreduce stage gave %u models",
                       got.len);
    memcpy(r->w, got.u.arr[0].u.arr[0].u.vec, r->dim * sizeof(double));
    memcpy(r->hist, got.u.arr[0].u.arr[1].u.vec,
           (size_t)r->o.epochs * sizeof(double));
    return EM_OK;
}

/* Glorot uniform matrices from the seed (splitmix64), zero biases. */
static void init_weights(run *r)
{
    uint64_t s = r->o.seed ^ 0x6d6c70u;

    memset(r->w, 0, r->dim * sizeof(double));
    for (size_t l = 0; l + 1 < r->o.num_layers; l++) {
        size_t wo, bo, in = (size_t)r->o.layers[l];
        size_t out = (size_t)r->o.layers[l + 1];
        double lim = sqrt(6.0 / (double)(in + out));
        offsets(r->o.layers, r->o.num_layers, l, &wo, &bo);
        for (size_t i = 0; i < in * out; i++) {
            uint64_t z = (s += 0x9e3779b97f4a7c15u);
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
            z ^= z >> 31;
            r->w[wo + i] = lim * ((double)(z >> 11) * 0x1.0p-52 - 1);
        }
    }
}

/* Fills the defaults of opts and checks them. */
static em_status fill_opts(const em_mlp_opts *in, em_mlp_opts *o)
{
    *o = (em_mlp_opts){0};
    if (in != NULL)
        *o = *in;
    if (o->epochs == 0)
        o->epochs = 100;
    if (o->batch_size == 0)
        o->batch_size = 32;
    if (o->tree_depth == 0)
        o->tree_depth = 2;
    if (em_mlp_num_weights(o->layers, o->num_layers) == 0)
        return em__err(EM_EINVAL, "mlp: layers must be 2 to %d sizes of 1 "
                       "to %d, from the input to the classes", MAX_LAYERS,
                       MAX_WIDTH);
    if (o->epochs < 0 || o->batch_size < 0 || o->tree_depth < 1 ||
        (unsigned)o->activation > EM_MLP_RELU ||
        (unsigned)o->mode > EM_MLP_PS)
        return em__err(EM_EINVAL, "mlp: epochs (%d) and the batch size (%d) "
                       "must be >= 1, the tree depth >= 1, the activation "
                       "and the mode known", o->epochs, o->batch_size);
    return em__optim_check(&o->optim);
}

/* The model value of a run, in a. */
static em_status make_model(const run *r, em_arena *a, em_val *out)
{
    em_val kv[12], *lv;
    double *wv, *hv;

    if ((lv = em_array_make(a, r->o.num_layers, &kv[3])) == NULL ||
        (wv = em_vec_make(a, r->dim, &kv[7])) == NULL ||
        (hv = em_vec_make(a, (size_t)r->o.epochs, &kv[9])) == NULL)
        return EM_ENOMEM;
    for (size_t l = 0; l < r->o.num_layers; l++)
        lv[l] = em_int(r->o.layers[l]);
    memcpy(wv, r->w, r->dim * sizeof(double));
    memcpy(hv, r->hist, (size_t)r->o.epochs * sizeof(double));
    kv[0] = em_cstr("kind");
    kv[1] = em_cstr("mlp");
    kv[2] = em_cstr("layers");
    kv[4] = em_cstr("activation");
    kv[5] = em_cstr(r->o.activation == EM_MLP_RELU ? "relu" : "tanh");
    kv[6] = em_cstr("weights");
    kv[8] = em_cstr("loss");
    kv[10] = em_cstr("epochs");
    kv[11] = em_int(r->o.epochs);
    return em_map_make(a, kv, 6, out);
}

em_status em_mlp_train(em_rdd *points, const em_mlp_opts *opts, em_arena *a,
                       em_val *model_out)
{
    run r = {0};
    int64_t count;
    em_arena *tmp;
    em_status st;

    if (points == NULL)
        return em__err(EM_EINVAL, "mlp: no input RDD");
    if ((st = fill_opts(opts, &r.o)) != EM_OK)
        return st;
    if ((st = em_rdd_count(points, &count)) != EM_OK)
        return st;
    if (count == 0)
        return em__err(EM_EEMPTY, "mlp: no training points");
    r.points = points;
    r.dim = em_mlp_num_weights(r.o.layers, r.o.num_layers);
    r.frac = fmin(1.0, (double)r.o.batch_size / (double)count);
    r.steps = (count + r.o.batch_size - 1) / r.o.batch_size;
    if ((tmp = em_arena_create()) == NULL)
        return EM_ENOMEM;
    r.w = em__mem_calloc(r.dim, sizeof(double));
    r.g = em__mem_calloc(r.dim, sizeof(double));
    r.hist = em__mem_calloc((size_t)r.o.epochs, sizeof(double));
    if (r.w == NULL || r.g == NULL || r.hist == NULL) {
        st = EM_ENOMEM;
        goto out_free;
    }
    if (r.o.initial_weights != NULL)
        memcpy(r.w, r.o.initial_weights, r.dim * sizeof(double));
    else
        init_weights(&r);
    if (r.o.mode == EM_MLP_PS)
        st = em__mlp_train_ps(points, &r.o, r.w, r.hist);
    else
        st = r.o.mode == EM_MLP_ALLREDUCE ? train_allreduce(&r, tmp)
                                          : train_loop(&r, tmp);
    if (st == EM_OK)
        st = make_model(&r, a, model_out);
out_free:
    em__mem_free(r.w, r.dim * sizeof(double));
    em__mem_free(r.g, r.dim * sizeof(double));
    em__mem_free(r.hist, (size_t)r.o.epochs * sizeof(double));
    em_arena_destroy(tmp);
    return st;
}

/* ---- prediction ---- */

static em_val map_get(em_val m, const char *name)
{
    size_t n = strlen(name);

    for (uint32_t i = 0; i < m.len; i++) {
        em_val k = m.u.map[2 * i];
        if (k.type == EM_STR && k.len == n && memcmp(k.u.s, name, n) == 0)
            return m.u.map[2 * i + 1];
    }
    return em_nil();
}

/* The layer sizes, activation and weights of a model value. */
static em_status model_parts(em_val m, int *layers, size_t *nl_out,
                             em_mlp_activation *act_out, const double **w)
{
    em_val kind, lv, act, wv;
    int64_t x;

    if (m.type != EM_MAP)
        return em__err(EM_EFORMAT, "mlp: a model is a map");
    kind = map_get(m, "kind");
    lv = map_get(m, "layers");
    act = map_get(m, "activation");
    wv = map_get(m, "weights");
    if (kind.type != EM_STR || kind.len != 3 || memcmp(kind.u.s, "mlp", 3) ||
        lv.type != EM_ARRAY || lv.len < 2 || lv.len > MAX_LAYERS ||
        act.type != EM_STR || wv.type != EM_VEC)
        return em__err(EM_EFORMAT, "mlp: not a model (kind, layers, "
                       "activation or weights missing)");
    for (uint32_t l = 0; l < lv.len; l++) {
        if (!em_val_as_int(lv.u.arr[l], &x) || x < 1 || x > MAX_WIDTH)
            return em__err(EM_EFORMAT, "mlp: a layer size is not 1 to %d",
                           MAX_WIDTH);
        layers[l] = (int)x;
    }
    if (em_mlp_num_weights(layers, lv.len) != wv.len)
        return em__err(EM_EFORMAT, "mlp: %u weights for these layers",
                       wv.len);
    *nl_out = lv.len;
    *act_out = act.len == 4 && memcmp(act.u.s, "relu", 4) == 0
                   ? EM_MLP_RELU
                   : EM_MLP_TANH;
    *w = wv.u.vec;
    return EM_OK;
}

/* The first layer's outputs before the activation for features f, from
 * the rows of its stored features only: a sparse point of a wide input
 * (hashed text in ps mode) costs its non-zeros, not the width. */
static void first_layer(em_val f, const double *w, const double *b,
                        size_t out, double *z)
{
    memset(z, 0, out * sizeof(double));
    for (uint32_t j = 0; j < f.len; j++) {
        uint32_t i = f.type == EM_VEC ? j : f.u.sp->idx[j];
        double v = f.type == EM_VEC ? f.u.vec[j] : f.u.sp->val[j];
        for (size_t c = 0; c < out; c++)
            z[c] += v * w[(size_t)i * out + c];
    }
    for (size_t c = 0; c < out; c++)
        z[c] += b[c];
}

em_status em_mlp_predict(em_val model, em_val features, double *out)
{
    int layers[MAX_LAYERS];
    size_t nl = 0, wo, bo;
    em_mlp_activation act = EM_MLP_TANH;
    const double *w = NULL;
    double *zp;
    em_ad *t;
    em_ad_node h;
    em_status st = model_parts(model, layers, &nl, &act, &w);

    if (st != EM_OK)
        return st;
    if (vec_dim(features) != layers[0])
        return em__err(EM_EINVAL, "mlp: features must be a vector of "
                       "dimension %d", layers[0]);
    if ((zp = em__mem_alloc((size_t)layers[1] * sizeof(double))) == NULL)
        return EM_ENOMEM;
    if ((t = em_ad_create()) == NULL) {
        em__mem_free(zp, (size_t)layers[1] * sizeof(double));
        return EM_ENOMEM;
    }
    offsets(layers, nl, 0, &wo, &bo);
    first_layer(features, w + wo, w + bo, (size_t)layers[1], zp);
    h = em_ad_const(t, 1, (size_t)layers[1], zp);
    em__mem_free(zp, (size_t)layers[1] * sizeof(double));
    for (size_t l = 1; l + 1 < nl; l++) {
        /* the previous layer is a hidden one */
        h = act == EM_MLP_RELU ? em_ad_relu(t, h) : em_ad_tanh(t, h);
        offsets(layers, nl, l, &wo, &bo);
        h = em_ad_matmul(t, h, em_ad_const(t, (size_t)layers[l],
                                           (size_t)layers[l + 1], w + wo));
        h = em_ad_add_rows(t, h, em_ad_const(t, 1, (size_t)layers[l + 1],
                                             w + bo));
    }
    if ((st = em_ad_status(t)) == EM_OK) {
        const double *z = em_ad_value(t, h);
        int best = 0;
        for (int j = 1; j < layers[nl - 1]; j++)
            if (z[j] > z[best])
                best = j;
        *out = best;
    }
    em_ad_destroy(t);
    return st;
}

em_status em_mlp_predict_op(em_task *t, const em_val *env,
                            const em_val *args, size_t nargs, em_val *out)
{
    return em__ml_predict_op(t, env, args[0], em_mlp_predict, out);
}
