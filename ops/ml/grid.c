/* Grid search by k-fold cross-validation: the points collected and
 * broadcast once, the grid's cells expanded on the driver, and one task
 * per (cell, fold) pair that trains on the other folds and scores the
 * held-out one; the driver averages the folds and picks the best cell.
 * include/ember/ml_grid.h has the contract; docs/ml.md, "Grid search".
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ember/ml_grid.h"
#include "ember/ml_linear.h"
#include "linear.h"
#include "runtime/err.h"
#include "runtime/fnref.h"
#include "runtime/rdd.h"

#define MAX_CELLS 100000

/* The task function's environment: an array indexed by these. */
enum {
    G_DATA,   /* broadcast reference to [points array, order vec or nil] */
    G_FOLDS,  /* int: k */
    G_CELLS,  /* array of the cells' parameter maps */
    G_TRAIN,  /* the packed trainer */
    G_METRIC, /* int: em_grid_metric */
    G_FN,     /* the packed predictor or scorer, or nil */
    G_NENV
};

/* Positions lo..hi-1 of the fold order form fold f of n points. */
static void fold_range(size_t n, int k, int f, size_t *lo, size_t *hi)
{
    size_t q = n / (size_t)k, r = n % (size_t)k, uf = (size_t)f;

    *lo = uf * q + (uf < r ? uf : r);
    *hi = *lo + q + (uf < r ? 1 : 0);
}

/* The points of fold f in *test and the others in *train, both in fold
 * order; order is a vec of point indices, or nil for the points' own. */
static em_status split(em_val pts, em_val order, int k, int f, em_arena *a,
                       em_val *train, em_val *test)
{
    size_t lo, hi, nt = 0, ne = 0;
    em_val *tr, *te;

    fold_range(pts.len, k, f, &lo, &hi);
    if ((tr = em_array_make(a, pts.len - (hi - lo), train)) == NULL ||
        (te = em_array_make(a, hi - lo, test)) == NULL)
        return EM_ENOMEM;
    for (size_t pos = 0; pos < pts.len; pos++) {
        size_t i = order.type == EM_VEC ? (size_t)order.u.vec[pos] : pos;
        if (pos >= lo && pos < hi)
            te[ne++] = pts.u.arr[i];
        else
            tr[nt++] = pts.u.arr[i];
    }
    return EM_OK;
}

/* The prediction of the model for a point's features: the user's
 * predictor, or a linear model's. */
static em_status predict(em_task *t, const em_fn *f, em_val model,
                         em_val point, double *out)
{
    em_val args[2] = {model, point.u.arr[1]}, v;
    em_status st;

    if (f->call == NULL)
        return em_linear_predict(model, point.u.arr[1], out) == EM_OK
                   ? EM_OK
                   : em__lin_fail_last(t);
    if ((st = em__fn_call(t, f, args, 2, &v)) != EM_OK)
        return st;
    if (!em_val_as_float(v, out))
        return em_task_fail(t, "gridSearch: the predictor returned %s, "
                            "not a number", em_type_name((em_type)v.type));
    return EM_OK;
}

/* The metric of the model on the held-out points. */
static em_status score(em_task *t, const em_val *e, em_val model,
                       em_val test, double *out)
{
    em_fn f = {NULL, em_nil()};
    double sum = 0, p, y;
    em_val args[2] = {model, test}, v;
    em_status st;

    if (e[G_FN].type != EM_NIL && (st = em__fn_unpack(e[G_FN], &f)) != EM_OK)
        return st;
    if (e[G_METRIC].u.i == EM_GRID_SCORE_FN) {
        if ((st = em__fn_call(t, &f, args, 2, &v)) != EM_OK)
            return st;
        if (!em_val_as_float(v, out))
            return em_task_fail(t, "gridSearch: the metric returned %s, not "
                                "a number", em_type_name((em_type)v.type));
        return EM_OK;
    }
    for (uint32_t i = 0; i < test.len; i++) {
        if (!em_val_is_pair(test.u.arr[i]) ||
            !em_val_as_float(test.u.arr[i].u.arr[0], &y))
            return em_task_fail(t, "gridSearch: a point must be [label, "
                                "features]");
        if ((st = predict(t, &f, model, test.u.arr[i], &p)) != EM_OK)
            return st;
        sum += e[G_METRIC].u.i == EM_GRID_RMSE ? (p - y) * (p - y) : p == y;
    }
    *out = e[G_METRIC].u.i == EM_GRID_RMSE ? sqrt(sum / test.len)
                                           : sum / test.len;
    return EM_OK;
}

