/* k-means as MapReduce EM, as pyspark.mllib's KMeans: each iteration maps
 * every partition to one record of per-centre counts, sums and squared
 * distances (the E-step, combined on the map side), adds the records by
 * treeReduce, and moves the centres to the means on the driver (the
 * M-step). Initialization is random or k-means|| (Bahmani et al.). The
 * model is a map value; docs/ml.md, "Clustering".
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ember/ml_cluster.h"
#include "gpu/gpu.h"
#include "runtime/err.h"
#include "runtime/mem.h"

#define LOCAL_ITERATIONS 30 /* weighted Lloyd rounds of k-means|| */

/* The centres being fitted: k rows of d doubles (mem.h). */
typedef struct centers {
    double *c;      /* k * d values */
    size_t k, d;    /* rows and dimension */
    size_t cap;     /* doubles allocated at c */
} centers;

static void centers_fini(centers *cs)
{
    em__mem_free(cs->c, cs->cap * sizeof(double));
    cs->c = NULL;
    cs->k = cs->cap = 0;
}

/* Writes the values of point p into row (zeroed, of p's dimension). */
static void centers_row(em_val p, double *row)
{
    if (p.type == EM_VEC)
        memcpy(row, p.u.vec, p.len * sizeof(double));
    else
        for (uint32_t i = 0; i < p.len; i++)
            row[p.u.sp->idx[i]] = p.u.sp->val[i];
}

/* Appends the dense form of point p (of dimension cs->d) as a row. */
static em_status centers_push(centers *cs, em_val p)
{
    double *row;

    if (em__mem_grow((void **)&cs->c, &cs->cap, (cs->k + 1) * cs->d,
                     sizeof(double)) != 0)
        return EM_ENOMEM;
    row = cs->c + cs->k * cs->d;
    memset(row, 0, cs->d * sizeof(double));
    centers_row(p, row);
    cs->k++;
    return EM_OK;
}

/* The dimension of a vector point, or -1 when p is not one. */
static int64_t point_dim(em_val p)
{
    if (p.type == EM_VEC)
        return (int64_t)p.len;
    if (p.type == EM_SPVEC)
        return p.u.sp->dim;
    return -1;
}

/* The squared distance of point p to the centre c of d values; cnorm is
 * the squared norm of c (used for sparse points only). */
static double sq_dist(em_val p, const double *c, size_t d, double cnorm)
{
    double s = cnorm;

    if (p.type == EM_VEC) /* the kernels' arithmetic (gpu/gpu.h) */
        return em__gpu_sq_dist(p.u.vec, c, d);
    for (uint32_t i = 0; i < p.len; i++) {
        double ci = c[p.u.sp->idx[i]], t = p.u.sp->val[i] - ci;
        s += t * t - ci * ci;
    }
    return s > 0 ? s : 0;
}

/* The index of the row of c (k rows of d) nearest to p, the first on
 * ties; its squared distance in *dist. norms: the rows' squared norms. */
static size_t nearest(em_val p, const double *c, size_t k, size_t d,
                      const double *norms, double *dist)
{
    size_t best = 0;
    double bd = INFINITY;

    for (size_t j = 0; j < k; j++) {
        double s = sq_dist(p, c + j * d, d, norms[j]);
        if (s < bd) {
            bd = s;
            best = j;
        }
    }
    *dist = bd;
    return best;
}

static void row_norms(const double *c, size_t k, size_t d, double *out)
{
    for (size_t j = 0; j < k; j++) {
        double s = 0;
        for (size_t i = 0; i < d; i++)
            s += c[j * d + i] * c[j * d + i];
        out[j] = s;
    }
}

/* Fails the task for a point p that is not a vector of dimension d. */
static em_status bad_point(em_task *t, em_val p, size_t d)
{
    return em_task_fail(t, "k-means: a point must be a vector of dimension "
                        "%zu, not %s of %lld", d,
                        em_type_name((em_type)p.type),
                        (long long)point_dim(p));
}

/* The E-step of the points recs on the device of g (gpu/gpu.h): the
 * points, dense, staged once, then the same sums as below into acc. */
