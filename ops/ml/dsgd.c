/* Distributed SGD for matrix factorization by strata (Gemulla, Nijkamp,
 * Haas and Sismanis, "Large-scale matrix factorization with distributed
 * stochastic gradient descent", KDD 2011): the ratings cut into a d x d
 * grid, each sub-epoch running SGD on d blocks that share no row or column
 * in parallel. The model is the one of als.c; the contracts are in
 * include/ember/ml_mf.h, the tour in docs/ml.md, "Matrix factorization".
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ember/ml_mf.h"
#include "runtime/err.h"
#include "runtime/mem.h"

#define MAX_RANK 1024

/* A rating record as [user, item, float], or a failed task naming it. */
static em_status parse_rating(em_task *t, const em_val *env,
                              const em_val *args, size_t nargs, em_val *out)
{
    em_val rec = args[0], *items;
    double r;
    char buf[160];

    if (rec.type != EM_ARRAY || rec.len != 3 ||
        !em_val_as_float(rec.u.arr[2], &r) || !isfinite(r)) {
        em_val_format(rec, buf, sizeof(buf));
        return em_task_fail(t, "DSGD: a rating must be [user, item, "
                            "number], not %s", buf);
    }
    if ((items = em_array_make(em_task_arena(t), 3, out)) == NULL)
        return EM_ENOMEM;
    items[0] = rec.u.arr[0];
    items[1] = rec.u.arr[1];
    items[2] = em_float(r);
    return EM_OK;
}

/* [user, item, r] -> user (env 0) or item (env 1). */
static em_status field(em_task *t, const em_val *env, const em_val *args,
                       size_t nargs, em_val *out)
{
    *out = args[0].u.arr[env->u.i];
    return EM_OK;
}