/* [cell, fold] -> [cell, fold, score] */
static em_status grid_task(em_task *t, const em_val *env, const em_val *args,
                           size_t nargs, em_val *out)
{
    const em_val *e = env->u.arr;
    em_arena *a = em_task_arena(t);
    int64_t cell = args[0].u.arr[0].u.i, fold = args[0].u.arr[1].u.i;
    em_val data, targs[2], model, test, *r;
    em_fn train;
    double s;
    em_status st;

    if ((st = em_task_broadcast(t, e[G_DATA], &data)) != EM_OK ||
        (st = em__fn_unpack(e[G_TRAIN], &train)) != EM_OK ||
        (st = split(data.u.arr[0], data.u.arr[1], (int)e[G_FOLDS].u.i,
                    (int)fold, a, &targs[0], &test)) != EM_OK)
        return st;
    targs[1] = e[G_CELLS].u.arr[cell];
    if ((st = em__fn_call(t, &train, targs, 2, &model)) != EM_OK ||
        (st = score(t, e, model, test, &s)) != EM_OK)
        return st;
    if ((r = em_array_make(a, 3, out)) == NULL)
        return EM_ENOMEM;
    r[0] = args[0].u.arr[0];
    r[1] = args[0].u.arr[1];
    r[2] = em_float(s);
    return EM_OK;
}

/* ---- the driver ---- */

static int cmp_keys(const void *x, const void *y)
{
    const em_val *p = x, *q = y;
    int c = memcmp(p->u.s, q->u.s, p->len < q->len ? p->len : q->len);

    return c != 0 ? c : (p->len > q->len) - (p->len < q->len);
}

/* The grid's cells as an array of maps in a: the product of the
 * candidates, keys sorted, the last varying fastest. */
static em_status expand(em_val grid, em_arena *a, em_val *out)
{
    em_val *kv, *cells;
    size_t nk = grid.type == EM_MAP ? grid.len : 0, ncells = 1;

    if (grid.type != EM_MAP || grid.len == 0)
        return em__err(grid.type == EM_MAP ? EM_EEMPTY : EM_EINVAL,
                       "gridSearch: the grid must be a non-empty map from "
                       "parameter names to lists of values");
    if ((kv = em_arena_alloc(a, 2 * nk * sizeof(em_val))) == NULL)
        return EM_ENOMEM;
    memcpy(kv, grid.u.map, 2 * nk * sizeof(em_val));
    for (size_t i = 0; i < nk; i++) {
        em_val v = kv[2 * i + 1];
        size_t m = v.type == EM_ARRAY ? v.len : 1;
        if (kv[2 * i].type != EM_STR)
            return em__err(EM_EINVAL, "gridSearch: parameter names must "
                           "be strings");
        if (m == 0 || ncells > MAX_CELLS / m)
            return em__err(m == 0 ? EM_EEMPTY : EM_ELIMIT, "gridSearch: "
                           "parameter %.*s has no values or the grid "
                           "more than %d cells", (int)kv[2 * i].len,
                           kv[2 * i].u.s, MAX_CELLS);
        ncells *= m;
    }
    qsort(kv, nk, 2 * sizeof(em_val), cmp_keys);
    if ((cells = em_array_make(a, ncells, out)) == NULL)
        return EM_ENOMEM;
    for (size_t c = 0; c < ncells; c++) {
        em_val *m = em_arena_alloc(a, 2 * nk * sizeof(em_val));
        size_t rest = c;
        if (m == NULL)
            return EM_ENOMEM;
        for (size_t i = nk; i-- > 0;) {
            em_val v = kv[2 * i + 1];
            size_t len = v.type == EM_ARRAY ? v.len : 1;
            m[2 * i] = kv[2 * i];
            m[2 * i + 1] = v.type == EM_ARRAY ? v.u.arr[rest % len] : v;
            rest /= len;
        }
        if (em_map_make(a, m, nk, &cells[c]) != EM_OK)
            return EM_ENOMEM;
    }
    return EM_OK;
}