static em_status estep_gpu(em_task *t, em__gpu *g, em_val recs,
                           const double *c, size_t k, size_t d, double *acc)
{
    double *rows = em__gpu_rows(g, recs.len, d);

    if (rows == NULL)
        return EM_ENOMEM;
    for (uint32_t r = 0; r < recs.len; r++) {
        em_val p = recs.u.arr[r];
        if (point_dim(p) != (int64_t)d)
            return bad_point(t, p, d);
        memset(rows + (size_t)r * d, 0, d * sizeof(double));
        centers_row(p, rows + (size_t)r * d);
    }
    em__gpu_kmeans(g, c, k, acc);
    return EM_OK;
}

/* The E-step of one partition. env: [centres as one vec of k*d, k, GPU
 * on]; args[0] the records. The result is one record, a vec laid out as
 * [count of each centre (k), sum of each centre's points (k*d), cost]. */
static em_status estep_partition(em_task *t, const em_val *env,
                                 const em_val *args, size_t nargs,
                                 em_val *out)
{
    em_arena *a = em_task_arena(t);
    const double *c = env->u.arr[0].u.vec;
    size_t k = (size_t)env->u.arr[1].u.i, d = env->u.arr[0].len / k;
    double *norms = em_arena_alloc(a, k * sizeof(double)), *acc, dist;
    em_val recs = args[0], v, *items;
    em__gpu *g;
    em_status st;

    acc = em_vec_make(a, k + k * d + 1, &v);
    if (norms == NULL || acc == NULL ||
        (items = em_array_make(a, 1, out)) == NULL)
        return EM_ENOMEM;
    items[0] = v;
    if ((g = em__gpu_open(env->u.arr[2].u.b)) != NULL) {
        st = estep_gpu(t, g, recs, c, k, d, acc);
        em__gpu_close(g);
        return st;
    }
    row_norms(c, k, d, norms);
    for (uint32_t r = 0; r < recs.len; r++) {
        em_val p = recs.u.arr[r];
        double *row;
        size_t j;
        if (point_dim(p) != (int64_t)d)
            return bad_point(t, p, d);
        j = nearest(p, c, k, d, norms, &dist);
        acc[j] += 1;
        acc[k + k * d] += dist;
        row = acc + k + j * d;
        if (p.type == EM_VEC)
            for (size_t i = 0; i < d; i++)
                row[i] += p.u.vec[i];
        else
            for (uint32_t i = 0; i < p.len; i++)
                row[p.u.sp->idx[i]] += p.u.sp->val[i];
    }
    return EM_OK;
}

/* vec + vec, elementwise (the partial sums' reduction). */
static em_status vec_add(em_task *t, const em_val *env, const em_val *args,
                         size_t nargs, em_val *out)
{
    em_val x = args[0], y = args[1];
    double *s;

    if (x.len != y.len)
        return em_task_fail(t, "k-means: partial sums of %u and %u values",
                            x.len, y.len);
    if ((s = em_vec_make(em_task_arena(t), x.len, out)) == NULL)
        return EM_ENOMEM;
    for (uint32_t i = 0; i < x.len; i++)
        s[i] = x.u.vec[i] + y.u.vec[i];
    return EM_OK;
}

/* One E-step over points with the centres cs: *sums_out (in tmp) is the
 * vec of estep_partition's layout summed over all partitions. */
static em_status estep(em_rdd *points, const centers *cs, int depth,
                       em_arena *tmp, em_val *sums_out)
{
    em_val env[3];
    em_rdd *m;

    env[0] = em_vec(cs->c, cs->k * cs->d);
    env[1] = em_int((int64_t)cs->k);
    env[2] = em_bool(em_ctx_gpu(em_rdd_ctx(points)));
    m = em_rdd_map_partitions(points,
                              em_fn_of(estep_partition, em_array(env, 3)));
    if (m == NULL)
        return EM_ENOMEM; /* the input exists: only memory can fail */
    return em_rdd_tree_reduce(m, EM_FN(vec_add), depth, tmp, sums_out);
}

/* The M-step: moves each centre with points to their mean. *moved_out is
 * the largest squared distance a centre moved. */
static void mstep(centers *cs, const double *sums, double *moved_out)
{
    size_t k = cs->k, d = cs->d;
    double moved = 0;

    for (size_t j = 0; j < k; j++) {
        double n = sums[j], s = 0, *c = cs->c + j * d;
        const double *row = sums + k + j * d;
        if (n == 0)
            continue;
        for (size_t i = 0; i < d; i++) {
            double m = row[i] / n, dx = m - c[i];
            s += dx * dx;
            c[i] = m;
        }
        if (s > moved)
            moved = s;
    }
    *moved_out = moved;
}

