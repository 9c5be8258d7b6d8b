/* The linear models' allreduce and ps modes. Allreduce: one barrier stage,
 * one task per partition holding a copy of the weights; per iteration each
 * task sums its sampled points' gradients, the sums and counts are
 * ring-allreduced (scheduler/coll.c) and every task takes the same step of
 * the shared optimizer, so the copies stay identical and the result is
 * batch mode's. Ps: the weights live in a parameter server (key: feature
 * index), tasks pull the weights of a mini-batch's non-zero features and
 * push the batch's mean gradient, which the server's per-key optimizer
 * applies, without waiting for each other. docs/ml.md, "Allreduce and
 * parameter-server modes".
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dist_sgd.h"
#include "ember/barrier.h"
#include "ember/ps.h"
#include "runtime/err.h"
#include "runtime/log.h"
#include "runtime/mem.h"

/* Keys per em_ps_get when the driver reads the weights back. */
#define READ_CHUNK 65536

/* The result value of both modes, in a: [w, hist[0..iters), avg, steps]. */
static em_status make_result(em_arena *a, const double *w, size_t dim,
                             const double *hist, size_t iters,
                             const double *avg, double steps, em_val *out)
{
    em_val *r = em_array_make(a, 4, out);
    double *p;

    if (r == NULL || (p = em_vec_make(a, dim, &r[0])) == NULL)
        return EM_ENOMEM;
    memcpy(p, w, dim * sizeof(double));
    if ((p = em_vec_make(a, iters, &r[1])) == NULL)
        return EM_ENOMEM;
    memcpy(p, hist, iters * sizeof(double));
    if ((p = em_vec_make(a, dim, &r[2])) == NULL)
        return EM_ENOMEM;
    memcpy(p, avg, dim * sizeof(double));
    r[3] = em_float(steps);
    return EM_OK;
}

/* ---- allreduce ---- */

/* One task's state: its copy of the weights and its buffers (task
 * arena). */
typedef struct copy {
    em_task *t;
    em_barrier *b;
    const em_val *e;  /* the environment's entries */
    size_t dim;
    double *w, *prev; /* weights; before the last step */
    double *sums;     /* dim gradient sums, the loss sum, the count */
    double *hist, *avg;
    double steps;
} copy;

/* The task's sampled points of iteration iter into c->sums, then every
 * task's sums added: c->sums holds the stage's. */
static em_status reduce_iteration(copy *c, em_val recs, int64_t iter)
{
    const em_val *e = c->e;
    bool icpt = e[EM__LIN_ICPT].u.b;
    em_arena *scratch;
    em_val sum;
    em_status st;

    memset(c->sums, 0, (c->dim + 2) * sizeof(double));
    for (uint32_t i = 0; i < recs.len; i++) {
        if (!em__lin_sampled((uint64_t)e[EM__LIN_SEED].u.i, iter,
                             em_task_partition(c->t), i,
                             e[EM__LIN_FRAC].u.f))
            continue;
        if (em_linear_loss_grad((em_linear_loss)e[EM__LIN_LOSS].u.i, c->w,
                                c->dim - (icpt ? 1 : 0), icpt,
                                recs.u.arr[i], c->sums,
                                &c->sums[c->dim]) != EM_OK)
            return em__lin_fail_last(c->t);
        c->sums[c->dim + 1] += 1;
    }
    /* the round's reduced vector lives only until it is copied back */
    if ((scratch = em_arena_create()) == NULL)
        return EM_ENOMEM;
    st = em_barrier_all_reduce(c->b, em_vec(c->sums, (uint32_t)c->dim + 2),
                               EM_REDUCE_SUM, EM_ALLREDUCE_RING, scratch,
                               &sum);
    if (st == EM_OK)
        memcpy(c->sums, sum.u.vec, (c->dim + 2) * sizeof(double));
    em_arena_destroy(scratch);
    return st;
}

/* Batch mode's loop (linear.c's train_batch) on the task's copy; the
 * number of iterations run into *iters_out. */
