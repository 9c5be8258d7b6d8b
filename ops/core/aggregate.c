/* Aggregating actions: reduce, fold, aggregate, treeReduce,
 * treeAggregate, sum, mean, stats and histogram. A partition folds into
 * an accumulator that ping-pongs between two arenas, so memory stays
 * bounded by the size of one accumulator however long the partition.
 */
#include <math.h>
#include <string.h>

#include "ops.h"
#include "runtime/arena.h"
#include "runtime/err.h"
#include "runtime/fnref.h"
#include "runtime/num.h"

typedef struct fold_args {
    em_val zero;     /* start of every partition (ignored by reduce) */
    em_fn seq;       /* acc, rec -> acc */
    bool has_zero;   /* false for reduce: the first record starts */
} fold_args;

typedef struct fold_sink {
    em__sink base;
    const fold_args *args;
    em_arena *cur, *spare;  /* acc lives in cur */
    em_val acc;
    bool has_acc;
} fold_sink;

static em_status fold_push(em__sink *s, em_task *t, em_val rec)
{
    fold_sink *fs = (fold_sink *)s;
    em_val args[2], r;
    em_arena *tmp;
    em_status st;

    if (!fs->has_acc) {
        fs->has_acc = true;
        return em_val_copy(fs->cur, rec, &fs->acc);
    }
    args[0] = fs->acc;
    args[1] = rec;
    st = em__fn_call(t, &fs->args->seq, args, 2, &r);
    if (st != EM_OK)
        return st;
    em__arena_reset(fs->spare);
    if ((st = em_val_copy(fs->spare, r, &fs->acc)) != EM_OK)
        return st;
    tmp = fs->cur;
    fs->cur = fs->spare;
    fs->spare = tmp;
    return EM_OK;
}

/* fold_args as a task parameter: [has_zero, zero, packed seq]. */
static em_status fold_args_val(const fold_args *fa, em_arena *a, em_val *out)
{
    em_val *items = em_array_make(a, 3, out);

    if (items == NULL)
        return EM_ENOMEM;
    items[0] = em_bool(fa->has_zero);
    items[1] = fa->zero;
    return em__fn_pack(a, fa->seq, &items[2]);
}

static em_status fold_args_get(em_val v, fold_args *out)
{
    if (v.type != EM_ARRAY || v.len != 3 || v.u.arr[0].type != EM_BOOL)
        return em__err(EM_EPROTO, "fold: malformed task parameters");
    out->has_zero = v.u.arr[0].u.b;
    out->zero = v.u.arr[1];
    return em__fn_unpack(v.u.arr[2], &out->seq);
}

/* Task: [] for an empty partition under reduce, else [acc]. */
static em_status fold_task(em_task *t, em_rdd *rdd, int part, em_val arg,
                           em_arena *res, em_val *out)
{
    fold_args args, *fa = &args;
    fold_sink fs = {{fold_push}, fa, em_arena_create(), em_arena_create(),
                    em_nil(), false};
    em_val *items;
    em_status st = EM_ENOMEM;

    if (fs.cur == NULL || fs.spare == NULL)
        goto out;
    if ((st = fold_args_get(arg, &args)) != EM_OK)
        goto out;
    if (fa->has_zero) {
        fs.has_acc = true;
        if ((st = em_val_copy(fs.cur, fa->zero, &fs.acc)) != EM_OK)
            goto out;
    }
    st = em__rdd_compute(rdd, part, t, &fs.base);
    if (st != EM_OK)
        goto out;
    items = em_array_make(res, fs.has_acc ? 1 : 0, out);
    if (items == NULL)
        st = EM_ENOMEM;
    else if (fs.has_acc)
        st = em_val_copy(res, fs.acc, &items[0]);
out:
    em_arena_destroy(fs.cur);
    em_arena_destroy(fs.spare);
    return st;
}

/* Combines vals[0..n) (each [] or [acc]) with comb, in groups of `fan` per
 * level until one is left, starting from *acc when has_acc. */
