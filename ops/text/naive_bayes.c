/* Multinomial naive Bayes, as pyspark.mllib's NaiveBayes: each partition
 * sums its points per label (mapPartitions), reduceByKey adds the
 * partition sums, and the driver turns the L label sums into log priors
 * and log conditional probabilities with additive smoothing. The model is
 * a map value; docs/ml.md, "Naive Bayes".
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "runtime/err.h"
#include "runtime/mem.h"

/* One label's running sums inside a partition. */
typedef struct label_sum {
    double label;   /* the class */
    int64_t n;      /* points seen */
    double *sum;    /* d feature sums (mem.h) */
} label_sum;

typedef struct part_sums {
    label_sum *labels; /* mem.h array */
    size_t n, cap;     /* used and allocated labels */
    int64_t dim;       /* feature dimension, -1 until the first point */
} part_sums;

/* The size of one label's sums (at least one double). */
static size_t sum_bytes(const part_sums *ps)
{
    return (ps->dim > 0 ? (size_t)ps->dim : 1) * sizeof(double);
}

static void part_sums_fini(part_sums *ps)
{
    for (size_t i = 0; i < ps->n; i++)
        em__mem_free(ps->labels[i].sum, sum_bytes(ps));
    em__mem_free(ps->labels, ps->cap * sizeof(label_sum));
}

/* The sums of `label`, added when new. NULL when out of memory. */
static label_sum *sums_for(part_sums *ps, double label)
{
    label_sum *ls;

    for (size_t i = 0; i < ps->n; i++)
        if (ps->labels[i].label == label)
            return &ps->labels[i];
    if (em__mem_grow((void **)&ps->labels, &ps->cap, ps->n + 1,
                     sizeof(label_sum)) != 0)
        return NULL;
    ls = &ps->labels[ps->n];
    ls->sum = em__mem_calloc(1, sum_bytes(ps));
    if (ls->sum == NULL)
        return NULL;
    ls->label = label;
    ls->n = 0;
    ps->n++;
    return ls;
}

/* Checks a point and adds it to its label's sums. */
static em_status add_point(em_task *t, part_sums *ps, em_val p)
{
    double label, x;
    int64_t dim;
    label_sum *ls;
    em_val f;

    if (!em_val_is_pair(p) || !em_val_as_float(p.u.arr[0], &label) ||
        !isfinite(label))
        return em_task_fail(t, "naive Bayes: a point must be [label, "
                            "features] with a finite number as label");
    f = p.u.arr[1];
    if (f.type != EM_VEC && f.type != EM_SPVEC)
        return em_task_fail(t, "naive Bayes: features must be a vector, "
                            "not %s", em_type_name((em_type)f.type));
    dim = f.type == EM_VEC ? (int64_t)f.len : f.u.sp->dim;
    if (dim > (int64_t)1 << 28)
        return em_task_fail(t, "naive Bayes: %lld features are more than "
                            "the 2^28 the dense sums allow", (long long)dim);
    if (ps->dim < 0)
        ps->dim = dim;
    if (dim != ps->dim)
        return em_task_fail(t, "naive Bayes: features of dimension %lld "
                            "after %lld", (long long)dim,
                            (long long)ps->dim);
    if ((ls = sums_for(ps, label)) == NULL)
        return EM_ENOMEM;
    ls->n++;
    for (uint32_t i = 0; i < f.len; i++) {
        x = f.type == EM_VEC ? f.u.vec[i] : f.u.sp->val[i];
        if (!(x >= 0) || !isfinite(x))
            return em_task_fail(t, "naive Bayes: feature values must be "
                                "finite and >= 0, got %g", x);
        ls->sum[f.type == EM_VEC ? i : f.u.sp->idx[i]] += x;
    }
    return EM_OK;
}