static em_status run_iterations(copy *c, em_val recs, em_optim *o,
                                int64_t *iters_out)
{
    int64_t iters = c->e[EM__LIN_EPOCHS].u.i, k = 0;
    double tol = c->e[EM__LIN_TOL].u.f, n;
    em_status st;

    while (k < iters) {
        if ((st = reduce_iteration(c, recs, k + 1)) != EM_OK)
            return st;
        n = c->sums[c->dim + 1];
        c->hist[k++] = n > 0 ? c->sums[c->dim] / n : NAN;
        if (n == 0)
            continue; /* an empty mini-batch: no step, as batch mode */
        for (size_t i = 0; i < c->dim; i++)
            c->sums[i] /= n;
        memcpy(c->prev, c->w, c->dim * sizeof(double));
        em_optim_step(o, c->w, c->sums);
        for (size_t i = 0; c->e[EM__LIN_AVG].u.b && i < c->dim; i++)
            c->avg[i] += c->w[i];
        c->steps += 1;
        if (tol >= 0 && em_optim_converged(c->prev, c->w, c->dim, tol))
            break;
    }
    *iters_out = k;
    return EM_OK;
}

em_status em__lin_allreduce_run(em_task *t, const em_val *env, em_val recs,
                                em_arena *a, em_val *out)
{
    const em_val *e = env->u.arr;
    em_arena *ta = em_task_arena(t);
    copy c = {.t = t, .b = em_task_barrier(t), .e = e,
              .dim = (size_t)e[EM__LIN_DIM].u.i};
    size_t iters = (size_t)e[EM__LIN_EPOCHS].u.i;
    int64_t run = 0;
    em_optim *o;
    em_status st;

    if (c.b == NULL)
        return em_task_fail(t, "linear: allreduce mode runs in a barrier "
                            "stage");
    c.w = em_arena_alloc(ta, (4 * c.dim + 2 + iters) * sizeof(double));
    if (c.w == NULL)
        return EM_ENOMEM;
    memset(c.w, 0, (4 * c.dim + 2 + iters) * sizeof(double));
    c.prev = c.w + c.dim;
    c.avg = c.prev + c.dim;
    c.sums = c.avg + c.dim;
    c.hist = c.sums + c.dim + 2;
    if ((o = em__lin_optim_at(e, c.dim, 0, ta)) == NULL)
        return em__lin_fail_last(t);
    st = run_iterations(&c, recs, o, &run);
    em_optim_destroy(o);
    if (st != EM_OK)
        return st;
    return make_result(a, c.w, c.dim, c.hist, (size_t)run, c.avg, c.steps,
                       out);
}

/* The stage's function: records -> [result] from partition 0, [] from
 * the others (their copies are the same). */
static em_status allreduce_partition(em_task *t, const em_val *env,
                                     const em_val *args, size_t nargs,
                                     em_val *out)
{
    em_arena *a = em_task_arena(t);
    em_val res, *cell;
    em_status st = em__lin_allreduce_run(t, env, args[0], a, &res);

    if (st != EM_OK)
        return st;
    if (em_task_partition(t) != 0) {
        *out = em_array(NULL, 0);
        return EM_OK;
    }
    if ((cell = em_array_make(a, 1, out)) == NULL)
        return EM_ENOMEM;
    cell[0] = res;
    return EM_OK;
}

em_status em__lin_train_allreduce(em_rdd *points, const em_val *env,
                                  em_arena *a, em_val *out)
{
    em_rdd *r = em_rdd_barrier_map_partitions(
        points, em_fn_of(allreduce_partition,
                         em_array(env, EM__LIN_NENV_DIST)));
    em_val got;
    em_status st;

    if (r == NULL)
        return EM_ENOMEM;
    if ((st = em_rdd_collect(r, a, &got)) != EM_OK)
        return st;
    if (got.len != 1)
        return em__err(EM_EFORMAT, "linear: allreduce stage gave %u models",
                       got.len);
    *out = got.u.arr[0];
    return EM_OK;
}

/* ---- ps ---- */

