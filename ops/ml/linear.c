/* Logistic regression, linear regression and the perceptron: the losses
 * and their gradients, the model value (predict, save, load), and
 * training. Batch mode is Spark's classic loop: the weights broadcast each
 * iteration, every partition sums the gradients of its (sampled) points,
 * treeReduce adds the partition sums, and the driver takes one optimizer
 * step on the mean gradient. The averaging and ipm modes run
 * parallel_sgd.c's local SGD instead, hogwild hogwild.c's shared one,
 * allreduce and ps dist_sgd.c's loops inside the tasks.
 * docs/ml.md, "Linear models".
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dist_sgd.h"
#include "linear.h"
#include "linear_gpu.h"
#include "runtime/buf.h"
#include "runtime/codec.h"
#include "runtime/err.h"
#include "runtime/mem.h"

em_status em__lin_fail_last(em_task *t)
{
    char msg[256];

    snprintf(msg, sizeof(msg), "%s", em_last_error());
    return em_task_fail(t, "%s", msg);
}

em_status em__lin_weights(em_task *t, em_val w, em_val *out)
{
    if (w.type != EM_VEC)
        return em_task_broadcast(t, w, out);
    *out = w;
    return EM_OK;
}

/* The dimension of a feature vector, or -1 when v is not one. */
static int64_t vec_dim(em_val v)
{
    return v.type == EM_VEC ? (int64_t)v.len
           : v.type == EM_SPVEC ? v.u.sp->dim
                                : -1;
}

static double dot(const double *w, em_val f)
{
    double s = 0;

    if (f.type == EM_VEC)
        for (uint32_t j = 0; j < f.len; j++)
            s += w[j] * f.u.vec[j];
    else
        for (uint32_t j = 0; j < f.len; j++)
            s += w[f.u.sp->idx[j]] * f.u.sp->val[j];
    return s;
}

em_status em__lin_coef(em_linear_loss loss, double y, double m,
                       double *loss_out, double *coef_out)
{
    double s = 2 * y - 1;

    if (loss != EM_LOSS_SQUARED && y != 0 && y != 1)
        return em__err(EM_EINVAL, "%s: label %g is not 0 or 1",
                       loss == EM_LOSS_LOGISTIC ? "logistic regression"
                                                : "perceptron",
                       y);
    switch (loss) {
    case EM_LOSS_LOGISTIC:
        /* log(1 + e^m) - y m, without overflow */
        *loss_out += log1p(exp(-fabs(m))) + fmax(m, 0) - y * m;
        *coef_out = 1 / (1 + exp(-m)) - y;
        break;
    case EM_LOSS_PERCEPTRON:
        /* a point on the boundary counts as a mistake, so training from
         * zero weights moves */
        *loss_out += fmax(-s * m, 0);
        *coef_out = s * m <= 0 ? -s : 0;
        break;
    default:
        if (!isfinite(y))
            return em__err(EM_EINVAL, "linear regression: label %g", y);
        *loss_out += (m - y) * (m - y) / 2;
        *coef_out = m - y;
    }
    return EM_OK;
}

em_status em_linear_loss_grad(em_linear_loss loss, const double *w,
                              size_t d, bool has_intercept, em_val point,
                              double *grad, double *loss_out)
{
    double y, m, coef;
    em_val f;
    em_status st;

    if (!em_val_is_pair(point) || !em_val_as_float(point.u.arr[0], &y) ||
        vec_dim(point.u.arr[1]) != (int64_t)d)
        return em__err(EM_EINVAL, "linear: a point must be [label, vector "
                       "of dimension %zu]", d);
    f = point.u.arr[1];
    m = dot(w, f) + (has_intercept ? w[d] : 0);
    if ((st = em__lin_coef(loss, y, m, loss_out, &coef)) != EM_OK)
        return st;
    if (grad == NULL)
        return EM_OK;
    if (f.type == EM_VEC)
        for (uint32_t j = 0; j < f.len; j++)
            grad[j] += coef * f.u.vec[j];
    else
        for (uint32_t j = 0; j < f.len; j++)
            grad[f.u.sp->idx[j]] += coef * f.u.sp->val[j];
    if (has_intercept)
        grad[d] += coef;
    return EM_OK;
}

