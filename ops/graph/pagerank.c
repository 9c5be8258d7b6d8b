/* PageRank with networkx's definition (the rank of nodes without
 * out-links spread over all nodes), as Spark's classic example: the links
 * are grouped and hash-partitioned once and cached, the ranks keep that
 * partitioning, and each iteration shuffles only the contributions.
 * docs/ml.md, "Graph".
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ember/graph.h"
#include "runtime/err.h"

/* The layout of a rank record's value: a vec of three. */
enum { R_RANK, R_CHANGE, R_DANGLING, R_LEN };

/* (src, dst) -> [(src, dst), (dst, nil)]: every node gets a links record. */
static em_status edge_records(em_task *t, const em_val *env,
                              const em_val *args, size_t nargs, em_val *out)
{
    em_arena *a = em_task_arena(t);
    em_val e = args[0], *items;

    if (!em_val_is_pair(e))
        return em_task_fail(t, "PageRank: an edge must be a (src, dst) "
                            "pair, not %s", em_type_name((em_type)e.type));
    if ((items = em_array_make(a, 2, out)) == NULL ||
        em_pair_make(a, e.u.arr[0], e.u.arr[1], &items[0]) != EM_OK ||
        em_pair_make(a, e.u.arr[1], em_nil(), &items[1]) != EM_OK)
        return EM_ENOMEM;
    return EM_OK;
}

static int by_val(const void *x, const void *y)
{
    return em_val_cmp(*(const em_val *)x, *(const em_val *)y);
}

/* [dst or nil...] -> the distinct targets, sorted. */
static em_status distinct_targets(em_task *t, const em_val *env,
                                  const em_val *args, size_t nargs,
                                  em_val *out)
{
    em_val g = args[0], *items = em_array_make(em_task_arena(t), g.len, out);
    size_t n = 0, m = 0;

    if (items == NULL)
        return EM_ENOMEM;
    for (uint32_t i = 0; i < g.len; i++)
        if (g.u.arr[i].type != EM_NIL)
            items[n++] = g.u.arr[i];
    qsort(items, n, sizeof(em_val), by_val);
    for (size_t i = 0; i < n; i++)
        if (m == 0 || !em_val_eq(items[i], items[m - 1]))
            items[m++] = items[i];
    out->len = (uint32_t)m;
    return EM_OK;
}

/* targets -> [1/N, 0, dangling?]; env: 1/N. */
static em_status first_rank(em_task *t, const em_val *env,
                            const em_val *args, size_t nargs, em_val *out)
{
    double *r = em_vec_make(em_task_arena(t), R_LEN, out);

    if (r == NULL)
        return EM_ENOMEM;
    r[R_RANK] = env->u.f;
    r[R_DANGLING] = args[0].len == 0;
    return EM_OK;
}

/* (node, (targets, rank)) -> [(target, rank / outdegree)...] */
static em_status contributions(em_task *t, const em_val *env,
                               const em_val *args, size_t nargs, em_val *out)
{
    em_arena *a = em_task_arena(t);
    em_val dsts = args[0].u.arr[1].u.arr[0];
    double share = args[0].u.arr[1].u.arr[1].u.vec[R_RANK] / dsts.len;
    em_val *items = em_array_make(a, dsts.len, out);

    if (items == NULL)
        return EM_ENOMEM;
    for (uint32_t i = 0; i < dsts.len; i++)
        if (em_pair_make(a, dsts.u.arr[i], em_float(share), &items[i]) !=
            EM_OK)
            return EM_ENOMEM;
    return EM_OK;
}

/* (rank, contribution or nil) -> the next rank. env: [1 - a, D, N, a]. */
static em_status next_rank(em_task *t, const em_val *env, const em_val *args,
                           size_t nargs, em_val *out)
{
    const em_val *e = env->u.arr;
    const double *old = args[0].u.arr[0].u.vec;
    em_val c = args[0].u.arr[1];
    double *r = em_vec_make(em_task_arena(t), R_LEN, out), sum;

    if (r == NULL)
        return EM_ENOMEM;
    sum = c.type == EM_FLOAT ? c.u.f : 0;
    r[R_RANK] = e[0].u.f * (sum + e[1].u.f / e[2].u.f) + e[3].u.f / e[2].u.f;
    r[R_CHANGE] = fabs(r[R_RANK] - old[R_RANK]);
    r[R_DANGLING] = old[R_DANGLING];
    return EM_OK;
}

/* The ranks of a partition -> one vec [sum of changes, rank of the
 * dangling nodes, dangling nodes]. */