/* The index of id in a map value of id -> int (binary search), or -1. */
static int64_t map_index(em_val m, em_val id)
{
    size_t lo = 0, hi = m.len;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = em_val_cmp(m.u.map[2 * mid], id);
        if (c == 0)
            return m.u.map[2 * mid + 1].u.i;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* A rating -> (row block, [column block, user index, item index, r]).
 * env: [broadcast of [user map, item map], d]. */
static em_status to_block(em_task *t, const em_val *env, const em_val *args,
                          size_t nargs, em_val *out)
{
    const em_val *rec = args[0].u.arr;
    em_val maps, inner, *v, *w;
    uint64_t d = (uint64_t)env->u.arr[1].u.i;
    em_status st = em_task_broadcast(t, env->u.arr[0], &maps);

    if (st != EM_OK)
        return st;
    v = em_array_make(em_task_arena(t), 2, out);
    w = em_array_make(em_task_arena(t), 4, &inner);
    if (v == NULL || w == NULL)
        return EM_ENOMEM;
    v[0] = em_int((int64_t)(em_val_hash(rec[0]) % d));
    v[1] = inner;
    w[0] = em_int((int64_t)(em_val_hash(rec[1]) % d));
    w[1] = em_int(map_index(maps.u.arr[0], rec[0]));
    w[2] = em_int(map_index(maps.u.arr[1], rec[1]));
    w[3] = rec[2];
    return EM_OK;
}

/* The partition function: the row block itself. */
static em_status block_of(em_task *t, const em_val *env, const em_val *args,
                          size_t nargs, em_val *out)
{
    *out = args[0];
    return EM_OK;
}

/* A rating of a block, with its place in the SGD order. */
typedef struct packed {
    uint64_t order; /* a hash of (seed, user, item) */
    int64_t col;    /* the column block */
    double u, i, r; /* user index, item index, rating */
} packed;

static int packed_cmp(const void *x, const void *y)
{
    const packed *a = x, *b = y;

    if (a->col != b->col)
        return a->col < b->col ? -1 : 1;
    if (a->order != b->order)
        return a->order < b->order ? -1 : 1;
    if (a->u != b->u)
        return a->u < b->u ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* A row block's ratings -> one record: an array of d vecs, vec c holding
 * block (row, c) as (user, item, rating) triples in SGD order. env: [d,
 * seed]; args: index, records. */
static em_status pack_row(em_task *t, const em_val *env, const em_val *args,
                          size_t nargs, em_val *out)
{
    em_arena *a = em_task_arena(t);
    size_t d = (size_t)env->u.arr[0].u.i, n = args[1].len, at = 0;
    uint64_t seed = (uint64_t)env->u.arr[1].u.i;
    packed *p = n > 0 ? em_arena_alloc(a, n * sizeof(packed)) : NULL;
    em_val *items = em_array_make(a, 1, out), *blocks;

    if ((n > 0 && p == NULL) || items == NULL ||
        (blocks = em_array_make(a, d, &items[0])) == NULL)
        return EM_ENOMEM;
    for (size_t k = 0; k < n; k++) {
        const em_val *w = args[1].u.arr[k].u.arr[1].u.arr;
        p[k].col = w[0].u.i;
        p[k].u = (double)w[1].u.i;
        p[k].i = (double)w[2].u.i;
        p[k].r = w[3].u.f;
        p[k].order = mix(seed ^ mix((uint64_t)w[1].u.i * 0x9e3779b97f4a7c15u +
                                    (uint64_t)w[2].u.i));
    }
    if (n > 0)
        qsort(p, n, sizeof(packed), packed_cmp);
    for (size_t c = 0; c < d; c++) {
        size_t k = at;
        double *x;
        while (k < n && p[k].col == (int64_t)c)
            k++;
        if ((x = em_vec_make(a, 3 * (k - at), &blocks[c])) == NULL)
            return EM_ENOMEM;
        for (size_t j = at; j < k; j++) {
            x[3 * (j - at)] = p[j].u;
            x[3 * (j - at) + 1] = p[j].i;
            x[3 * (j - at) + 2] = p[j].r;
        }
        at = k;
    }
    return EM_OK;
}

/* The rows of one side a block touches: local copies of the factors. */
typedef struct touched {
    int32_t *slot;  /* index -> local row, or -1 */
    double *idx;    /* local row -> index */
    double *rows;   /* local rows of rank doubles */
    size_t n;       /* local rows */
} touched;

/* Finds the rows of column `col` (0 users, 1 items) of the triples and
 * copies them from f (factors of `total` rows) into *tc, in a. */
static em_status touch(em_arena *a, const em_val *tri, int col,
                       const double *f, size_t total, int r, touched *tc,
                       em_val *idx_out, em_val *rows_out)
{
    size_t k = tri->len / 3;

    tc->slot = em_arena_alloc(a, (total + 1) * sizeof(int32_t));
    if (tc->slot == NULL)
        return EM_ENOMEM;
    memset(tc->slot, 0xff, (total + 1) * sizeof(int32_t));
    tc->n = 0;
    for (size_t j = 0; j < k; j++) {
        size_t x = (size_t)tri->u.vec[3 * j + col];
        if (tc->slot[x] < 0)
            tc->slot[x] = (int32_t)tc->n++;
    }
    tc->idx = em_vec_make(a, tc->n, idx_out);
    tc->rows = em_vec_make(a, tc->n * (size_t)r, rows_out);
    if ((tc->n > 0 && (tc->idx == NULL || tc->rows == NULL)))
        return EM_ENOMEM;
    for (size_t x = 0; x < total; x++)
        if (tc->slot[x] >= 0) {
            tc->idx[tc->slot[x]] = (double)x;
            memcpy(tc->rows + (size_t)tc->slot[x] * r, f + x * r,
                   (size_t)r * sizeof(double));
        }
    return EM_OK;
}

/* SGD over block (b, (b + s) mod d) of row b. env: [broadcast of [U, V],
 * s, d, rank, eta, lambda]; args: index, the row's one record. The result
 * is one record, [user indices, their rows, item indices, their rows]. */
static em_status sgd_block(em_task *t, const em_val *env, const em_val *args,
                           size_t nargs, em_val *out)
{
    em_arena *a = em_task_arena(t);
    const em_val *e = env->u.arr;
    int r = (int)e[3].u.i;
    double eta = e[4].u.f, lambda = e[5].u.f;
    size_t b = (size_t)args[0].u.i, d = (size_t)e[2].u.i;
    em_val f, tri, *res;
    touched tu, ti;
    em_status st;

    if (args[1].len != 1)
        return em_task_fail(t, "DSGD: row block %zu is not packed", b);
    tri = args[1].u.arr[0].u.arr[(b + (size_t)e[1].u.i) % d];
    if ((st = em_task_broadcast(t, e[0], &f)) != EM_OK)
        return st;
    if ((res = em_array_make(a, 1, out)) == NULL ||
        (res = em_array_make(a, 4, res)) == NULL)
        return EM_ENOMEM;
    if ((st = touch(a, &tri, 0, f.u.arr[0].u.vec, f.u.arr[0].len / r, r,
                    &tu, &res[0], &res[1])) != EM_OK ||
        (st = touch(a, &tri, 1, f.u.arr[1].u.vec, f.u.arr[1].len / r, r,
                    &ti, &res[2], &res[3])) != EM_OK)
        return st;
    for (size_t j = 0; j < tri.len / 3; j++) {
        double *x = tu.rows + (size_t)tu.slot[(size_t)tri.u.vec[3 * j]] * r;
        double *y = ti.rows +
                    (size_t)ti.slot[(size_t)tri.u.vec[3 * j + 1]] * r;
        double err = tri.u.vec[3 * j + 2];
        for (int k = 0; k < r; k++)
            err -= x[k] * y[k];
        for (int k = 0; k < r; k++) {
            double xk = x[k];
            x[k] += eta * (err * y[k] - lambda * xk);
            y[k] += eta * (err * xk - lambda * y[k]);
        }
    }
    return EM_OK;
}

/* The DSGD run: the ids of both sides and their factors. */
typedef struct dsgd_run {
    em_val ids[2];  /* sorted distinct users and items (in tmp) */
    double *f[2];   /* factors, ids[side].len rows of rank (mem.h) */
    int rank;
} dsgd_run;

static int val_cmp(const void *x, const void *y)
{
    return em_val_cmp(*(const em_val *)x, *(const em_val *)y);
}

/* The sorted distinct ids of a side, their map id -> index (in tmp) and
 * their initial factors. */
static em_status side_ids(em_rdd *parsed, int side, uint64_t seed,
                          em_arena *tmp, dsgd_run *run, em_val *map_out)
{
    em_val ids, *kv;
    size_t r = (size_t)run->rank;
    em_status st = em_rdd_collect(
        em_rdd_distinct(em_rdd_map(parsed, em_fn_of(field, em_int(side))), 0),
        tmp, &ids);

    if (st != EM_OK)
        return st;
    if (ids.len == 0)
        return em__err(EM_EEMPTY, "DSGD: no ratings");
    qsort((em_val *)ids.u.arr, ids.len, sizeof(em_val), val_cmp);
    run->ids[side] = ids; /* before the factors: their size for the free */
    kv = em_arena_alloc(tmp, 2 * (size_t)ids.len * sizeof(em_val));
    run->f[side] = em__mem_calloc((size_t)ids.len * r, sizeof(double));
    if (kv == NULL || run->f[side] == NULL)
        return EM_ENOMEM;
    for (uint32_t i = 0; i < ids.len; i++) {
        kv[2 * i] = ids.u.arr[i];
        kv[2 * i + 1] = em_int(i);
        em_mf_initial_factor(seed, ids.u.arr[i], run->rank,
                             run->f[side] + i * r);
    }
    return em_map_make(tmp, kv, ids.len, map_out);
}

/* Writes a task's rows [idx, rows] back into factors f. */
static void write_back(double *f, em_val idx, em_val rows, int r)
{
    for (uint32_t j = 0; j < idx.len; j++)
        memcpy(f + (size_t)idx.u.vec[j] * r, rows.u.vec + (size_t)j * r,
               (size_t)r * sizeof(double));
}

/* One sub-epoch: stratum s of d at rate eta. */
static em_status sub_epoch(em_rdd *blocks, dsgd_run *run, int s, int d,
                           double eta, double lambda)
{
    em_ctx *ctx = em_rdd_ctx(blocks);
    em_val fv[2], env[6], res;
    em_broadcast *b;
    em_arena *tmp;
    em_status st;

    fv[0] = em_vec(run->f[0], run->ids[0].len * (size_t)run->rank);
    fv[1] = em_vec(run->f[1], run->ids[1].len * (size_t)run->rank);
    if ((b = em_ctx_broadcast(ctx, em_array(fv, 2))) == NULL)
        return EM_ENOMEM;
    if ((tmp = em_arena_create()) == NULL) {
        em_broadcast_destroy(b);
        return EM_ENOMEM;
    }
    env[0] = em_broadcast_ref(b);
    env[1] = em_int(s);
    env[2] = em_int(d);
    env[3] = em_int(run->rank);
    env[4] = em_float(eta);
    env[5] = em_float(lambda);
    st = em_rdd_collect(em_rdd_map_partitions_with_index(
                            blocks, em_fn_of(sgd_block, em_array(env, 6))),
                        tmp, &res);
    for (uint32_t k = 0; st == EM_OK && k < res.len; k++) {
        const em_val *p = res.u.arr[k].u.arr;
        write_back(run->f[0], p[0], p[1], run->rank);
        write_back(run->f[1], p[2], p[3], run->rank);
    }
    em_arena_destroy(tmp);
    em_broadcast_destroy(b);
    return st;
}

/* The model of the run's factors, in a. */
static em_status dsgd_model(const dsgd_run *run, em_arena *tmp, em_arena *a,
                            em_val *out)
{
    em_val fs[2];

    for (int side = 0; side < 2; side++) {
        em_val ids = run->ids[side];
        em_val *pairs = em_array_make(tmp, ids.len, &fs[side]);
        if (pairs == NULL)
            return EM_ENOMEM;
        for (uint32_t i = 0; i < ids.len; i++) {
            em_val v = em_vec(run->f[side] + (size_t)i * run->rank,
                              (size_t)run->rank);
            if (em_pair_make(tmp, ids.u.arr[i], v, &pairs[i]) != EM_OK)
                return EM_ENOMEM;
        }
    }
    return em_mf_model_make(run->rank, fs[0], fs[1], a, out);
}

/* The options with defaults filled in; EM_EINVAL for bad ones. */
static em_status check_dsgd_opts(const em_dsgd_opts *in, int rank,
                                 em_rdd *r, em_dsgd_opts *o)
{
    *o = in != NULL ? *in : (em_dsgd_opts){0};
    if (r == NULL)
        return em__err(EM_EINVAL, "DSGD: no input RDD");
    if (rank < 1 || rank > MAX_RANK)
        return em__err(EM_EINVAL, "DSGD: rank must be in [1, %d], not %d",
                       MAX_RANK, rank);
    if (o->iterations == 0)
        o->iterations = 20;
    if (o->step == 0)
        o->step = 0.05;
    if (o->lambda == 0)
        o->lambda = 0.05;
    if (o->d <= 0)
        o->d = em_ctx_default_parallelism(em_rdd_ctx(r));
    if (o->iterations < 0 || !(o->step > 0) || !isfinite(o->step) ||
        !(o->lambda >= 0) || !isfinite(o->lambda))
        return em__err(EM_EINVAL, "DSGD: iterations and step must be "
                       "positive, lambda not negative");
    return EM_OK;
}

/* The ratings in a cached RDD of d row blocks (pack_row's records). */
static em_status make_blocks(em_rdd *parsed, em_val maps, const em_dsgd_opts *o,
                             em_rdd **out)
{
    em_broadcast *b = em_ctx_broadcast(em_rdd_ctx(parsed), maps);
    em_val env[2], penv[2];
    em_rdd *blocks;
    em_status st;
    int64_t n;

    if (b == NULL)
        return EM_ENOMEM;
    env[0] = em_broadcast_ref(b);
    env[1] = em_int(o->d);
    penv[0] = em_int(o->d);
    penv[1] = em_int((int64_t)o->seed);
    blocks = em_rdd_map_partitions_with_index(
        em_rdd_partition_by(em_rdd_map(parsed, em_fn_of(to_block,
                                                        em_array(env, 2))),
                            o->d, EM_FN(block_of)),
        em_fn_of(pack_row, em_array(penv, 2)));
    st = blocks == NULL ? EM_ENOMEM : em_rdd_cache(blocks);
    if (st == EM_OK)
        st = em_rdd_count(blocks, &n);
    em_broadcast_destroy(b);
    if (st == EM_OK)
        *out = blocks;
    return st;
}

em_status em_dsgd_train(em_rdd *ratings, int rank, const em_dsgd_opts *opts,
                        em_arena *a, em_val *model_out)
{
    dsgd_run run = {{{0}, {0}}, {NULL, NULL}, rank};
    em_rdd *parsed = NULL, *blocks = NULL;
    em_val maps[2];
    em_dsgd_opts o;
    em_arena *tmp;
    em_status st = check_dsgd_opts(opts, rank, ratings, &o);

    if (st != EM_OK)
        return st;
    if ((tmp = em_arena_create()) == NULL)
        return EM_ENOMEM;
    parsed = em_rdd_map(ratings, EM_FN(parse_rating));
    st = parsed == NULL ? EM_ENOMEM : em_rdd_cache(parsed);
    for (int side = 0; side < 2 && st == EM_OK; side++)
        st = side_ids(parsed, side, o.seed, tmp, &run, &maps[side]);
    if (st == EM_OK)
        st = make_blocks(parsed, em_array(maps, 2), &o, &blocks);
    for (int e = 0; st == EM_OK && e < o.iterations; e++)
        for (int s = 0; st == EM_OK && s < o.d; s++)
            st = sub_epoch(blocks, &run, s, o.d, o.step / sqrt(e + 1.0),
                           o.lambda);
    if (st == EM_OK)
        st = dsgd_model(&run, tmp, a, model_out);
    for (int side = 0; side < 2; side++)
        em__mem_free(run.f[side],
                     (size_t)run.ids[side].len * rank * sizeof(double));
    if (blocks != NULL)
        em_rdd_unpersist(blocks);
    if (parsed != NULL)
        em_rdd_unpersist(parsed);
    em_arena_destroy(tmp);
    return st;
}