/* ---- k-means|| ---- */

/* splitmix64 */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rng_unit(uint64_t *s)
{
    return (double)(rng_next(s) >> 11) * 0x1.0p-53;
}

/* One k-means|| round of one partition. env: [candidates vec (n*d), n,
 * oversampling factor l / cost, seed]; args: index, records. Keeps each
 * point with probability min(1, factor * d(x)^2). */
static em_status sample_partition(em_task *t, const em_val *env,
                                  const em_val *args, size_t nargs,
                                  em_val *out)
{
    em_arena *a = em_task_arena(t);
    const em_val *e = env->u.arr;
    size_t n = (size_t)e[1].u.i, d = e[0].len / n, kept = 0;
    double factor = e[2].u.f, *norms = em_arena_alloc(a, n * sizeof(double));
    uint64_t s = (uint64_t)e[3].u.i ^
                 (0x9e3779b97f4a7c15u * (uint64_t)(args[0].u.i + 1));
    em_val recs = args[1], *items = em_array_make(a, recs.len, out);

    if (norms == NULL || items == NULL)
        return EM_ENOMEM;
    row_norms(e[0].u.vec, n, d, norms);
    for (uint32_t r = 0; r < recs.len; r++) {
        double dist;
        if (point_dim(recs.u.arr[r]) != (int64_t)d)
            return em_task_fail(t, "k-means: a point must be a vector of "
                                "dimension %zu", d);
        nearest(recs.u.arr[r], e[0].u.vec, n, d, norms, &dist);
        if (rng_unit(&s) < factor * dist)
            items[kept++] = recs.u.arr[r];
    }
    out->len = (uint32_t)kept;
    return EM_OK;
}

/* The weighted k-means++ seeding of Arthur and Vassilvitskii on the
 * candidates cand with weights w, then weighted Lloyd iterations: k rows
 * (fewer when the candidates run out) into *out. */
static em_status local_kmeans(const centers *cand, const double *w, size_t k,
                              uint64_t seed, centers *out)
{
    size_t n = cand->k, d = cand->d, *assign;
    double *dist = em__mem_calloc(n, sizeof(double)), total = 0, r;
    em_status st = EM_ENOMEM;
    em_val row;

    assign = em__mem_calloc(n, sizeof(size_t));
    out->d = d;
    if (dist == NULL || assign == NULL)
        goto out_free;
    for (size_t i = 0; i < n; i++)
        total += w[i];
    /* the first centre by weight, each next one by weight * distance^2 */
    for (size_t j = 0; j < k; j++) {
        size_t pick = n;
        r = rng_unit(&seed) * total;
        for (size_t i = 0; i < n && pick == n; i++) {
            double m = j == 0 ? w[i] : w[i] * dist[i];
            if (m > 0 && (r < m || i == n - 1))
                pick = i;
            r -= m;
        }
        for (size_t i = n; pick == n && i-- > 0;)
            if ((j == 0 ? w[i] : w[i] * dist[i]) > 0)
                pick = i; /* rounding left r past the end */
        if (pick == n)
            break; /* every candidate is a centre already */
        row = em_vec(cand->c + pick * d, d);
        if ((st = centers_push(out, row)) != EM_OK)
            goto out_free;
        total = 0;
        for (size_t i = 0; i < n; i++) {
            double s = sq_dist(em_vec(cand->c + i * d, d),
                               out->c + (out->k - 1) * d, d, 0);
            dist[i] = j == 0 || s < dist[i] ? s : dist[i];
            total += w[i] * dist[i];
        }
    }
    for (int it = 0; it < LOCAL_ITERATIONS; it++) {
        double *sums = em__mem_calloc(out->k + out->k * d + 1,
                                      sizeof(double));
        double *norms = em__mem_calloc(out->k, sizeof(double)), moved;
        bool changed = it == 0;
        if (sums == NULL || norms == NULL) {
            em__mem_free(sums, (out->k + out->k * d + 1) * sizeof(double));
            em__mem_free(norms, out->k * sizeof(double));
            st = EM_ENOMEM;
            goto out_free;
        }
        row_norms(out->c, out->k, d, norms);
        for (size_t i = 0; i < n; i++) {
            double ds;
            size_t j = nearest(em_vec(cand->c + i * d, d), out->c, out->k,
                               d, norms, &ds);
            changed |= j != assign[i];
            assign[i] = j;
            sums[j] += w[i];
            for (size_t x = 0; x < d; x++)
                sums[out->k + j * d + x] += w[i] * cand->c[i * d + x];
        }
        mstep(out, sums, &moved);
        em__mem_free(sums, (out->k + out->k * d + 1) * sizeof(double));
        em__mem_free(norms, out->k * sizeof(double));
        if (!changed)
            break;
    }
    st = EM_OK;
out_free:
    em__mem_free(dist, n * sizeof(double));
    em__mem_free(assign, n * sizeof(size_t));
    return st;
}