/* [points, order]: order a seeded Fisher-Yates shuffle of 0..n-1 when
 * shuffling (splitmix64 draws), else nil. */
static em_status fold_data(em_val pts, const em_grid_opts *o, em_arena *a,
                           em_val *out)
{
    em_val *d = em_array_make(a, 2, out);
    uint64_t z = o->seed;
    double *ord;

    if (d == NULL)
        return EM_ENOMEM;
    d[0] = pts;
    d[1] = em_nil();
    if (!o->shuffle)
        return EM_OK;
    if ((ord = em_vec_make(a, pts.len, &d[1])) == NULL)
        return EM_ENOMEM;
    for (uint32_t i = 0; i < pts.len; i++)
        ord[i] = i;
    for (uint32_t i = pts.len; i > 1; i--) {
        uint64_t x = (z += 0x9e3779b97f4a7c15ULL), j;
        double tmp;
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
        j = (x ^ (x >> 31)) % i;
        tmp = ord[i - 1];
        ord[i - 1] = ord[j];
        ord[j] = tmp;
    }
    return EM_OK;
}

/* Runs the (cell, fold) tasks: their [cell, fold, score] records. */
static em_status run_tasks(em_rdd *points, em_val env, size_t ncells, int k,
                           em_arena *a, em_val *out)
{
    em_ctx *ctx = em_rdd_ctx(points);
    size_t np = ncells * (size_t)k;
    em_val pairs, *pv = em_array_make(a, np, &pairs);
    em_rdd *tasks;

    if (pv == NULL)
        return EM_ENOMEM;
    for (size_t i = 0; i < np; i++) {
        em_val *p = em_array_make(a, 2, &pv[i]);
        if (p == NULL)
            return EM_ENOMEM;
        p[0] = em_int((int64_t)(i / (size_t)k));
        p[1] = em_int((int64_t)(i % (size_t)k));
    }
    tasks = em_ctx_parallelize(ctx, pv, np, (int)np);
    if (tasks == NULL || (tasks = em_rdd_map(tasks, em_fn_of(grid_task,
                                                             env))) == NULL)
        return EM_ENOMEM;
    return em_rdd_collect(tasks, a, out);
}

/* The result map of the scores (ncells x k, row per cell), in a. */
static em_status results(em_val cells, const double *sc, int k,
                         bool lower, em_arena *a, em_val *out)
{
    em_val kv[16], *splits;
    double *mean, *sd;
    size_t best = 0;

    if ((mean = em_vec_make(a, cells.len, &kv[3])) == NULL ||
        (sd = em_vec_make(a, cells.len, &kv[5])) == NULL ||
        (splits = em_array_make(a, cells.len, &kv[7])) == NULL)
        return EM_ENOMEM;
    for (uint32_t c = 0; c < cells.len; c++) {
        double *s = em_vec_make(a, (size_t)k, &splits[c]);
        if (s == NULL)
            return EM_ENOMEM;
        memcpy(s, &sc[c * (size_t)k], (size_t)k * sizeof(double));
        for (int f = 0; f < k; f++)
            mean[c] += s[f] / k;
        for (int f = 0; f < k; f++)
            sd[c] += (s[f] - mean[c]) * (s[f] - mean[c]) / k;
        sd[c] = sqrt(sd[c]);
        if (lower ? mean[c] < mean[best] : mean[c] > mean[best])
            best = c;
    }
    kv[0] = em_cstr("params");
    kv[1] = cells;
    kv[2] = em_cstr("mean_test_score");
    kv[4] = em_cstr("std_test_score");
    kv[6] = em_cstr("split_test_scores");
    kv[8] = em_cstr("best_index");
    kv[9] = em_int((int64_t)best);
    kv[10] = em_cstr("best_params");
    kv[11] = cells.u.arr[best];
    kv[12] = em_cstr("best_score");
    kv[13] = em_float(mean[best]);
    kv[14] = em_cstr("lower_is_better");
    kv[15] = em_bool(lower);
    return em_map_make(a, kv, 8, out);
}