/* records -> array of (label, [n, sums vec]) */
static em_status nb_partition(em_task *t, const em_val *env,
                              const em_val *args, size_t nargs, em_val *out)
{
    part_sums ps = {NULL, 0, 0, -1};
    em_arena *a = em_task_arena(t);
    em_val recs = args[0], *items;
    em_status st = EM_OK;

    for (uint32_t i = 0; i < recs.len && st == EM_OK; i++)
        st = add_point(t, &ps, recs.u.arr[i]);
    if (st != EM_OK)
        goto out;
    if ((items = em_array_make(a, ps.n, out)) == NULL) {
        st = EM_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < ps.n && st == EM_OK; i++) {
        em_val v, *cell = em_arena_alloc(a, 2 * sizeof(em_val));
        double *x = em_vec_make(a, (size_t)ps.dim, &v);
        if (cell == NULL || x == NULL) {
            st = EM_ENOMEM;
            break;
        }
        memcpy(x, ps.labels[i].sum, (size_t)ps.dim * sizeof(double));
        cell[0] = em_int(ps.labels[i].n);
        cell[1] = v;
        st = em_pair_make(a, em_float(ps.labels[i].label),
                          em_array(cell, 2), &items[i]);
    }
out:
    part_sums_fini(&ps);
    return st;
}

/* [n1, v1], [n2, v2] -> [n1 + n2, v1 + v2] */
static em_status nb_merge(em_task *t, const em_val *env, const em_val *args,
                          size_t nargs, em_val *out)
{
    const em_val *x = args[0].u.arr, *y = args[1].u.arr;
    em_arena *a = em_task_arena(t);
    em_val *cell = em_array_make(a, 2, out), v;
    double *s;

    if (x[1].len != y[1].len)
        return em_task_fail(t, "naive Bayes: features of dimension %u "
                            "and %u", x[1].len, y[1].len);
    if (cell == NULL || (s = em_vec_make(a, x[1].len, &v)) == NULL)
        return EM_ENOMEM;
    for (uint32_t i = 0; i < x[1].len; i++)
        s[i] = x[1].u.vec[i] + y[1].u.vec[i];
    cell[0] = em_int(x[0].u.i + y[0].u.i);
    cell[1] = v;
    return EM_OK;
}

static int by_label(const void *x, const void *y)
{
    return em_val_cmp(((const em_val *)x)->u.arr[0],
                      ((const em_val *)y)->u.arr[0]);
}

/* The model of the label sums (sorted by label), in a. */
static em_status make_model(em_val sums, double lambda, em_arena *a,
                            em_val *out)
{
    size_t nl = sums.len, dim = sums.u.arr[0].u.arr[1].u.arr[1].len;
    double *labels, *pi, ndocs = 0;
    em_val kv[6], theta, *rows;

    labels = em_vec_make(a, nl, &kv[3]);
    pi = em_vec_make(a, nl, &kv[5]);
    rows = em_array_make(a, nl, &theta);
    if (labels == NULL || pi == NULL || rows == NULL)
        return EM_ENOMEM;
    for (size_t i = 0; i < nl; i++)
        ndocs += (double)sums.u.arr[i].u.arr[1].u.arr[0].u.i;
    for (size_t i = 0; i < nl; i++) {
        const em_val *cell = sums.u.arr[i].u.arr[1].u.arr;
        double total = 0, denom, *th = em_vec_make(a, dim, &rows[i]);
        if (th == NULL)
            return EM_ENOMEM;
        labels[i] = sums.u.arr[i].u.arr[0].u.f;
        pi[i] = log((double)cell[0].u.i + lambda) -
                log(ndocs + (double)nl * lambda);
        for (size_t j = 0; j < dim; j++)
            total += cell[1].u.vec[j];
        denom = log(total + (double)dim * lambda);
        for (size_t j = 0; j < dim; j++)
            th[j] = log(cell[1].u.vec[j] + lambda) - denom;
    }
    kv[0] = em_cstr("theta");
    kv[1] = theta;
    kv[2] = em_cstr("labels");
    kv[4] = em_cstr("pi");
    return em_map_make(a, kv, 3, out);
}