/* ---- the model value ---- */

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

/* The models' kinds, indexed by em_linear_loss. */
static const char *const kind_names[] = {"logistic", "linear", "perceptron"};

em_status em_linear_model_parts(em_val model, em_linear_loss *loss_out,
                                em_val *weights_out, double *intercept_out)
{
    em_val kind, w, b;
    int loss = -1;

    if (model.type != EM_MAP)
        return em__err(EM_EFORMAT, "linear: a model is a map, not %s",
                       em_type_name((em_type)model.type));
    kind = map_get(model, "kind");
    w = map_get(model, "weights");
    b = map_get(model, "intercept");
    for (int i = 0; i <= EM_LOSS_PERCEPTRON && kind.type == EM_STR; i++)
        if (kind.len == strlen(kind_names[i]) &&
            memcmp(kind.u.s, kind_names[i], kind.len) == 0)
            loss = i;
    if (loss < 0 || w.type != EM_VEC || b.type != EM_FLOAT)
        return em__err(EM_EFORMAT, "linear: not a model (kind, weights or "
                       "intercept missing)");
    if (loss_out != NULL)
        *loss_out = (em_linear_loss)loss;
    if (weights_out != NULL)
        *weights_out = w;
    if (intercept_out != NULL)
        *intercept_out = b.u.f;
    return EM_OK;
}

em_status em_linear_margin(em_val model, em_val features, double *out)
{
    em_val w;
    double b;
    em_status st = em_linear_model_parts(model, NULL, &w, &b);

    if (st != EM_OK)
        return st;
    if (vec_dim(features) != (int64_t)w.len)
        return em__err(EM_EINVAL, "linear: features must be a vector of "
                       "dimension %u", w.len);
    *out = dot(w.u.vec, features) + b;
    return EM_OK;
}

em_status em_linear_predict(em_val model, em_val features, double *out)
{
    em_linear_loss loss;
    double m;
    em_status st = em_linear_model_parts(model, &loss, NULL, NULL);

    if (st == EM_OK)
        st = em_linear_margin(model, features, &m);
    if (st != EM_OK)
        return st;
    *out = loss == EM_LOSS_SQUARED ? m : m > 0 ? 1.0 : 0.0;
    return EM_OK;
}

em_status em_linear_predict_probability(em_val model, em_val features,
                                        double *out)
{
    em_linear_loss loss;
    double m;
    em_status st = em_linear_model_parts(model, &loss, NULL, NULL);

    if (st == EM_OK && loss != EM_LOSS_LOGISTIC)
        return em__err(EM_EINVAL, "%s gives no probability",
                       loss == EM_LOSS_SQUARED ? "linear regression"
                                               : "a perceptron");
    if (st == EM_OK)
        st = em_linear_margin(model, features, &m);
    if (st != EM_OK)
        return st;
    *out = 1 / (1 + exp(-m));
    return EM_OK;
}

em_status em__ml_predict_op(em_task *t, const em_val *env, em_val rec,
                            em_status (*predict)(em_val, em_val, double *),
                            em_val *out)
{
    em_val model = *env;
    double y;
    em_status st;

    if (model.type == EM_HANDLE &&
        (st = em_task_broadcast(t, *env, &model)) != EM_OK)
        return st;
    if (em_val_is_pair(rec))
        rec = rec.u.arr[1];
    if (predict(model, rec, &y) != EM_OK)
        return em__lin_fail_last(t);
    *out = em_float(y);
    return EM_OK;
}

em_status em_linear_predict_op(em_task *t, const em_val *env,
                               const em_val *args, size_t nargs, em_val *out)
{
    return em__ml_predict_op(t, env, args[0], em_linear_predict, out);
}

/* The model value of weights w (d features, then the intercept when
 * icpt), in a. */