/* One mini-batch of a task: its points and the keys they touch. */
typedef struct batch {
    em_task *t;
    const em_val *e;  /* the environment's entries */
    size_t d;         /* features; the intercept's key is d */
    em_val recs;      /* the partition's records */
    uint32_t *pos;    /* the batch's points' positions in recs */
    size_t n;         /* points */
    uint32_t *idx;    /* the distinct feature indices, sorted (mem.h) */
    size_t nk, cap;   /* keys; idx's capacity */
} batch;

static int cmp_u32(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;

    return (a > b) - (a < b);
}

void em__ps_feature_at(em_val f, uint32_t j, uint32_t *i, double *v)
{
    *i = f.type == EM_VEC ? j : f.u.sp->idx[j];
    *v = f.type == EM_VEC ? f.u.vec[j] : f.u.sp->val[j];
}

size_t em__ps_distinct(uint32_t *idx, size_t n)
{
    size_t k = 0;

    qsort(idx, n, sizeof(uint32_t), cmp_u32);
    for (size_t j = 0; j < n; j++)
        if (k == 0 || idx[k - 1] != idx[j])
            idx[k++] = idx[j];
    return k;
}

size_t em__ps_key_pos(const uint32_t *idx, size_t n, uint32_t i)
{
    const uint32_t *p = bsearch(&i, idx, n, sizeof(*p), cmp_u32);

    return (size_t)(p - idx);
}

/* The position of feature i among the batch's keys. */
static size_t key_of(const batch *b, uint32_t i)
{
    return em__ps_key_pos(b->idx, b->nk, i);
}

/* b->idx: the distinct indices of the batch's non-zero features, then d
 * when there is an intercept (the largest index, so the last key). */
static em_status collect_keys(batch *b)
{
    size_t need = 1, k = 0;

    for (size_t p = 0; p < b->n; p++)
        need += b->recs.u.arr[b->pos[p]].u.arr[1].len;
    if (need > b->cap) {
        uint32_t *idx = em__mem_realloc(b->idx, b->cap * sizeof(uint32_t),
                                        need * sizeof(uint32_t));
        if (idx == NULL)
            return EM_ENOMEM;
        b->idx = idx;
        b->cap = need;
    }
    for (size_t p = 0; p < b->n; p++) {
        em_val f = b->recs.u.arr[b->pos[p]].u.arr[1];
        for (uint32_t j = 0; j < f.len; j++) {
            double v;
            em__ps_feature_at(f, j, &b->idx[k], &v);
            k += v != 0;
        }
    }
    if (b->e[EM__LIN_ICPT].u.b)
        b->idx[k++] = (uint32_t)b->d;
    b->nk = em__ps_distinct(b->idx, k);
    return EM_OK;
}

/* The batch's loss (added to *loss) and mean gradient (into g, one per
 * key) at the pulled weights w. */
static em_status batch_grad(batch *b, const double *w, double *g,
                            double *loss)
{
    em_linear_loss kind = (em_linear_loss)b->e[EM__LIN_LOSS].u.i;
    const double *ov = b->e[EM__LIN_OPTIM].u.vec;
    bool icpt = b->e[EM__LIN_ICPT].u.b;

    memset(g, 0, b->nk * sizeof(double));
    for (size_t p = 0; p < b->n; p++) {
        em_val pt = b->recs.u.arr[b->pos[p]], f = pt.u.arr[1];
        double y, m = icpt ? w[b->nk - 1] : 0, coef, v;
        uint32_t i;
        em_val_as_float(pt.u.arr[0], &y);
        for (uint32_t j = 0; j < f.len; j++) {
            em__ps_feature_at(f, j, &i, &v);
            m += v != 0 ? w[key_of(b, i)] * v : 0;
        }
        if (em__lin_coef(kind, y, m, loss, &coef) != EM_OK)
            return em__lin_fail_last(b->t);
        for (uint32_t j = 0; j < f.len; j++) {
            em__ps_feature_at(f, j, &i, &v);
            if (v != 0)
                g[key_of(b, i)] += coef * v;
        }
        if (icpt)
            g[b->nk - 1] += coef;
    }
    for (size_t k = 0; k < b->nk; k++) {
        g[k] /= (double)b->n;
        /* L2 on the weights the batch touches, not on the intercept */
        if ((em_reg)ov[3] == EM_REG_L2 && b->idx[k] < b->d)
            g[k] += ov[4] * w[k];
    }
    return EM_OK;
}