static em_status combine_tree(em_ctx *ctx, const em_fn *comb, em_val *vals,
                              size_t n, size_t fan, em_arena *a,
                              em_val *acc, bool *has_acc)
{
    em_task drv;
    em_status st = EM_OK;

    memset(&drv, 0, sizeof(drv));
    drv.ctx = ctx;
    if ((drv.scratch = em_arena_create()) == NULL)
        return EM_ENOMEM;
    if (fan < 2)
        fan = n > 1 ? n : 2;
    while (n > 1 && st == EM_OK) {
        size_t m = 0;
        for (size_t g = 0; g < n && st == EM_OK; g += fan, m++) {
            em_val cur = vals[g];
            for (size_t i = g + 1; i < g + fan && i < n && st == EM_OK; i++) {
                em_val args[2], r, *it;
                if (vals[i].len == 0)
                    continue;
                if (cur.len == 0) {
                    cur = vals[i];
                    continue;
                }
                args[0] = cur.u.arr[0];
                args[1] = vals[i].u.arr[0];
                st = em__fn_call(&drv, comb, args, 2, &r);
                if (st == EM_OK && (it = em_array_make(a, 1, &cur)) == NULL)
                    st = EM_ENOMEM;
                if (st == EM_OK)
                    st = em_val_copy(a, r, &it[0]);
            }
            vals[m] = cur;
        }
        n = m;
    }
    if (st == EM_OK && n == 1 && vals[0].len == 1) {
        if (*has_acc) {
            em_val args[2] = {*acc, vals[0].u.arr[0]}, r;
            st = em__fn_call(&drv, comb, args, 2, &r);
            if (st == EM_OK)
                st = em_val_copy(a, r, acc);
        } else {
            st = em_val_copy(a, vals[0].u.arr[0], acc);
            *has_acc = true;
        }
    }
    em_arena_destroy(drv.scratch);
    return st;
}

/* The shared body of reduce, fold, aggregate and their tree forms. */
static em_status run_fold(em_rdd *rdd, const fold_args *fa, const em_fn *comb,
                          int depth, bool driver_zero, em_arena *a,
                          em_val *out, bool *has_out)
{
    em__job_result r;
    size_t fan = 0;
    em_val arg;
    em_status st;

    if (rdd == NULL)
        return em__err(EM_EINVAL, "no RDD");
    if (fa->seq.call == NULL || comb->call == NULL)
        return em__err(EM_EINVAL, "no function given");
    if (depth < 1)
        return em__err(EM_EINVAL, "depth must be at least 1, not %d", depth);
    if ((st = fold_args_val(fa, a, &arg)) != EM_OK)
        return st;
    st = em__job_run(rdd->ctx, rdd, NULL, 0, fold_task, arg, &r);
    if (st != EM_OK)
        return st;
    if (depth > 1 && r.n > 0)
        fan = (size_t)ceil(pow((double)r.n, 1.0 / depth));
    *has_out = driver_zero;
    st = driver_zero ? em_val_copy(a, fa->zero, out) : EM_OK;
    if (st == EM_OK)
        st = combine_tree(rdd->ctx, comb, r.vals, (size_t)r.n, fan, a, out,
                          has_out);
    em__job_result_fini(&r);
    return st;
}

em_status em_rdd_reduce(em_rdd *rdd, em_fn f, em_arena *a, em_val *out)
{
    return em_rdd_tree_reduce(rdd, f, 1, a, out);
}

em_status em_rdd_tree_reduce(em_rdd *rdd, em_fn f, int depth, em_arena *a,
                             em_val *out)
{
    fold_args fa = {em_nil(), f, false};
    bool has;
    em_val v;
    em_status st = run_fold(rdd, &fa, &f, depth, false, a, &v, &has);

    if (st != EM_OK)
        return st;
    if (!has)
        return em__err(EM_EEMPTY, "reduce: the RDD is empty (use fold or "
                       "aggregate for a value on empty input)");
    *out = v;
    return EM_OK;
}