static em_status make_model(em_linear_loss loss, const double *w, size_t d,
                            bool icpt, const double *hist, int iters,
                            em_arena *a, em_val *out)
{
    em_val kv[10];
    double *wv, *hv;

    if ((wv = em_vec_make(a, d, &kv[1])) == NULL ||
        (hv = em_vec_make(a, (size_t)iters, &kv[5])) == NULL)
        return EM_ENOMEM;
    memcpy(wv, w, d * sizeof(double));
    memcpy(hv, hist, (size_t)iters * sizeof(double));
    kv[0] = em_cstr("weights");
    kv[2] = em_cstr("intercept");
    kv[3] = em_float(icpt ? w[d] : 0.0);
    kv[4] = em_cstr("loss");
    kv[6] = em_cstr("kind");
    kv[7] = em_cstr(kind_names[loss]);
    kv[8] = em_cstr("iterations");
    kv[9] = em_int(iters);
    return em_map_make(a, kv, 5, out);
}

em_status em_linear_model_save(em_val model, const char *path)
{
    em__buf b = EM__BUF_INIT;
    em_status st = em_linear_model_parts(model, NULL, NULL, NULL);
    FILE *f;

    if (st != EM_OK || (st = em__codec_encode(&b, model)) != EM_OK)
        return st;
    if ((f = fopen(path, "wb")) == NULL) {
        st = em__err(EM_EIO, "linear: %s: %s", path, strerror(errno));
    } else {
        if (fwrite(b.data, 1, b.len, f) != b.len)
            st = em__err(EM_EIO, "linear: %s: %s", path, strerror(errno));
        if (fclose(f) != 0 && st == EM_OK)
            st = em__err(EM_EIO, "linear: %s: %s", path, strerror(errno));
    }
    em__buf_fini(&b);
    return st;
}