/* Pull, gradient, push for the batch's points. */
static em_status run_batch(batch *b, double *loss)
{
    size_t bytes;
    em_val *keys;
    double *w, *g;
    em_status st;

    if (b->n == 0)
        return EM_OK;
    if ((st = collect_keys(b)) != EM_OK)
        return st;
    bytes = b->nk * (sizeof(em_val) + 2 * sizeof(double));
    if ((keys = em__mem_alloc(bytes)) == NULL)
        return EM_ENOMEM;
    w = (double *)(keys + b->nk);
    g = w + b->nk;
    for (size_t k = 0; k < b->nk; k++)
        keys[k] = em_int(b->idx[k]);
    st = em_ps_pull(b->t, b->e[EM__LIN_PS], keys, b->nk, w);
    if (st == EM_OK)
        st = batch_grad(b, w, g, loss);
    if (st == EM_OK)
        st = em_ps_push(b->t, b->e[EM__LIN_PS], keys, b->nk, g);
    em__mem_free(keys, bytes);
    b->n = 0;
    return st;
}

/* True when p is [number, features of dimension d]. */
static bool is_point(em_val p, size_t d)
{
    double y;
    em_val f;

    if (!em_val_is_pair(p) || !em_val_as_float(p.u.arr[0], &y))
        return false;
    f = p.u.arr[1];
    return (f.type == EM_VEC && f.len == d) ||
           (f.type == EM_SPVEC && f.u.sp->dim == (int64_t)d);
}

/* One epoch of the partition in mini-batches; loss and point sums into
 * *ls and *cs. */
static em_status run_epoch(batch *b, int64_t epoch, double *ls, double *cs)
{
    const em_val *e = b->e;
    int part = em_task_partition(b->t);
    em_status st;

    for (uint32_t i = 0; i < b->recs.len; i++) {
        if (!em__lin_sampled((uint64_t)e[EM__LIN_SEED].u.i, epoch, part, i,
                             e[EM__LIN_FRAC].u.f))
            continue;
        if (!is_point(b->recs.u.arr[i], b->d))
            return em_task_fail(b->t, "linear: a point must be [label, "
                                "vector of dimension %zu]", b->d);
        b->pos[b->n++] = i;
        *cs += 1;
        if ((int64_t)b->n == e[EM__LIN_BATCH].u.i &&
            (st = run_batch(b, ls)) != EM_OK)
            return st;
    }
    return run_batch(b, ls);
}

/* (index, records) -> [[loss sums vec, point counts vec]], one entry per
 * epoch. */
static em_status ps_partition(em_task *t, const em_val *env,
                              const em_val *args, size_t nargs, em_val *out)
{
    const em_val *e = env->u.arr;
    em_arena *a = em_task_arena(t);
    size_t epochs = (size_t)e[EM__LIN_EPOCHS].u.i;
    size_t bsize = (size_t)e[EM__LIN_BATCH].u.i;
    batch b = {.t = t, .e = e, .recs = args[1],
               .d = (size_t)e[EM__LIN_DIM].u.i - (e[EM__LIN_ICPT].u.b ? 1 : 0)};
    em_val *cell, *r;
    double *ls, *cs;
    em_status st = EM_OK;

    if ((cell = em_array_make(a, 1, out)) == NULL ||
        (r = em_array_make(a, 2, &cell[0])) == NULL ||
        (ls = em_vec_make(a, epochs, &r[0])) == NULL ||
        (cs = em_vec_make(a, epochs, &r[1])) == NULL ||
        (b.pos = em_arena_alloc(a, bsize * sizeof(uint32_t))) == NULL)
        return EM_ENOMEM;
    memset(ls, 0, epochs * sizeof(double));
    memset(cs, 0, epochs * sizeof(double));
    for (size_t ep = 0; ep < epochs && st == EM_OK; ep++)
        st = run_epoch(&b, (int64_t)ep + 1, &ls[ep], &cs[ep]);
    em__mem_free(b.idx, b.cap * sizeof(uint32_t));
    return st;
}

