/* Alternating least squares as pyspark.mllib's ALS.train, with Spark's
 * weighted-lambda regularization, and the matrix factorization model that
 * ALS and DSGD (dsgd.c) share: a map of sorted [id, vec] arrays with
 * predict and RMSE. The contracts are in include/ember/ml_mf.h; docs/ml.md,
 * "Matrix factorization", is the tour.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ember/ml_mf.h"
#include "runtime/err.h"
#include "runtime/mem.h"

#define MAX_RANK 1024
#define TWO_PI 6.283185307179586476925286766559

/* ---- shared pieces ---- */

/* splitmix64 */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

void em_mf_initial_factor(uint64_t seed, em_val id, int rank, double *out)
{
    uint64_t s = seed ^ (em_val_hash(id) * 0xd1342543de82ef95u);
    double norm = 0;

    for (int i = 0; i < rank; i += 2) {
        /* Box-Muller: two normals from two uniforms in (0, 1] */
        double u1 = ((double)(rng_next(&s) >> 11) + 1) * 0x1.0p-53;
        double u2 = (double)(rng_next(&s) >> 11) * 0x1.0p-53;
        double r = sqrt(-2 * log(u1));
        out[i] = r * cos(TWO_PI * u2);
        if (i + 1 < rank)
            out[i + 1] = r * sin(TWO_PI * u2);
    }
    for (int i = 0; i < rank; i++)
        norm += out[i] * out[i];
    norm = norm > 0 ? sqrt(norm) : 1;
    for (int i = 0; i < rank; i++)
        out[i] /= norm;
}

/* A rating record as [user, item, float] (in the task's arena), or a
 * failed task naming the record. */
static em_status parse_rating(em_task *t, const em_val *env,
                              const em_val *args, size_t nargs, em_val *out)
{
    em_val rec = args[0], *items;
    double r;
    char buf[160];

    if (rec.type != EM_ARRAY || rec.len != 3 ||
        !em_val_as_float(rec.u.arr[2], &r) || !isfinite(r)) {
        em_val_format(rec, buf, sizeof(buf));
        return em_task_fail(t, "%.*s: a rating must be [user, item, "
                            "number], not %s", (int)env->len, env->u.s, buf);
    }
    if ((items = em_array_make(em_task_arena(t), 3, out)) == NULL)
        return EM_ENOMEM;
    items[0] = rec.u.arr[0];
    items[1] = rec.u.arr[1];
    items[2] = em_float(r);
    return EM_OK;
}

/* The ratings checked and normalized; env names the algorithm. */
static em_rdd *parsed_ratings(em_rdd *ratings, const char *who)
{
    return em_rdd_map(ratings, em_fn_of(parse_rating, em_cstr(who)));
}

static int pair_cmp(const void *x, const void *y)
{
    return em_val_cmp(((const em_val *)x)->u.arr[0],
                      ((const em_val *)y)->u.arr[0]);
}

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

/* True when v is an array of [id, vec of rank] pairs. */
static bool is_factor_array(em_val v, int rank)
{
    if (v.type != EM_ARRAY)
        return false;
    for (uint32_t i = 0; i < v.len; i++) {
        em_val p = v.u.arr[i];
        if (!em_val_is_pair(p) || p.u.arr[1].type != EM_VEC ||
            p.u.arr[1].len != (uint32_t)rank)
            return false;
    }
    return true;
}