/* The options with defaults filled in, checked. */
static em_status check_opts(const em_grid_opts *in, em_fn train,
                            em_grid_opts *o)
{
    *o = (em_grid_opts){0};
    if (in != NULL)
        *o = *in;
    if (o->folds == 0)
        o->folds = 3;
    if (o->metric != EM_GRID_SCORE_FN)
        o->lower_is_better = o->metric == EM_GRID_RMSE;
    if (train.call == NULL || o->folds < 2 || o->folds > 1000 ||
        (unsigned)o->metric > EM_GRID_SCORE_FN ||
        (o->metric == EM_GRID_SCORE_FN && o->score.call == NULL))
        return em__err(EM_EINVAL, "gridSearch: a trainer, 2 to 1000 folds "
                       "(not %d), a known metric and, for a metric "
                       "function, the function are needed", o->folds);
    return EM_OK;
}

em_status em_ml_grid_search(em_rdd *points, em_fn train, em_val grid,
                            const em_grid_opts *opts, em_arena *a,
                            em_val *out)
{
    em_grid_opts o;
    em_val env[G_NENV], pts, data, got, res;
    em_fn fn;
    em_broadcast *bc = NULL;
    em_arena *tmp;
    double *sc = NULL;
    em_status st;

    if (points == NULL)
        return em__err(EM_EINVAL, "gridSearch: no input RDD");
    if ((st = check_opts(opts, train, &o)) != EM_OK)
        return st;
    if ((tmp = em_arena_create()) == NULL)
        return EM_ENOMEM;
    fn = o.metric == EM_GRID_SCORE_FN ? o.score : o.predict;
    env[G_FOLDS] = em_int(o.folds);
    env[G_METRIC] = em_int(o.metric);
    env[G_FN] = em_nil();
    if ((st = expand(grid, tmp, &env[G_CELLS])) != EM_OK ||
        (st = em__fn_pack(tmp, train, &env[G_TRAIN])) != EM_OK ||
        (fn.call != NULL &&
         (st = em__fn_pack(tmp, fn, &env[G_FN])) != EM_OK) ||
        (st = em_rdd_collect(points, tmp, &pts)) != EM_OK)
        goto out_tmp;
    if (pts.len < (uint32_t)o.folds) {
        st = em__err(EM_EINVAL, "gridSearch: %u points for %d folds",
                     pts.len, o.folds);
        goto out_tmp;
    }
    if ((st = fold_data(pts, &o, tmp, &data)) != EM_OK)
        goto out_tmp;
    if ((bc = em_ctx_broadcast(em_rdd_ctx(points), data)) == NULL) {
        st = EM_ENOMEM;
        goto out_tmp;
    }
    env[G_DATA] = em_broadcast_ref(bc);
    st = run_tasks(points, em_array(env, G_NENV), env[G_CELLS].len, o.folds,
                   tmp, &got);
    if (st == EM_OK &&
        (sc = em_arena_alloc(tmp, got.len * sizeof(double))) == NULL)
        st = EM_ENOMEM;
    for (uint32_t i = 0; st == EM_OK && i < got.len; i++) {
        const em_val *r = got.u.arr[i].u.arr;
        sc[r[0].u.i * o.folds + r[1].u.i] = r[2].u.f;
    }
    if (st == EM_OK &&
        (st = results(env[G_CELLS], sc, o.folds, o.lower_is_better, tmp,
                      &res)) == EM_OK)
        st = em_val_copy(a, res, out);
    em_broadcast_destroy(bc);
out_tmp:
    em_arena_destroy(tmp);
    return st;
}