em_status em_rdd_fold(em_rdd *rdd, em_val zero, em_fn f, em_arena *a,
                      em_val *out)
{
    fold_args fa = {zero, f, true};
    bool has;

    return run_fold(rdd, &fa, &f, 1, true, a, out, &has);
}

em_status em_rdd_aggregate(em_rdd *rdd, em_val zero, em_fn seq, em_fn comb,
                           em_arena *a, em_val *out)
{
    fold_args fa = {zero, seq, true};
    bool has;

    return run_fold(rdd, &fa, &comb, 1, true, a, out, &has);
}

em_status em_rdd_tree_aggregate(em_rdd *rdd, em_val zero, em_fn seq,
                                em_fn comb, int depth, em_arena *a,
                                em_val *out)
{
    fold_args fa = {zero, seq, true};
    bool has;

    return run_fold(rdd, &fa, &comb, depth, true, a, out, &has);
}

static em_status add_fn(em_task *t, const em_val *env, const em_val *args,
                        size_t nargs, em_val *out)
{
    return em__num_add(args[0], args[1], out);
}

em_status em_rdd_sum(em_rdd *rdd, em_val *out)
{
    em_arena *a = em_arena_create();
    em_val v;
    em_status st;

    if (a == NULL)
        return EM_ENOMEM;
    st = em_rdd_fold(rdd, em_int(0), EM_FN(add_fn), a, &v);
    if (st == EM_OK)
        *out = v; /* a number: nothing points into the arena */
    em_arena_destroy(a);
    return st;
}

/* ---- stats ---- */

typedef struct stat_acc {
    int64_t n;
    double mu, m2, min, max;
} stat_acc;

static void stat_init(stat_acc *s)
{
    s->n = 0;
    s->mu = s->m2 = 0;
    s->min = INFINITY;
    s->max = -INFINITY;
}

static void stat_add(stat_acc *s, double x)
{
    double d = x - s->mu;

    s->n++;
    s->mu += d / (double)s->n;
    s->m2 += d * (x - s->mu);
    s->min = fmin(s->min, x);
    s->max = fmax(s->max, x);
}

/* Chan et al.'s parallel merge, as Spark's StatCounter. */
static void stat_merge(stat_acc *s, const stat_acc *o)
{
    double d;
    int64_t n;

    if (o->n == 0)
        return;
    if (s->n == 0) {
        *s = *o;
        return;
    }
    n = s->n + o->n;
    d = o->mu - s->mu;
    s->m2 += o->m2 + d * d * (double)s->n * (double)o->n / (double)n;
    s->mu += d * (double)o->n / (double)n;
    s->n = n;
    s->min = fmin(s->min, o->min);
    s->max = fmax(s->max, o->max);
}

typedef struct stat_sink {
    em__sink base;
    stat_acc acc;
} stat_sink;

static em_status need_number(em_val rec, double *x)
{
    if (em_val_as_float(rec, x))
        return EM_OK;
    return em__err(EM_ETYPE, "expected a number, got %s",
                   em_type_name((em_type)rec.type));
}

static em_status stat_push(em__sink *s, em_task *t, em_val rec)
{
    double x;
    em_status st = need_number(rec, &x);

    if (st == EM_OK)
        stat_add(&((stat_sink *)s)->acc, x);
    return st;
}

static em_status stat_task(em_task *t, em_rdd *rdd, int part, em_val arg,
                           em_arena *res, em_val *out)
{
    stat_sink ss = {{stat_push}, {0}};
    em_val *items;
    em_status st;

    stat_init(&ss.acc);
    st = em__rdd_compute(rdd, part, t, &ss.base);
    if (st != EM_OK)
        return st;
    if ((items = em_array_make(res, 5, out)) == NULL)
        return EM_ENOMEM;
    items[0] = em_int(ss.acc.n);
    items[1] = em_float(ss.acc.mu);
    items[2] = em_float(ss.acc.m2);
    items[3] = em_float(ss.acc.min);
    items[4] = em_float(ss.acc.max);
    return EM_OK;
}