/* Adds the points of `sampled` (an array) to cand. */
static em_status push_all(centers *cand, em_val sampled)
{
    em_status st = EM_OK;

    for (uint32_t i = 0; i < sampled.len && st == EM_OK; i++)
        st = centers_push(cand, sampled.u.arr[i]);
    return st;
}

/* The rounds of k-means|| from the first point `first`; the candidates
 * and their weights are reduced to k centres into *out. */
static em_status init_parallel(em_rdd *points, size_t k, em_val first,
                               const em_kmeans_opts *o, em_arena *tmp,
                               centers *out)
{
    centers cand = {NULL, 0, (size_t)point_dim(first), 0};
    em_val sums, env[4], sampled;
    em_status st = centers_push(&cand, first);

    for (int step = 0; st == EM_OK && step < o->init_steps; step++) {
        double cost;
        if ((st = estep(points, &cand, o->tree_depth, tmp, &sums)) != EM_OK)
            break;
        cost = sums.u.vec[sums.len - 1];
        if (!(cost > 0))
            break; /* every point is a candidate */
        env[0] = em_vec(cand.c, cand.k * cand.d);
        env[1] = em_int((int64_t)cand.k);
        env[2] = em_float(2.0 * (double)k / cost);
        env[3] = em_int((int64_t)(o->seed + 0x632be59bd9b4e019u *
                                                (uint64_t)(step + 1)));
        st = em_rdd_collect(
            em_rdd_map_partitions_with_index(
                points, em_fn_of(sample_partition, em_array(env, 4))),
            tmp, &sampled);
        if (st == EM_OK)
            st = push_all(&cand, sampled);
    }
    if (st == EM_OK && cand.k <= k) {
        *out = cand;
        return EM_OK;
    }
    if (st == EM_OK)
        st = estep(points, &cand, o->tree_depth, tmp, &sums);
    if (st == EM_OK)
        st = local_kmeans(&cand, sums.u.vec, k, o->seed ^ 0x5851f42d4c957f2du,
                          out);
    centers_fini(&cand);
    return st;
}

/* The first centres into *out, by the options. */
static em_status init_centers(em_rdd *points, size_t k,
                              const em_kmeans_opts *o, em_arena *tmp,
                              centers *out)
{
    em_val s, init = o->initial_centers;
    em_status st = EM_OK;

    if (init.type != EM_NIL) {
        out->d = init.u.arr[0].len;
        return push_all(out, init);
    }
    st = em_rdd_take_sample(points, false,
                            o->init_mode == EM_KMEANS_RANDOM ? (int64_t)k : 1,
                            o->seed, tmp, &s);
    if (st != EM_OK)
        return st;
    if (s.len == 0)
        return em__err(EM_EEMPTY, "k-means: no points");
    for (uint32_t i = 0; i < s.len; i++)
        if (point_dim(s.u.arr[i]) < 1 ||
            point_dim(s.u.arr[i]) != point_dim(s.u.arr[0]))
            return em__err(EM_EINVAL, "k-means: points must be vectors of "
                           "one dimension >= 1, not %s",
                           em_type_name((em_type)s.u.arr[i].type));
    if (point_dim(s.u.arr[0]) > ((int64_t)1 << 28))
        return em__err(EM_EINVAL, "k-means: dimension above 2^28");
    out->d = (size_t)point_dim(s.u.arr[0]);
    if (o->init_mode == EM_KMEANS_RANDOM) {
        return push_all(out, s);
    }
    return init_parallel(points, k, s.u.arr[0], o, tmp, out);
}

/* ---- the model ---- */

/* The value of key name in map m, or nil. */
static em_val map_get(em_val m, const char *name)
{
    size_t n = strlen(name);

    for (uint32_t i = 0; i < m.len; i++) {
        em_val key = m.u.map[2 * i];
        if (key.type == EM_STR && key.len == n &&
            memcmp(key.u.s, name, n) == 0)
            return m.u.map[2 * i + 1];
    }
    return em_nil();
}