em_status em_linear_model_load(const char *path, em_arena *a, em_val *out)
{
    em__buf b = EM__BUF_INIT;
    char chunk[4096];
    size_t n;
    em_val v;
    em_status st = EM_OK;
    FILE *f = fopen(path, "rb");

    if (f == NULL)
        return em__err(EM_EIO, "linear: %s: %s", path, strerror(errno));
    while (st == EM_OK && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        st = em__buf_append(&b, chunk, n);
    if (st == EM_OK && ferror(f))
        st = em__err(EM_EIO, "linear: %s: %s", path, strerror(errno));
    fclose(f);
    if (st == EM_OK &&
        (st = em__codec_decode(b.data, b.len, NULL, a, &v, &n)) == EM_OK &&
        n != b.len)
        st = em__err(EM_EFORMAT, "linear: %s: bytes after the model", path);
    if (st == EM_OK && (st = em_linear_model_parts(v, NULL, NULL, NULL)) ==
                           EM_OK)
        *out = v;
    em__buf_fini(&b);
    return st;
}

/* ---- training ---- */

/* (index, records) -> [[count, loss sum, gradient sum vec]] */
static em_status grad_partition(em_task *t, const em_val *env,
                                const em_val *args, size_t nargs,
                                em_val *out)
{
    const em_val *e = env->u.arr;
    em_val wv, recs = args[1], *r, *cell;
    em_arena *a = em_task_arena(t);
    bool icpt = e[EM__LIN_ICPT].u.b;
    double loss = 0, *g;
    int64_t n = 0;
    em_status st;

    if ((st = em__lin_weights(t, e[EM__LIN_W], &wv)) != EM_OK)
        return st;
    if ((cell = em_array_make(a, 1, out)) == NULL ||
        (r = em_array_make(a, 3, &cell[0])) == NULL ||
        (g = em_vec_make(a, wv.len, &r[2])) == NULL)
        return EM_ENOMEM;
    if (em__lin_grad_gpu(t, env, args, wv, g, r, &st))
        return st;
    for (uint32_t i = 0; i < recs.len; i++) {
        if (!em__lin_sampled((uint64_t)e[EM__LIN_SEED].u.i,
                             e[EM__LIN_ITER].u.i, (int)args[0].u.i, i,
                             e[EM__LIN_FRAC].u.f))
            continue;
        if (em_linear_loss_grad((em_linear_loss)e[EM__LIN_LOSS].u.i, wv.u.vec,
                                wv.len - (icpt ? 1 : 0), icpt,
                                recs.u.arr[i], g, &loss) != EM_OK)
            return em__lin_fail_last(t);
        n++;
    }
    r[0] = em_int(n);
    r[1] = em_float(loss);
    return EM_OK;
}

/* One training run's state on the driver, or in the task that trains on
 * an array. */
typedef struct run {
    em_rdd *points;    /* NULL when training in a task: */
    em_task *task;     /* the calling task */
    em_val local;      /* and its array of points */
    em_linear_loss loss;
    em_linear_opts o;  /* defaults filled in */
    em_optim_conf oc;  /* the optimizer's settings */
    size_t dim;        /* weights: features, then the intercept */
    double *w, *prev;  /* dim each (mem.h) */
    double *hist;      /* loss per iteration (mem.h) */
    int iters;         /* iterations run */
    double *avg;       /* opts.averaged: the sum of the weights after
                          every step (mem.h, dim) */
    double steps;      /* the steps in avg */
} run;

/* The training environment's common entries; ov (5 doubles) holds the
 * optimizer's settings it points to. wv is a broadcast reference to the
 * weights, or in a task the vector itself (and no GPU). */
static void fill_env(const run *r, em_val wv, int iter, int epochs,
                     double *ov, em_val *env)
{
    ov[0] = r->oc.kind;
    ov[1] = r->oc.step;
    ov[2] = r->oc.schedule;
    ov[3] = r->oc.reg;
    ov[4] = r->oc.reg_param;
    env[EM__LIN_W] = wv;
    env[EM__LIN_LOSS] = em_int(r->loss);
    env[EM__LIN_ICPT] = em_bool(r->o.intercept);
    env[EM__LIN_FRAC] = em_float(r->o.mini_batch_fraction);
    env[EM__LIN_SEED] = em_int((int64_t)r->o.seed);
    env[EM__LIN_ITER] = em_int(iter);
    env[EM__LIN_EPOCHS] = em_int(epochs);
    env[EM__LIN_OPTIM] = em_vec(ov, 5);
    env[EM__LIN_GPU] = em_bool(r->points != NULL &&
                               em_ctx_gpu(em_rdd_ctx(r->points)));
    env[EM__LIN_AVG] = em_bool(r->o.averaged);
}

/* A round in the calling task: fn on its array as partition 0, the
 * weights passed in the environment; its one record in *out. */
static em_status run_in_task(run *r, em_fn_ptr fn, em_val wv, int iter,
                             int epochs, em_val *out)
{
    double ov[5];
    em_val env[EM__LIN_NENV_GPU], envv, args[2], got;
    em_status st;

    fill_env(r, wv, iter, epochs, ov, env);
    envv = em_array(env, EM__LIN_NENV_GPU);
    args[0] = em_int(0);
    args[1] = r->local;
    if ((st = fn(r->task, &envv, args, 2, &got)) == EM_OK)
        *out = got.u.arr[0];
    return st;
}

/* One job over the points with wv broadcast (or, in a task, one call on
 * its array): fn's partition results combined by merge (treeReduce) into
 * *out (in a). */
static em_status run_round(run *r, em_fn_ptr fn, em_fn_ptr merge, em_val wv,
                           int iter, int epochs, em_arena *a, em_val *out)
{
    em_ctx *ctx;
    em_broadcast *bc;
    double ov[5];
    em_val env[EM__LIN_NENV_GPU], got;
    em_rdd *parts;
    em_status st;

    if (r->points == NULL)
        return run_in_task(r, fn, wv, iter, epochs, out);
    ctx = em_rdd_ctx(r->points);
    if ((bc = em_ctx_broadcast(ctx, wv)) == NULL)
        return EM_ENOMEM;
    fill_env(r, em_broadcast_ref(bc), iter, epochs, ov, env);
    parts = em_rdd_map_partitions_with_index(
        r->points, em_fn_of(fn, em_array(env, EM__LIN_NENV_GPU)));
    st = parts == NULL ? EM_ENOMEM
                       : em_rdd_tree_reduce(parts, EM_FN(merge),
                                            r->o.tree_depth, a, &got);
    em_broadcast_destroy(bc);
    if (st == EM_OK)
        *out = got;
    return st;
}

/* Adds scale times the sum sum of the weights after `steps` steps to the
 * average over steps, when the model is that average. */
static void add_to_average(run *r, const double *sum, double scale,
                           double steps)
{
    if (!r->o.averaged)
        return;
    for (size_t i = 0; i < r->dim; i++)
        r->avg[i] += scale * sum[i];
    r->steps += steps;
}

static em_status train_batch(run *r, em_arena *tmp)
{
    em_optim *opt = em_optim_create(&r->oc, r->dim,
                                    r->dim - (r->o.intercept ? 1 : 0));
    em_val got;
    double *g;
    em_status st = EM_OK;

    if (opt == NULL)
        return EM_ENOMEM;
    if ((g = em__mem_alloc(r->dim * sizeof(double))) == NULL) {
        em_optim_destroy(opt);
        return EM_ENOMEM;
    }
    while (r->iters < r->o.iterations) {
        int64_t n;
        if ((st = run_round(r, grad_partition, em__lin_sum_op,
                            em_vec(r->w, r->dim), r->iters + 1, 1, tmp,
                            &got)) != EM_OK)
            break;
        n = got.u.arr[0].u.i;
        r->hist[r->iters++] = n > 0 ? got.u.arr[1].u.f / (double)n : NAN;
        if (n == 0)
            continue; /* an empty mini-batch: no step, as Spark */
        for (size_t i = 0; i < r->dim; i++)
            g[i] = got.u.arr[2].u.vec[i] / (double)n;
        memcpy(r->prev, r->w, r->dim * sizeof(double));
        em_optim_step(opt, r->w, g);
        add_to_average(r, r->w, 1, 1);
        if (r->o.convergence_tol >= 0 &&
            em_optim_converged(r->prev, r->w, r->dim, r->o.convergence_tol))
            break;
    }
    em__mem_free(g, r->dim * sizeof(double));
    em_optim_destroy(opt);
    return st;
}

static em_status train_parallel(run *r, em_arena *tmp)
{
    bool is_ipm = r->o.mode == EM_LINEAR_IPM;
    int rounds = is_ipm ? r->o.iterations : 1;
    int epochs = is_ipm ? 1 : r->o.iterations;
    em_val got;
    em_status st;

    for (int k = 1; k <= rounds; k++) {
        int64_t n;
        double steps = 0;
        if ((st = run_round(r, em__lin_local_sgd, em__lin_sum_op,
                            em_vec(r->w, r->dim), k, epochs, tmp, &got)) !=
            EM_OK)
            return st;
        if ((n = got.u.arr[0].u.i) == 0)
            return em__err(EM_EEMPTY, "linear: no training points");
        for (int e = 0; e < epochs; e++) {
            r->hist[r->iters++] = got.u.arr[1].u.vec[e] /
                                  fmax(got.u.arr[2].u.vec[e], 1);
            steps += got.u.arr[2].u.vec[e];
        }
        for (size_t i = 0; i < r->dim; i++)
            r->w[i] = got.u.arr[3].u.vec[i] / (double)n;
        add_to_average(r, got.u.arr[4].u.vec, 1, steps);
    }
    return EM_OK;
}

/* Hogwild: per iteration the weights are broadcast in a shared vector of
 * em__lin_hogwild_len doubles that every task of a process steps in
 * place; the processes' last weights are averaged, weighted by their
 * steps. */
static em_status train_hogwild(run *r, em_arena *tmp)
{
    size_t len = em__lin_hogwild_len(r->dim);
    double *sh = em__mem_calloc(len, sizeof(double));
    em_status st = EM_OK;
    em_val got;

    if (sh == NULL)
        return EM_ENOMEM;
    while (st == EM_OK && r->iters < r->o.iterations) {
        double steps = 0, done = 0, loss = 0;
        memcpy(sh, r->w, r->dim * sizeof(double));
        if ((st = run_round(r, em__lin_hogwild, em__lin_hogwild_merge,
                            em_vec(sh, len), r->iters + 1, 1, tmp, &got)) !=
            EM_OK)
            break;
        for (uint32_t k = 0; k < got.len; k++) {
            const em_val *e = got.u.arr[k].u.arr;
            done += e[1].u.f;
            steps += e[2].u.f;
            loss += e[3].u.f;
        }
        r->hist[r->iters++] = steps > 0 ? loss / steps : NAN;
        if (steps == 0)
            continue;
        memset(r->w, 0, r->dim * sizeof(double));
        for (uint32_t k = 0; k < got.len; k++) {
            const em_val *e = got.u.arr[k].u.arr;
            for (size_t i = 0; i < r->dim; i++)
                r->w[i] += e[1].u.f / done * e[4].u.vec[i];
            add_to_average(r, e[5].u.vec, 1, e[1].u.f);
        }
    }
    em__mem_free(sh, len * sizeof(double));
    return st;
}

/* The allreduce and ps modes (dist_sgd.c): the iterations run inside
 * one job, which gives the weights, the loss per iteration and the sum of
 * the weights after every step. */
static em_status train_dist(run *r, em_arena *tmp)
{
    double ov[5];
    em_val env[EM__LIN_NENV_DIST], got;
    const em_val *g;
    em_status st;

    fill_env(r, em_nil(), 1, r->o.iterations, ov, env);
    env[EM__LIN_TOL] = em_float(r->o.convergence_tol);
    env[EM__LIN_DIM] = em_int((int64_t)r->dim);
    env[EM__LIN_PS] = em_nil();
    env[EM__LIN_BATCH] = em_int(r->o.batch_size);
    st = r->o.mode == EM_LINEAR_ALLREDUCE
             ? em__lin_train_allreduce(r->points, env, tmp, &got)
             : em__lin_train_ps(r->points, env, &r->oc, r->o.staleness, tmp,
                                &got);
    if (st != EM_OK)
        return st;
    g = got.u.arr;
    memcpy(r->w, g[0].u.vec, r->dim * sizeof(double));
    r->iters = (int)g[1].len;
    memcpy(r->hist, g[1].u.vec, g[1].len * sizeof(double));
    add_to_average(r, g[2].u.vec, 1, g[3].u.f);
    return EM_OK;
}

/* Fills the defaults of opts and checks them. */
static em_status fill_opts(const em_linear_opts *in, em_linear_opts *o)
{
    *o = (em_linear_opts){0};
    if (in != NULL)
        *o = *in;
    if (o->iterations == 0)
        o->iterations = 100;
    if (o->step == 0)
        o->step = 1.0;
    if (o->mini_batch_fraction == 0)
        o->mini_batch_fraction = 1.0;
    if (o->convergence_tol == 0)
        o->convergence_tol = 0.001;
    if (o->tree_depth == 0)
        o->tree_depth = 2;
    if (o->batch_size == 0)
        o->batch_size = 32;
    if (o->iterations < 0 || o->tree_depth < 1 || o->batch_size < 0 ||
        !(o->mini_batch_fraction > 0 && o->mini_batch_fraction <= 1) ||
        (unsigned)o->mode > EM_LINEAR_PS)
        return em__err(EM_EINVAL, "linear: iterations (%d) must be >= 1, "
                       "miniBatchFraction (%g) in (0, 1], the tree depth "
                       "and the batch size >= 1 and the mode known",
                       o->iterations, o->mini_batch_fraction);
    return EM_OK;
}

/* The features' dimension, from the first point: the RDD's or, in a
 * task, the array's. */
static em_status first_dim(const run *r, em_arena *tmp, size_t *out)
{
    em_val p;
    em_status st = EM_OK;

    if (r->points != NULL)
        st = em_rdd_first(r->points, tmp, &p);
    else if (r->local.type != EM_ARRAY || r->local.len == 0)
        st = EM_EEMPTY;
    else
        p = r->local.u.arr[0];
    if (st == EM_EEMPTY)
        return em__err(EM_EEMPTY, "linear: no training points");
    if (st != EM_OK)
        return st;
    if (!em_val_is_pair(p) || vec_dim(p.u.arr[1]) < 1 ||
        vec_dim(p.u.arr[1]) > (int64_t)1 << 28)
        return em__err(EM_EINVAL, "linear: a point must be [label, vector "
                       "of 1 to 2^28 features]");
    *out = (size_t)vec_dim(p.u.arr[1]);
    return EM_OK;
}

/* Trains with r's points (an RDD, or a task's array) set. */
static em_status train(run *r, em_linear_loss loss,
                       const em_linear_opts *opts, em_arena *a,
                       em_val *model_out)
{
    size_t d = 0;
    em_arena *tmp;
    em_status st;

    if ((unsigned)loss > EM_LOSS_PERCEPTRON)
        return em__err(EM_EINVAL, "linear: unknown loss %d", (int)loss);
    if ((st = fill_opts(opts, &r->o)) != EM_OK)
        return st;
    if (r->points == NULL && r->o.mode > EM_LINEAR_HOGWILD)
        return em__err(EM_EINVAL, "linear: in a task the modes are batch, "
                       "averaging, ipm and hogwild");
    r->oc = (em_optim_conf){.kind = r->o.optimizer, .step = r->o.step,
                            .schedule = r->o.schedule, .reg = r->o.reg_type,
                            .reg_param = r->o.reg_param};
    if ((st = em__optim_check(&r->oc)) != EM_OK)
        return st;
    if ((tmp = em_arena_create()) == NULL)
        return EM_ENOMEM;
    if ((st = first_dim(r, tmp, &d)) != EM_OK)
        goto out_arena;
    r->loss = loss;
    r->dim = d + (r->o.intercept ? 1 : 0);
    r->w = em__mem_calloc(r->dim, sizeof(double));
    r->prev = em__mem_calloc(r->dim, sizeof(double));
    r->hist = em__mem_calloc((size_t)r->o.iterations, sizeof(double));
    r->avg = em__mem_calloc(r->dim, sizeof(double));
    if (r->w == NULL || r->prev == NULL || r->hist == NULL || r->avg == NULL)
        st = EM_ENOMEM;
    else if (r->o.mode == EM_LINEAR_BATCH)
        st = train_batch(r, tmp);
    else if (r->o.mode == EM_LINEAR_HOGWILD)
        st = train_hogwild(r, tmp);
    else if (r->o.mode >= EM_LINEAR_ALLREDUCE)
        st = train_dist(r, tmp);
    else
        st = train_parallel(r, tmp);
    for (size_t i = 0; r->steps > 0 && i < r->dim; i++)
        r->w[i] = r->avg[i] / r->steps;
    if (st == EM_OK)
        st = make_model(loss, r->w, d, r->o.intercept, r->hist, r->iters, a,
                        model_out);
    em__mem_free(r->w, r->dim * sizeof(double));
    em__mem_free(r->prev, r->dim * sizeof(double));
    em__mem_free(r->hist, (size_t)r->o.iterations * sizeof(double));
    em__mem_free(r->avg, r->dim * sizeof(double));
out_arena:
    em_arena_destroy(tmp);
    return st;
}

em_status em_linear_train(em_rdd *points, em_linear_loss loss,
                          const em_linear_opts *opts, em_arena *a,
                          em_val *model_out)
{
    run r = {0};

    if (points == NULL)
        return em__err(EM_EINVAL, "linear: no input RDD");
    r.points = points;
    return train(&r, loss, opts, a, model_out);
}

em_status em_linear_train_local(em_task *t, em_val points,
                                em_linear_loss loss,
                                const em_linear_opts *opts, em_arena *a,
                                em_val *model_out)
{
    run r = {0};

    if (t == NULL || points.type != EM_ARRAY)
        return em__err(EM_EINVAL, "linear: training on an array needs the "
                       "calling task and an array of points");
    r.task = t;
    r.local = points;
    return train(&r, loss, opts, a, model_out);
}