em_status em_rdd_stats(em_rdd *rdd, em_stats *out)
{
    em__job_result r;
    stat_acc total;
    em_status st;

    if (rdd == NULL)
        return em__err(EM_EINVAL, "stats: no RDD");
    st = em__job_run(rdd->ctx, rdd, NULL, 0, stat_task, em_nil(), &r);
    if (st != EM_OK)
        return st;
    stat_init(&total);
    for (int i = 0; i < r.n; i++) {
        const em_val *v = r.vals[i].u.arr;
        stat_acc s = {v[0].u.i, v[1].u.f, v[2].u.f, v[3].u.f, v[4].u.f};
        stat_merge(&total, &s);
    }
    em__job_result_fini(&r);
    memset(out, 0, sizeof(*out));
    out->count = total.n;
    out->mean = total.n ? total.mu : NAN;
    out->sum = total.mu * (double)total.n;
    out->min = total.min;
    out->max = total.max;
    out->variance = total.n ? total.m2 / (double)total.n : NAN;
    out->sample_variance = total.n > 1 ? total.m2 / (double)(total.n - 1)
                                       : NAN;
    out->stdev = sqrt(out->variance);
    out->sample_stdev = sqrt(out->sample_variance);
    return EM_OK;
}

em_status em_rdd_mean(em_rdd *rdd, double *out)
{
    em_stats s;
    em_status st = em_rdd_stats(rdd, &s);

    if (st == EM_OK)
        *out = s.mean;
    return st;
}

/* ---- histogram ---- */

typedef struct hist_args {
    const double *bounds;  /* nb + 1 sorted bounds */
    int nb;                /* buckets */
    bool is_even;          /* evenly spaced: index by arithmetic */
} hist_args;

typedef struct hist_sink {
    em__sink base;
    const hist_args *h;
    int64_t *counts;       /* nb counts, in the task's result arena */
} hist_sink;

/* The bucket of x, or -1 when outside (or NaN). */
static int bucket_of(const hist_args *h, double x)
{
    double lo = h->bounds[0], hi = h->bounds[h->nb];
    int l = 0, r = h->nb;

    if (!(x >= lo && x <= hi))
        return -1;
    if (x == hi)
        return h->nb - 1;
    if (h->is_even && isfinite(hi - lo)) {
        int b = (int)((x - lo) / (hi - lo) * h->nb);
        if (b >= h->nb)
            b = h->nb - 1;
        if (b < 0)
            b = 0;
        /* guard against rounding at the edges */
        while (b > 0 && x < h->bounds[b])
            b--;
        while (b < h->nb - 1 && x >= h->bounds[b + 1])
            b++;
        return b;
    }
    while (r - l > 1) { /* bounds[l] <= x < bounds[r] */
        int m = (l + r) / 2;
        if (x < h->bounds[m])
            r = m;
        else
            l = m;
    }
    return l;
}

static em_status hist_push(em__sink *s, em_task *t, em_val rec)
{
    hist_sink *hs = (hist_sink *)s;
    double x;
    em_status st = need_number(rec, &x);
    int b;

    if (st != EM_OK)
        return st;
    if ((b = bucket_of(hs->h, x)) >= 0)
        hs->counts[b]++;
    return EM_OK;
}