/* True when v is an array of at least one vec, all of one length >= 1. */
static bool is_center_array(em_val v)
{
    if (v.type != EM_ARRAY || v.len == 0)
        return false;
    for (uint32_t i = 0; i < v.len; i++)
        if (v.u.arr[i].type != EM_VEC || v.u.arr[i].len == 0 ||
            v.u.arr[i].len != v.u.arr[0].len)
            return false;
    return true;
}

/* The model of cs, with the given cost and iterations, in a. */
static em_status model_of(const centers *cs, double cost, int iters,
                          em_arena *a, em_val *out)
{
    em_val kv[6], *rows = em_array_make(a, cs->k, &kv[1]);

    if (rows == NULL)
        return EM_ENOMEM;
    for (size_t j = 0; j < cs->k; j++) {
        double *x = em_vec_make(a, cs->d, &rows[j]);
        if (x == NULL)
            return EM_ENOMEM;
        memcpy(x, cs->c + j * cs->d, cs->d * sizeof(double));
    }
    kv[0] = em_cstr("clusterCenters");
    kv[2] = em_cstr("trainingCost");
    kv[3] = em_float(cost);
    kv[4] = em_cstr("numIter");
    kv[5] = em_int(iters);
    return em_map_make(a, kv, 3, out);
}

em_status em_kmeans_model_make(em_val ctrs, em_arena *a, em_val *model_out)
{
    centers cs = {NULL, 0, 0, 0};
    em_status st;

    if (!is_center_array(ctrs))
        return em__err(EM_EINVAL, "k-means: centres must be an array of "
                       "dense vectors of one dimension");
    cs.d = ctrs.u.arr[0].len;
    st = push_all(&cs, ctrs);
    if (st == EM_OK)
        st = model_of(&cs, NAN, 0, a, model_out);
    centers_fini(&cs);
    return st;
}

em_status em_kmeans_model_centers(em_val model, em_val *centers_out)
{
    em_val c;

    if (model.type != EM_MAP ||
        !is_center_array(c = map_get(model, "clusterCenters")))
        return em__err(EM_EFORMAT, "k-means: not a model (a map with "
                       "clusterCenters, an array of vectors)");
    *centers_out = c;
    return EM_OK;
}

em_status em_kmeans_predict(em_val model, em_val point, int64_t *cluster_out)
{
    em_val c;
    size_t best = 0;
    double bd = INFINITY;
    em_status st = em_kmeans_model_centers(model, &c);

    if (st != EM_OK)
        return st;
    if (point_dim(point) != (int64_t)c.u.arr[0].len)
        return em__err(EM_EINVAL, "k-means: a point must be a vector of "
                       "dimension %u", c.u.arr[0].len);
    for (uint32_t j = 0; j < c.len; j++) {
        const double *row = c.u.arr[j].u.vec;
        double norm = 0, s;
        if (point.type == EM_SPVEC)
            row_norms(row, 1, c.u.arr[j].len, &norm);
        s = sq_dist(point, row, c.u.arr[j].len, norm);
        if (s < bd) {
            bd = s;
            best = j;
        }
    }
    *cluster_out = (int64_t)best;
    return EM_OK;
}

em_status em_kmeans_predict_op(em_task *t, const em_val *env,
                               const em_val *args, size_t nargs, em_val *out)
{
    em_val model = *env;
    int64_t j;
    em_status st;
    char msg[256];

    if (model.type == EM_HANDLE &&
        (st = em_task_broadcast(t, *env, &model)) != EM_OK)
        return st;
    if (em_kmeans_predict(model, args[0], &j) != EM_OK) {
        em__err_save(msg, sizeof(msg));
        return em_task_fail(t, "%s", msg);
    }
    *out = em_int(j);
    return EM_OK;
}

em_status em_kmeans_compute_cost(em_val model, em_rdd *points,
                                 double *cost_out)
{
    em_val c, sums;
    centers cs = {NULL, 0, 0, 0};
    em_arena *tmp;
    em_status st = em_kmeans_model_centers(model, &c);

    if (st != EM_OK)
        return st;
    if (points == NULL)
        return em__err(EM_EINVAL, "k-means: no input RDD");
    if ((tmp = em_arena_create()) == NULL)
        return EM_ENOMEM;
    cs.d = c.u.arr[0].len;
    st = push_all(&cs, c);
    if (st == EM_OK)
        st = estep(points, &cs, 2, tmp, &sums);
    if (st == EM_OK)
        *cost_out = sums.u.vec[sums.len - 1];
    centers_fini(&cs);
    em_arena_destroy(tmp);
    return st;
}