em_status em__ps_read_all(em_ps *ps, size_t nkeys, size_t width, double *w)
{
    size_t chunk = nkeys < READ_CHUNK ? nkeys : READ_CHUNK;
    em_val *keys = em__mem_alloc(chunk * sizeof(em_val));
    em_status st = EM_OK;

    if (keys == NULL)
        return EM_ENOMEM;
    for (size_t at = 0; at < nkeys && st == EM_OK; at += chunk) {
        size_t n = nkeys - at < chunk ? nkeys - at : chunk;
        for (size_t k = 0; k < n; k++)
            keys[k] = em_int((int64_t)(at + k));
        st = em_ps_get(ps, keys, n, w + at * width);
    }
    em__mem_free(keys, chunk * sizeof(em_val));
    return st;
}

/* The training job and the weights read back; *out as
 * em__lin_train_allreduce's, in a. */
static em_status ps_job(em_rdd *points, em_ps *ps, const em_val *env,
                        em_arena *a, em_val *out)
{
    size_t dim = (size_t)env[EM__LIN_DIM].u.i;
    size_t epochs = (size_t)env[EM__LIN_EPOCHS].u.i;
    em_rdd *parts = em_rdd_map_partitions_with_index(
        points, em_fn_of(ps_partition, em_array(env, EM__LIN_NENV_DIST)));
    double *w = em__mem_calloc(2 * dim + epochs, sizeof(double));
    em_val got;
    em_status st;

    if (w == NULL || parts == NULL) {
        em__mem_free(w, (2 * dim + epochs) * sizeof(double));
        return EM_ENOMEM;
    }
    st = em_rdd_tree_reduce(parts, EM_FN(em__lin_sum_op), 2, a, &got);
    if (st == EM_OK)
        st = em__ps_read_all(ps, dim, 1, w);
    for (size_t ep = 0; st == EM_OK && ep < epochs; ep++) {
        double n = got.u.arr[1].u.vec[ep];
        w[2 * dim + ep] = n > 0 ? got.u.arr[0].u.vec[ep] / n : NAN;
    }
    /* no average over steps in ps mode: w + dim stays zero */
    if (st == EM_OK)
        st = make_result(a, w, dim, w + 2 * dim, epochs, w + dim, 0, out);
    em__mem_free(w, (2 * dim + epochs) * sizeof(double));
    return st;
}

void em__ps_report_losses(em_ps *ps, const char *model)
{
    em_ps_stats stats;

    if (em_ps_stats_get(ps, &stats) == EM_OK && stats.restores > 0)
        em__log_warn("%s: ps mode: %lld shard(s) restored, %lld "
                     "push(es) lost", model, (long long)stats.restores,
                     (long long)stats.lost_pushes);
}

em_status em__lin_train_ps(em_rdd *points, em_val *env,
                           const em_optim_conf *oc, int staleness,
                           em_arena *a, em_val *out)
{
    em_ps_opts po = {.dim = 1, .has_optim = true, .optim = *oc,
                     .staleness = staleness};
    em_ps *ps;
    em_status st;

    if (oc->reg == EM_REG_L1 || env[EM__LIN_AVG].u.b)
        return em__err(EM_EINVAL, "linear: ps mode takes L2 or no "
                       "regularization and no averaged model");
    po.optim.reg = EM_REG_NONE; /* the tasks add L2, sparing the intercept */
    po.optim.reg_param = 0;
    /* em_ps_create sets the message; an unreachable executor is the
     * failure left once the options are valid */
    if ((ps = em_ps_create(em_rdd_ctx(points), &po)) == NULL)
        return EM_ELOST;
    env[EM__LIN_PS] = em_ps_ref(ps);
    st = ps_job(points, ps, env, a, out);
    em__ps_report_losses(ps, "linear");
    em_ps_destroy(ps);
    return st;
}