/* The factor of id in a sorted factor array, or NULL. */
static const double *find_factor(em_val fs, em_val id)
{
    size_t lo = 0, hi = fs.len;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = em_val_cmp(fs.u.arr[mid].u.arr[0], id);
        if (c == 0)
            return fs.u.arr[mid].u.arr[1].u.vec;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* ---- the model ---- */

/* A deep copy of a factor array into a, sorted by id; EM_EINVAL when an
 * id repeats. */
static em_status sorted_copy(em_val fs, em_arena *a, em_val *out)
{
    em_val c;
    em_status st = em_val_copy(a, fs, &c);

    if (st != EM_OK)
        return st;
    qsort((em_val *)c.u.arr, c.len, sizeof(em_val), pair_cmp);
    for (uint32_t i = 1; i < c.len; i++)
        if (pair_cmp(&c.u.arr[i - 1], &c.u.arr[i]) == 0)
            return em__err(EM_EINVAL, "matrix factorization: a repeated id "
                           "in the factors");
    *out = c;
    return EM_OK;
}

em_status em_mf_model_make(int rank, em_val user_features,
                           em_val product_features, em_arena *a,
                           em_val *model_out)
{
    em_val kv[6];
    em_status st;

    if (rank < 1 || !is_factor_array(user_features, rank) ||
        !is_factor_array(product_features, rank))
        return em__err(EM_EINVAL, "matrix factorization: the factors must "
                       "be arrays of [id, vec of rank %d] pairs", rank);
    if ((st = sorted_copy(user_features, a, &kv[3])) != EM_OK ||
        (st = sorted_copy(product_features, a, &kv[5])) != EM_OK)
        return st;
    kv[0] = em_cstr("rank");
    kv[1] = em_int(rank);
    kv[2] = em_cstr("userFeatures");
    kv[4] = em_cstr("productFeatures");
    return em_map_make(a, kv, 3, model_out);
}

em_status em_mf_model_parts(em_val model, int *rank_out,
                            em_val *user_features_out,
                            em_val *product_features_out)
{
    em_val r, u, p;

    if (model.type != EM_MAP || (r = map_get(model, "rank")).type != EM_INT ||
        r.u.i < 1 || r.u.i > MAX_RANK ||
        !is_factor_array(u = map_get(model, "userFeatures"), (int)r.u.i) ||
        !is_factor_array(p = map_get(model, "productFeatures"), (int)r.u.i))
        return em__err(EM_EFORMAT, "matrix factorization: not a model (a "
                       "map with rank, userFeatures and productFeatures)");
    if (rank_out != NULL)
        *rank_out = (int)r.u.i;
    if (user_features_out != NULL)
        *user_features_out = u;
    if (product_features_out != NULL)
        *product_features_out = p;
    return EM_OK;
}

/* The prediction of a model already checked: rank r, factor arrays u, p.
 * EM_ENOENT (with a message) for an unknown id. */
static em_status predict_parts(int r, em_val u, em_val p, em_val user,
                               em_val item, double *out)
{
    const double *x = find_factor(u, user), *y = find_factor(p, item);
    double s = 0;
    char buf[64];

    if (x == NULL || y == NULL) {
        em_val_format(x == NULL ? user : item, buf, sizeof(buf));
        return em__err(EM_ENOENT, "matrix factorization: no factor for %s "
                       "%s", x == NULL ? "user" : "item", buf);
    }
    for (int k = 0; k < r; k++)
        s += x[k] * y[k];
    *out = s;
    return EM_OK;
}

em_status em_mf_predict(em_val model, em_val user, em_val item, double *out)
{
    em_val u, p;
    int r;
    em_status st = em_mf_model_parts(model, &r, &u, &p);

    return st != EM_OK ? st : predict_parts(r, u, p, user, item, out);
}

/* The model of env: itself or the broadcast value it references. */
static em_status env_model(em_task *t, const em_val *env, em_val *out)
{
    if (env->type == EM_HANDLE)
        return em_task_broadcast(t, *env, out);
    *out = *env;
    return EM_OK;
}

em_status em_mf_predict_op(em_task *t, const em_val *env, const em_val *args,
                           size_t nargs, em_val *out)
{
    em_val model, rec = args[0], *items;
    double y;
    char msg[256];
    em_status st = env_model(t, env, &model);

    if (st != EM_OK)
        return st;
    if (rec.type != EM_ARRAY || rec.len < 2)
        return em_task_fail(t, "matrix factorization: predict takes [user, "
                            "item], not %s", em_type_name((em_type)rec.type));
    if (em_mf_predict(model, rec.u.arr[0], rec.u.arr[1], &y) != EM_OK) {
        em__err_save(msg, sizeof(msg));
        return em_task_fail(t, "%s", msg);
    }
    if ((items = em_array_make(em_task_arena(t), 3, out)) == NULL)
        return EM_ENOMEM;
    items[0] = rec.u.arr[0];
    items[1] = rec.u.arr[1];
    items[2] = em_float(y);
    return EM_OK;
}

/* One partition's squared errors: env the model or its broadcast; the
 * result is one vec [sum of squares, scored, skipped]. */
static em_status rmse_partition(em_task *t, const em_val *env,
                                const em_val *args, size_t nargs,
                                em_val *out)
{
    em_val model, u, p, recs = args[0], v, *items;
    double *acc;
    int r;
    em_status st = env_model(t, env, &model);

    if (st != EM_OK)
        return st;
    if (em_mf_model_parts(model, &r, &u, &p) != EM_OK)
        return em_task_fail(t, "matrix factorization: not a model");
    if ((acc = em_vec_make(em_task_arena(t), 3, &v)) == NULL ||
        (items = em_array_make(em_task_arena(t), 1, out)) == NULL)
        return EM_ENOMEM;
    for (uint32_t i = 0; i < recs.len; i++) {
        em_val rec = recs.u.arr[i];
        double y, rating;
        if (rec.type != EM_ARRAY || rec.len != 3 ||
            !em_val_as_float(rec.u.arr[2], &rating))
            return em_task_fail(t, "matrix factorization: a rating must be "
                                "[user, item, number]");
        if (predict_parts(r, u, p, rec.u.arr[0], rec.u.arr[1], &y) != EM_OK) {
            acc[2] += 1;
            continue;
        }
        acc[0] += (rating - y) * (rating - y);
        acc[1] += 1;
    }
    items[0] = v;
    return EM_OK;
}

static em_status vec_add(em_task *t, const em_val *env, const em_val *args,
                         size_t nargs, em_val *out)
{
    double *s = em_vec_make(em_task_arena(t), args[0].len, out);

    if (s == NULL)
        return EM_ENOMEM;
    for (uint32_t i = 0; i < args[0].len; i++)
        s[i] = args[0].u.vec[i] + args[1].u.vec[i];
    return EM_OK;
}

em_status em_mf_rmse(em_val model, em_rdd *ratings, double *out,
                     int64_t *skipped_out)
{
    em_broadcast *b;
    em_arena *tmp;
    em_val sums;
    em_status st = em_mf_model_parts(model, NULL, NULL, NULL);

    if (st != EM_OK)
        return st;
    if (ratings == NULL)
        return em__err(EM_EINVAL, "matrix factorization: no input RDD");
    if ((b = em_ctx_broadcast(em_rdd_ctx(ratings), model)) == NULL)
        return EM_ENOMEM;
    if ((tmp = em_arena_create()) == NULL) {
        em_broadcast_destroy(b);
        return EM_ENOMEM;
    }
    st = em_rdd_tree_reduce(
        em_rdd_map_partitions(ratings, em_fn_of(rmse_partition,
                                                em_broadcast_ref(b))),
        EM_FN(vec_add), 2, tmp, &sums);
    if (st == EM_EEMPTY) {
        *out = NAN;
        if (skipped_out != NULL)
            *skipped_out = 0;
        st = EM_OK;
    } else if (st == EM_OK) {
        *out = sums.u.vec[1] > 0 ? sqrt(sums.u.vec[0] / sums.u.vec[1]) : NAN;
        if (skipped_out != NULL)
            *skipped_out = (int64_t)sums.u.vec[2];
    }
    em_arena_destroy(tmp);
    em_broadcast_destroy(b);
    return st;
}

/* ---- alternating least squares ---- */

/* Solves (A + reg I) x = b in place for the r x r symmetric A (row-major,
 * overwritten by its Cholesky factor) and b (overwritten by x). False
 * when the matrix is not positive definite. */
static bool cholesky_solve(double *A, double *b, int r, double reg)
{
    for (int i = 0; i < r; i++)
        A[i * r + i] += reg;
    for (int j = 0; j < r; j++) {
        double d = A[j * r + j];
        for (int k = 0; k < j; k++)
            d -= A[j * r + k] * A[j * r + k];
        if (!(d > 0))
            return false;
        d = sqrt(d);
        A[j * r + j] = d;
        for (int i = j + 1; i < r; i++) {
            double s = A[i * r + j];
            for (int k = 0; k < j; k++)
                s -= A[i * r + k] * A[j * r + k];
            A[i * r + j] = s / d;
        }
    }
    for (int i = 0; i < r; i++) { /* L z = b */
        for (int k = 0; k < i; k++)
            b[i] -= A[i * r + k] * b[k];
        b[i] /= A[i * r + i];
    }
    for (int i = r - 1; i >= 0; i--) { /* L^T x = z */
        for (int k = i + 1; k < r; k++)
            b[i] -= A[k * r + i] * b[k];
        b[i] /= A[i * r + i];
    }
    return true;
}

/* [user, item, r] -> (user, [item, r]) when env is 0, else (item, [user,
 * r]). */
static em_status key_rating(em_task *t, const em_val *env, const em_val *args,
                            size_t nargs, em_val *out)
{
    const em_val *rec = args[0].u.arr;
    int side = (int)env->u.i;
    em_val *v = em_array_make(em_task_arena(t), 2, out), inner;
    em_val *w = em_array_make(em_task_arena(t), 2, &inner);

    if (v == NULL || w == NULL)
        return EM_ENOMEM;
    w[0] = rec[1 - side];
    w[1] = rec[2];
    v[0] = rec[side];
    v[1] = inner;
    return EM_OK;
}

/* (id, ([other, r], factor of id)) -> (other, [id, factor, r]). */
static em_status to_other_side(em_task *t, const em_val *env,
                               const em_val *args, size_t nargs, em_val *out)
{
    em_val id = args[0].u.arr[0], jv = args[0].u.arr[1], msg;
    em_val rating = jv.u.arr[0], *v = em_array_make(em_task_arena(t), 2, out);
    em_val *m = em_array_make(em_task_arena(t), 3, &msg);

    if (v == NULL || m == NULL)
        return EM_ENOMEM;
    m[0] = id;
    m[1] = jv.u.arr[1];
    m[2] = rating.u.arr[1];
    v[0] = rating.u.arr[0];
    v[1] = msg;
    return EM_OK;
}

static int msg_cmp(const void *x, const void *y)
{
    return em_val_cmp(((const em_val *)x)->u.arr[0],
                      ((const em_val *)y)->u.arr[0]);
}

/* A group [[other, factor, r]...] -> the solved factor. env: [rank,
 * lambda]. The group is sorted by the other id first, so the sums do not
 * depend on the order the shuffle delivered them in. */
static em_status solve_group(em_task *t, const em_val *env,
                             const em_val *args, size_t nargs, em_val *out)
{
    em_arena *a = em_task_arena(t);
    int r = (int)env->u.arr[0].u.i;
    double lambda = env->u.arr[1].u.f, *A, *x;
    em_val g = args[0], sorted;

    em_val *items = em_array_make(a, g.len, &sorted);

    if (items == NULL ||
        (A = em_arena_alloc(a, (size_t)r * r * sizeof(double))) == NULL ||
        (x = em_vec_make(a, (size_t)r, out)) == NULL)
        return EM_ENOMEM;
    memcpy(items, g.u.arr, g.len * sizeof(em_val));
    qsort((em_val *)sorted.u.arr, sorted.len, sizeof(em_val), msg_cmp);
    memset(A, 0, (size_t)r * r * sizeof(double));
    for (uint32_t n = 0; n < sorted.len; n++) {
        const double *f = sorted.u.arr[n].u.arr[1].u.vec;
        double rating = sorted.u.arr[n].u.arr[2].u.f;
        for (int i = 0; i < r; i++) {
            x[i] += rating * f[i];
            for (int j = 0; j <= i; j++)
                A[i * r + j] += f[i] * f[j];
        }
    }
    for (int i = 0; i < r; i++)
        for (int j = i + 1; j < r; j++)
            A[i * r + j] = A[j * r + i];
    if (!cholesky_solve(A, x, r, lambda * (double)sorted.len))
        return em_task_fail(t, "ALS: the normal equations of a factor are "
                            "singular (lambda %g)", lambda);
    return EM_OK;
}

/* (id, id) -> (id, initial factor); env: [rank, seed]. */
static em_status init_factor(em_task *t, const em_val *env,
                             const em_val *args, size_t nargs, em_val *out)
{
    int r = (int)env->u.arr[0].u.i;
    double *x = em_vec_make(em_task_arena(t), (size_t)r, out);

    if (x == NULL)
        return EM_ENOMEM;
    em_mf_initial_factor((uint64_t)env->u.arr[1].u.i, args[0], r, x);
    return EM_OK;
}

/* (id, [other, r]) -> (id, id), for the distinct ids of one side. */
static em_status id_twice(em_task *t, const em_val *env, const em_val *args,
                          size_t nargs, em_val *out)
{
    return em_pair_make(em_task_arena(t), args[0].u.arr[0], args[0].u.arr[0],
                        out);
}

static em_status first_of_two(em_task *t, const em_val *env,
                              const em_val *args, size_t nargs, em_val *out)
{
    *out = args[0];
    return EM_OK;
}

/* Caches rdd and computes it (one job). */
static em_status materialize(em_rdd *rdd)
{
    int64_t n;
    em_status st = em_rdd_cache(rdd);

    return st != EM_OK ? st : em_rdd_count(rdd, &n);
}

/* The ALS run's RDDs. */
typedef struct als_run {
    em_rdd *by[2];  /* ratings keyed by user (0) and by item (1), cached */
    em_rdd *fac[2]; /* the current factors of users and items, cached */
    em_val env;     /* [rank, lambda] for solve_group */
    int blocks;
} als_run;

/* Solves the factors of `side` from the other side's. */
static em_status half_step(als_run *run, int side)
{
    int other = 1 - side;
    em_rdd *f = em_rdd_map_values(
        em_rdd_group_by_key(
            em_rdd_map(em_rdd_join(run->by[other], run->fac[other],
                                   run->blocks),
                       EM_FN(to_other_side)),
            run->blocks),
        em_fn_of(solve_group, run->env));
    em_status st;

    if (f == NULL)
        return EM_ENOMEM;
    if ((st = materialize(f)) != EM_OK)
        return st;
    if (run->fac[side] != NULL)
        em_rdd_unpersist(run->fac[side]);
    run->fac[side] = f;
    return EM_OK;
}

/* The options with defaults filled in; EM_EINVAL for bad ones. */
static em_status check_als_opts(const em_als_opts *in, int rank, em_rdd *r,
                                em_als_opts *o)
{
    *o = in != NULL ? *in : (em_als_opts){0};
    if (r == NULL)
        return em__err(EM_EINVAL, "ALS: no input RDD");
    if (rank < 1 || rank > MAX_RANK)
        return em__err(EM_EINVAL, "ALS: rank must be in [1, %d], not %d",
                       MAX_RANK, rank);
    if (o->iterations == 0)
        o->iterations = 5;
    if (o->lambda == 0)
        o->lambda = 0.01;
    if (o->blocks <= 0)
        o->blocks = em_ctx_default_parallelism(em_rdd_ctx(r));
    if (o->iterations < 0 || !(o->lambda > 0) || !isfinite(o->lambda))
        return em__err(EM_EINVAL, "ALS: iterations must be positive and "
                       "lambda a positive number");
    return EM_OK;
}

/* The factors of rdd collected and sorted into a, as a factor array. */
static em_status collect_factors(em_rdd *rdd, em_arena *a, em_val *out)
{
    em_status st = em_rdd_collect(rdd, a, out);

    if (st == EM_OK)
        qsort((em_val *)out->u.arr, out->len, sizeof(em_val), pair_cmp);
    return st;
}

static em_status als_model(als_run *run, int rank, em_arena *a, em_val *out)
{
    em_val kv[6];
    em_status st;

    if ((st = collect_factors(run->fac[0], a, &kv[3])) != EM_OK ||
        (st = collect_factors(run->fac[1], a, &kv[5])) != EM_OK)
        return st;
    kv[0] = em_cstr("rank");
    kv[1] = em_int(rank);
    kv[2] = em_cstr("userFeatures");
    kv[4] = em_cstr("productFeatures");
    return em_map_make(a, kv, 3, out);
}

em_status em_als_train(em_rdd *ratings, int rank, const em_als_opts *opts,
                       em_arena *a, em_val *model_out)
{
    als_run run = {{NULL, NULL}, {NULL, NULL}, {0}, 0};
    em_als_opts o;
    em_val env[2], ienv[2];
    em_rdd *parsed;
    int64_t n = 0;
    em_status st = check_als_opts(opts, rank, ratings, &o);

    if (st != EM_OK)
        return st;
    env[0] = ienv[0] = em_int(rank);
    env[1] = em_float(o.lambda);
    ienv[1] = em_int((int64_t)o.seed);
    run.env = em_array(env, 2);
    run.blocks = o.blocks;
    parsed = parsed_ratings(ratings, "ALS");
    for (int side = 0; side < 2 && st == EM_OK; side++) {
        run.by[side] = em_rdd_partition_by(
            em_rdd_map(parsed, em_fn_of(key_rating, em_int(side))),
            o.blocks, EM_FN_NONE);
        st = run.by[side] == NULL ? EM_ENOMEM
                                  : materialize(run.by[side]);
    }
    if (st == EM_OK && (st = em_rdd_count(run.by[0], &n)) == EM_OK && n == 0)
        st = em__err(EM_EEMPTY, "ALS: no ratings");
    if (st == EM_OK) {
        run.fac[0] = em_rdd_map_values(
            em_rdd_reduce_by_key(em_rdd_map(run.by[0], EM_FN(id_twice)),
                                 EM_FN(first_of_two), o.blocks),
            em_fn_of(init_factor, em_array(ienv, 2)));
        st = run.fac[0] == NULL ? EM_ENOMEM : materialize(run.fac[0]);
    }
    for (int it = 0; st == EM_OK && it < o.iterations; it++) {
        st = half_step(&run, 1);
        if (st == EM_OK)
            st = half_step(&run, 0);
    }
    if (st == EM_OK)
        st = als_model(&run, rank, a, model_out);
    for (int side = 0; side < 2; side++) {
        if (run.fac[side] != NULL)
            em_rdd_unpersist(run.fac[side]);
        if (run.by[side] != NULL)
            em_rdd_unpersist(run.by[side]);
    }
    return st;
}