/* ---- training ---- */

/* The options with defaults filled in; EM_EINVAL for bad ones. */
static em_status check_opts(const em_kmeans_opts *in, int k,
                            em_kmeans_opts *o)
{
    em_val c;

    *o = in != NULL ? *in : (em_kmeans_opts){0};
    if (k < 1)
        return em__err(EM_EINVAL, "k-means: k must be >= 1, not %d", k);
    if (o->max_iterations == 0)
        o->max_iterations = 100;
    if (o->init_steps == 0)
        o->init_steps = 2;
    if (o->tree_depth == 0)
        o->tree_depth = 2;
    if (o->epsilon == 0)
        o->epsilon = 1e-4;
    if (o->max_iterations < 0 || o->init_steps < 0 || o->tree_depth < 1 ||
        isnan(o->epsilon))
        return em__err(EM_EINVAL, "k-means: maxIterations, "
                       "initializationSteps and the tree depth must be "
                       "positive, epsilon a number");
    if (o->init_mode != EM_KMEANS_PARALLEL &&
        o->init_mode != EM_KMEANS_RANDOM)
        return em__err(EM_EINVAL, "k-means: unknown initialization mode %d",
                       (int)o->init_mode);
    c = o->initial_centers;
    if (c.type != EM_NIL && (!is_center_array(c) || c.len != (uint32_t)k))
        return em__err(EM_EINVAL, "k-means: the initial centres must be an "
                       "array of k = %d dense vectors of one dimension", k);
    return EM_OK;
}

/* Lloyd's iterations from cs; the cost of the last E-step and the number
 * of iterations into the out-params. */
static em_status lloyd(em_rdd *points, centers *cs, const em_kmeans_opts *o,
                       double *cost_out, int *iters_out)
{
    double eps2 = o->epsilon > 0 ? o->epsilon * o->epsilon : 0;
    em_status st = EM_OK;
    int it = 0;

    *cost_out = NAN;
    while (it < o->max_iterations) {
        em_arena *tmp = em_arena_create();
        em_val sums;
        double moved, n = 0;
        if (tmp == NULL)
            return EM_ENOMEM;
        st = estep(points, cs, o->tree_depth, tmp, &sums);
        if (st == EM_OK) {
            for (size_t j = 0; j < cs->k; j++)
                n += sums.u.vec[j];
            if (n == 0)
                st = em__err(EM_EEMPTY, "k-means: no points");
        }
        if (st == EM_OK) {
            *cost_out = sums.u.vec[sums.len - 1];
            mstep(cs, sums.u.vec, &moved);
        }
        em_arena_destroy(tmp);
        if (st != EM_OK)
            return st;
        it++;
        if (moved <= eps2)
            break;
    }
    *iters_out = it;
    return EM_OK;
}

em_status em_kmeans_train(em_rdd *points, int k, const em_kmeans_opts *opts,
                          em_arena *a, em_val *model_out)
{
    em_kmeans_opts o;
    centers cs = {NULL, 0, 0, 0};
    bool cached = false;
    em_arena *tmp;
    double cost;
    int iters = 0;
    em_status st;

    if (points == NULL)
        return em__err(EM_EINVAL, "k-means: no input RDD");
    if ((st = check_opts(opts, k, &o)) != EM_OK)
        return st;
    if (em_rdd_storage(points) == EM_STORAGE_NONE) {
        if ((st = em_rdd_cache(points)) != EM_OK)
            return st;
        cached = true;
    }
    if ((tmp = em_arena_create()) == NULL) {
        st = EM_ENOMEM;
        goto out_uncache;
    }
    st = init_centers(points, (size_t)k, &o, tmp, &cs);
    em_arena_destroy(tmp);
    if (st == EM_OK)
        st = lloyd(points, &cs, &o, &cost, &iters);
    if (st == EM_OK)
        st = model_of(&cs, cost, iters, a, model_out);
    centers_fini(&cs);
out_uncache:
    if (cached)
        em_rdd_unpersist(points);
    return st;
}