static em_status hist_task(em_task *t, em_rdd *rdd, int part, em_val arg,
                           em_arena *res, em_val *out)
{
    hist_args args, *h = &args;
    hist_sink hs = {{hist_push}, h, NULL};
    em_status st;

    /* [bounds vector, is_even] */
    if (arg.type != EM_ARRAY || arg.len != 2 ||
        arg.u.arr[0].type != EM_VEC || arg.u.arr[0].len < 2)
        return em__err(EM_EPROTO, "histogram: malformed task parameters");
    args.bounds = arg.u.arr[0].u.vec;
    args.nb = (int)arg.u.arr[0].len - 1;
    args.is_even = arg.u.arr[1].u.b;

    hs.counts = em__arena_alloc(res, (size_t)h->nb * sizeof(int64_t), 8);
    if (hs.counts == NULL)
        return EM_ENOMEM;
    memset(hs.counts, 0, (size_t)h->nb * sizeof(int64_t));
    st = em__rdd_compute(rdd, part, t, &hs.base);
    *out = em_bytes(hs.counts, (size_t)h->nb * sizeof(int64_t));
    return st;
}

static em_status even_bounds(em_rdd *rdd, int nb, em_arena *a,
                             double **bounds_out, int *nb_out)
{
    em_stats s;
    double *b;
    em_status st = em_rdd_stats(rdd, &s);

    if (st != EM_OK)
        return st;
    if (s.count == 0)
        return em__err(EM_EEMPTY, "histogram: the RDD is empty");
    if (!isfinite(s.min) || !isfinite(s.max))
        return em__err(EM_EINVAL, "histogram: cannot make even buckets "
                       "over infinite or NaN values");
    if (s.min == s.max)
        nb = 1;
    if ((b = em__arena_alloc(a, ((size_t)nb + 1) * sizeof(double), 8)) ==
        NULL)
        return EM_ENOMEM;
    /* PySpark's bounds, min + i * (max - min) / n; when the span itself
     * overflows, a weighted mean of the ends, which cannot */
    for (int i = 0; i <= nb; i++) {
        double inc = (s.max - s.min) / nb;
        b[i] = isfinite(inc) ? s.min + i * inc
                             : s.min * ((double)(nb - i) / nb) +
                                   s.max * ((double)i / nb);
    }
    b[nb] = s.max;
    *bounds_out = b;
    *nb_out = nb;
    return EM_OK;
}

em_status em_rdd_histogram(em_rdd *rdd, int nbuckets, const double *buckets,
                           em_arena *a, em_val *out)
{
    hist_args h = {buckets, nbuckets, buckets == NULL};
    em__job_result r;
    em_val hv[2];
    em_val *res, *bv, *cv;
    double *b = NULL;
    em_status st;

    if (rdd == NULL)
        return em__err(EM_EINVAL, "histogram: no RDD");
    if (nbuckets < 1)
        return em__err(EM_EINVAL, "histogram: need at least one bucket");
    if (buckets != NULL) {
        for (int i = 0; i < nbuckets; i++) {
            if (!(buckets[i] < buckets[i + 1]))
                return em__err(EM_EINVAL, "histogram: bucket bounds must be "
                               "sorted and distinct");
        }
    } else {
        if ((st = even_bounds(rdd, nbuckets, a, &b, &h.nb)) != EM_OK)
            return st;
        h.bounds = b;
    }
    hv[0] = em_vec(h.bounds, (size_t)h.nb + 1);
    hv[1] = em_bool(h.is_even);
    st = em__job_run(rdd->ctx, rdd, NULL, 0, hist_task, em_array(hv, 2), &r);
    if (st != EM_OK)
        return st;
    res = em_array_make(a, 2, out);
    bv = res ? em_array_make(a, (size_t)h.nb + 1, &res[0]) : NULL;
    cv = bv ? em_array_make(a, (size_t)h.nb, &res[1]) : NULL;
    if (cv == NULL) {
        em__job_result_fini(&r);
        return EM_ENOMEM;
    }
    for (int i = 0; i <= h.nb; i++)
        bv[i] = em_float(h.bounds[i]);
    for (int i = 0; i < h.nb; i++) {
        int64_t c = 0;
        for (int p = 0; p < r.n; p++) {
            int64_t x;
            memcpy(&x, r.vals[p].u.bytes + (size_t)i * sizeof(x), sizeof(x));
            c += x;
        }
        cv[i] = em_int(c);
    }
    em__job_result_fini(&r);
    return EM_OK;
}
