/* pagerank_basic: Spark's classic PageRank on an edge list ("src dst" per
 * line; '#' lines are comments). Links are grouped and hash-partitioned
 * once and cached; every iteration joins them with the ranks, which stay
 * partitioned the same way, so only the contributions are shuffled.
 *
 *   rank(n) = 0.15 + 0.85 * sum of rank(m) / outdegree(m) over links m->n
 *
 * (Spark's example: no normalization, nodes without in-links drop out.)
 *
 *   pagerank_basic [--master URL] [--partitions N] [--iterations K]
 *                  [--top N] EDGES
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember.h"

/* "src dst" -> [(src, dst)], comments and blank lines -> []; a line
 * with another shape counts as malformed (env: the accumulator). */
static em_status parse_edge(em_task *t, const em_val *env,
                            const em_val *args, size_t nargs, em_val *out)
{
    const char *s = args[0].u.s, *tok[3];
    size_t n = args[0].len, len[3], k = 0, i = 0;
    em_val *items;

    while (k < 3) {
        while (i < n && isspace((unsigned char)s[i]))
            i++;
        if (i == n)
            break;
        tok[k] = s + i;
        while (i < n && !isspace((unsigned char)s[i]))
            i++;
        len[k] = (size_t)(s + i - tok[k]);
        k++;
    }
    if (k == 0 || tok[0][0] == '#') {
        *out = em_array(NULL, 0);
        return EM_OK;
    }
    if (k != 2) {
        *out = em_array(NULL, 0);
        return em_task_accum_add(t, *env, em_int(1));
    }
    if ((items = em_array_make(em_task_arena(t), 1, out)) == NULL)
        return EM_ENOMEM;
    return em_pair_make(em_task_arena(t), em_str(tok[0], len[0]),
                        em_str(tok[1], len[1]), &items[0]);
}

static em_status one(em_task *t, const em_val *env, const em_val *args,
                     size_t nargs, em_val *out)
{
    *out = em_float(1.0);
    return EM_OK;
}

/* ([dst...], rank) -> [(dst, rank / outdegree)...] */
static em_status contribs(em_task *t, const em_val *env, const em_val *args,
                          size_t nargs, em_val *out)
{
    em_val dsts = args[0].u.arr[0];
    double rank = args[0].u.arr[1].u.f;
    em_val *items = em_array_make(em_task_arena(t), dsts.len, out);

    if (items == NULL)
        return EM_ENOMEM;
    for (size_t i = 0; i < dsts.len; i++) {
        em_status st = em_pair_make(em_task_arena(t), dsts.u.arr[i],
                                    em_float(rank / dsts.len), &items[i]);
        if (st != EM_OK)
            return st;
    }
    return EM_OK;
}

static em_status damp(em_task *t, const em_val *env, const em_val *args,
                      size_t nargs, em_val *out)
{
    *out = em_float(0.15 + 0.85 * args[0].u.f);
    return EM_OK;
}

/* (node, rank) -> -rank, then node: the order of the output */
static em_status by_rank(em_task *t, const em_val *env, const em_val *args,
                         size_t nargs, em_val *out)
{
    return em_pair_make(em_task_arena(t), em_float(-args[0].u.arr[1].u.f),
                        args[0].u.arr[0], out);
}

int main(int argc, char **argv)
{
    em_conf conf = {0};
    long parts = 0, iters = 10, top = 20;
    const char *path = NULL;
    em_rdd *edges, *links, *ranks;
    em_accum *bad;
    em_arena *a;
    em_ctx *ctx;
    em_val best, nbad;
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--master") == 0 && i + 1 < argc)
            conf.master = argv[++i];
        else if (strcmp(argv[i], "--partitions") == 0 && i + 1 < argc)
            parts = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc)
            iters = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--top") == 0 && i + 1 < argc)
            top = strtol(argv[++i], NULL, 10);
        else if (path == NULL && argv[i][0] != '-')
            path = argv[i];
        else
            path = NULL, i = argc;
    }
    if (path == NULL) {
        fprintf(stderr, "usage: pagerank_basic [--master URL] [--partitions "
                        "N] [--iterations K] [--top N] EDGES\n");
        return 2;
    }
    if ((ctx = em_ctx_create(&conf)) == NULL) {
        fprintf(stderr, "pagerank_basic: %s\n", em_last_error());
        return 1;
    }
    a = em_arena_create();
    bad = em_ctx_accumulator(ctx, EM_ACCUM_SUM, em_int(0), em_nil(),
                             EM_FN_NONE);
    edges = em_rdd_flat_map(em_ctx_text_file(ctx, path, (int)parts),
                            em_fn_of(parse_edge, em_accum_ref(bad)));
    links = em_rdd_group_by_key(em_rdd_distinct(edges, (int)parts),
                                (int)parts);
    if (em_rdd_cache(links) != EM_OK)
        goto out;
    ranks = em_rdd_map_values(links, EM_FN(one));
    for (long i = 0; i < iters; i++) {
        em_rdd *c = em_rdd_flat_map(em_rdd_values(em_rdd_join(links, ranks,
                                                              (int)parts)),
                                    EM_FN(contribs));
        ranks = em_rdd_map_values(
            em_rdd_reduce_by_key(c, EM_FN(em_op_add),
                                 links ? em_rdd_num_partitions(links) : 0),
            EM_FN(damp));
    }
    if (ranks == NULL ||
        em_rdd_take_ordered(ranks, top, EM_FN(by_rank), a, &best) != EM_OK)
        goto out;
    for (size_t i = 0; i < best.len; i++) {
        const em_val *kv = best.u.arr[i].u.arr;
        printf("%.*s\t%.6f\n", (int)kv[0].len, kv[0].u.s, kv[1].u.f);
    }
    if (em_accum_value(bad, a, &nbad) == EM_OK && nbad.u.i > 0)
        fprintf(stderr, "pagerank_basic: skipped %lld malformed lines\n",
                (long long)nbad.u.i);
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "pagerank_basic: %s\n", em_last_error());
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
    return rc;
}