em_status em_nb_train(em_rdd *points, double lambda, em_arena *a,
                      em_val *model_out)
{
    em_arena *tmp;
    em_rdd *sums;
    em_val got;
    em_status st;

    if (points == NULL)
        return em__err(EM_EINVAL, "naive Bayes: no input RDD");
    if (!(lambda >= 0) || !isfinite(lambda))
        return em__err(EM_EINVAL, "naive Bayes: lambda must be finite and "
                       ">= 0, not %g", lambda);
    if ((tmp = em_arena_create()) == NULL)
        return EM_ENOMEM;
    sums = em_rdd_map_partitions(points, EM_FN(nb_partition));
    sums = em_rdd_reduce_by_key(sums, EM_FN(nb_merge), 0);
    st = sums == NULL ? EM_EINVAL : em_rdd_collect(sums, tmp, &got);
    if (st == EM_OK && got.len == 0)
        st = em__err(EM_EEMPTY, "naive Bayes: no training points");
    if (st == EM_OK) {
        qsort((void *)got.u.arr, got.len, sizeof(em_val), by_label);
        st = make_model(got, lambda, a, model_out);
    }
    em_arena_destroy(tmp);
    return st;
}

em_status em_ml_labeled_point(em_arena *a, double label, em_val features,
                              em_val *out)
{
    return em_pair_make(a, em_float(label), features, out);
}

/* The value of key name in map m, or nil. */
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

em_status em_nb_model_parts(em_val model, em_val *labels_out,
                            em_val *pi_out, em_val *theta_out)
{
    em_val labels, pi, theta;

    if (model.type != EM_MAP)
        return em__err(EM_EFORMAT, "naive Bayes: a model is a map, not %s",
                       em_type_name((em_type)model.type));
    labels = map_get(model, "labels");
    pi = map_get(model, "pi");
    theta = map_get(model, "theta");
    if (labels.type != EM_VEC || pi.type != EM_VEC ||
        theta.type != EM_ARRAY || labels.len == 0 ||
        pi.len != labels.len || theta.len != labels.len)
        return em__err(EM_EFORMAT, "naive Bayes: not a model (labels, pi "
                       "and theta missing or of different lengths)");
    for (uint32_t i = 0; i < theta.len; i++)
        if (theta.u.arr[i].type != EM_VEC ||
            theta.u.arr[i].len != theta.u.arr[0].len)
            return em__err(EM_EFORMAT, "naive Bayes: theta row %u is not a "
                           "vector of the model's dimension", i);
    if (labels_out != NULL)
        *labels_out = labels;
    if (pi_out != NULL)
        *pi_out = pi;
    if (theta_out != NULL)
        *theta_out = theta;
    return EM_OK;
}

em_status em_nb_predict(em_val model, em_val features, double *label_out)
{
    em_val labels, pi, theta;
    double best = -INFINITY;
    uint32_t arg = 0, dim;
    em_status st = em_nb_model_parts(model, &labels, &pi, &theta);

    if (st != EM_OK)
        return st;
    dim = theta.u.arr[0].len;
    if (!((features.type == EM_VEC && features.len == dim) ||
          (features.type == EM_SPVEC && features.u.sp->dim == dim)))
        return em__err(EM_EINVAL, "naive Bayes: features must be a vector "
                       "of dimension %u", dim);
    for (uint32_t i = 0; i < labels.len; i++) {
        const double *th = theta.u.arr[i].u.vec;
        double s = pi.u.vec[i];
        if (features.type == EM_VEC)
            for (uint32_t j = 0; j < dim; j++)
                s += features.u.vec[j] * th[j];
        else
            for (uint32_t j = 0; j < features.len; j++)
                s += features.u.sp->val[j] * th[features.u.sp->idx[j]];
        if (s > best || i == 0) {
            best = s;
            arg = i;
        }
    }
    *label_out = labels.u.vec[arg];
    return EM_OK;
}

em_status em_nb_predict_op(em_task *t, const em_val *env, const em_val *args,
                           size_t nargs, em_val *out)
{
    em_val model = *env, f = args[0];
    double label;
    em_status st;

    if (model.type == EM_HANDLE &&
        (st = em_task_broadcast(t, *env, &model)) != EM_OK)
        return st;
    if (em_val_is_pair(f))
        f = f.u.arr[1];
    if (em_nb_predict(model, f, &label) != EM_OK)
        return em__text_fail_last(t);
    *out = em_float(label);
    return EM_OK;
}