static em_status rank_sums(em_task *t, const em_val *env, const em_val *args,
                           size_t nargs, em_val *out)
{
    em_arena *a = em_task_arena(t);
    em_val v, *items = em_array_make(a, 1, out);
    double *s = em_vec_make(a, 3, &v);

    if (items == NULL || s == NULL)
        return EM_ENOMEM;
    for (uint32_t i = 0; i < args[0].len; i++) {
        const double *r = args[0].u.arr[i].u.arr[1].u.vec;
        s[0] += r[R_CHANGE];
        s[1] += r[R_DANGLING] != 0 ? r[R_RANK] : 0;
        s[2] += r[R_DANGLING];
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

static em_status rank_of(em_task *t, const em_val *env, const em_val *args,
                         size_t nargs, em_val *out)
{
    *out = em_float(args[0].u.vec[R_RANK]);
    return EM_OK;
}

/* Caches ranks and sums them: [change, dangling rank, dangling nodes]
 * into s (partition order, so the same on every master). */
static em_status cache_and_sum(em_rdd *ranks, double s[3])
{
    em_arena *tmp;
    em_val v;
    em_status st;

    if (ranks == NULL)
        return EM_ENOMEM; /* the inputs exist: only memory can fail */
    if ((st = em_rdd_cache(ranks)) != EM_OK)
        return st;
    if ((tmp = em_arena_create()) == NULL)
        return EM_ENOMEM;
    st = em_rdd_reduce(em_rdd_map_partitions(ranks, EM_FN(rank_sums)),
                       EM_FN(vec_add), tmp, &v);
    if (st == EM_OK)
        memcpy(s, v.u.vec, 3 * sizeof(double));
    em_arena_destroy(tmp);
    return st;
}

static em_status check_opts(const em_pagerank_opts *in, em_pagerank_opts *o)
{
    *o = in != NULL ? *in : (em_pagerank_opts){0};
    if (o->reset_probability == 0)
        o->reset_probability = 0.15;
    if (o->tol == 0)
        o->tol = 1e-6;
    if (o->max_iter == 0)
        o->max_iter = 100;
    if (!(o->reset_probability > 0 && o->reset_probability <= 1) ||
        isnan(o->tol) || o->max_iter < 0)
        return em__err(EM_EINVAL, "PageRank: resetProbability must be in "
                       "(0, 1], tol a number, maxIter >= 0");
    return EM_OK;
}

/* The links: (node, [distinct targets]) for every node, hash-partitioned
 * and cached; their number in *n. */
static em_rdd *make_links(em_rdd *edges, int parts, int64_t *n)
{
    em_rdd *links = em_rdd_map_values(
        em_rdd_group_by_key(em_rdd_flat_map(edges, EM_FN(edge_records)),
                            parts),
        EM_FN(distinct_targets));

    if (links == NULL || em_rdd_cache(links) != EM_OK ||
        em_rdd_count(links, n) != EM_OK)
        return NULL;
    if (*n == 0) {
        em__err(EM_EEMPTY, "PageRank: no edges");
        return NULL;
    }
    return links;
}

/* One iteration: the ranks after `ranks`, whose dangling rank is d. */
static em_rdd *iterate(em_rdd *links, em_rdd *ranks,
                       const em_pagerank_opts *o, double d, int64_t n)
{
    em_rdd *c = em_rdd_reduce_by_key(
        em_rdd_flat_map(em_rdd_join(links, ranks, 0), EM_FN(contributions)),
        EM_FN(em_op_add), links ? em_rdd_num_partitions(links) : 0);
    em_val env[4];

    env[0] = em_float(1 - o->reset_probability);
    env[1] = em_float(d);
    env[2] = em_float((double)n);
    env[3] = em_float(o->reset_probability);
    return em_rdd_map_values(em_rdd_left_outer_join(ranks, c, 0),
                             em_fn_of(next_rank, em_array(env, 4)));
}

em_rdd *em_graph_page_rank(em_rdd *edges, const em_pagerank_opts *opts,
                           em_pagerank_info *info_out)
{
    em_pagerank_opts o;
    em_pagerank_info info = {0};
    em_rdd *links, *ranks, *next;
    double s[3];

    if (edges == NULL)
        return NULL;
    if (check_opts(opts, &o) != EM_OK ||
        (links = make_links(edges, o.num_partitions, &info.nodes)) == NULL)
        return NULL;
    ranks = em_rdd_map_values(
        links, em_fn_of(first_rank, em_float(1.0 / (double)info.nodes)));
    if (cache_and_sum(ranks, s) != EM_OK)
        return NULL;
    info.dangling = (int64_t)s[2];
    info.last_change = NAN;
    while (info.iterations < o.max_iter) {
        next = iterate(links, ranks, &o, s[1], info.nodes);
        if (cache_and_sum(next, s) != EM_OK)
            return NULL;
        em_rdd_unpersist(ranks);
        ranks = next;
        info.iterations++;
        info.last_change = s[0];
        if (o.tol >= 0 && s[0] < (double)info.nodes * o.tol)
            break;
    }
    if (info_out != NULL)
        *info_out = info;
    return em_rdd_map_values(ranks, EM_FN(rank_of));
}
