/* pagerank: PageRank (em_graph_page_rank, networkx's definition: the rank
 * of nodes without out-links spread over all nodes, ranks summing to 1)
 * of the directed graph of an edge list ("src dst" per line, whitespace
 * separated, further fields ignored; '#' lines are comments). Prints the
 * top nodes by rank (all with --top 0), then the iterations run on
 * stderr.
 *
 *   pagerank [--master URL] [--partitions N] [--tol T] [--max-iter K]
 *            [--reset P] [--top N] EDGES
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember/graph.h"

/* "src dst ..." -> [(src, dst)]; comments and short lines -> [] */
static em_status parse_edge(em_task *t, const em_val *env,
                            const em_val *args, size_t nargs, em_val *out)
{
    const char *s = args[0].u.s, *tok[2];
    size_t n = args[0].len, len[2], k = 0, i = 0;
    em_val *items;

    while (k < 2) {
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
    if (k < 2 || tok[0][0] == '#') {
        *out = em_array(NULL, 0);
        return EM_OK;
    }
    if ((items = em_array_make(em_task_arena(t), 1, out)) == NULL)
        return EM_ENOMEM;
    return em_pair_make(em_task_arena(t), em_str(tok[0], len[0]),
                        em_str(tok[1], len[1]), &items[0]);
}

/* (node, rank) -> (-rank, node): the order of the output */
static em_status by_rank(em_task *t, const em_val *env, const em_val *args,
                         size_t nargs, em_val *out)
{
    return em_pair_make(em_task_arena(t), em_float(-args[0].u.arr[1].u.f),
                        args[0].u.arr[0], out);
}

int main(int argc, char **argv)
{
    em_conf conf = {0};
    em_pagerank_opts o = {0};
    em_pagerank_info info;
    long top = 20;
    const char *path = NULL;
    em_rdd *ranks;
    em_arena *a;
    em_ctx *ctx;
    em_val best;
    int64_t n;
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (i + 1 < argc && strcmp(opt, "--master") == 0)
            conf.master = argv[++i];
        else if (i + 1 < argc && strcmp(opt, "--partitions") == 0)
            o.num_partitions = (int)strtol(argv[++i], NULL, 10);
        else if (i + 1 < argc && strcmp(opt, "--tol") == 0)
            o.tol = strtod(argv[++i], NULL);
        else if (i + 1 < argc && strcmp(opt, "--max-iter") == 0)
            o.max_iter = (int)strtol(argv[++i], NULL, 10);
        else if (i + 1 < argc && strcmp(opt, "--reset") == 0)
            o.reset_probability = strtod(argv[++i], NULL);
        else if (i + 1 < argc && strcmp(opt, "--top") == 0)
            top = strtol(argv[++i], NULL, 10);
        else if (path == NULL && opt[0] != '-')
            path = opt;
        else
            path = NULL, i = argc;
    }
    if (path == NULL) {
        fprintf(stderr, "usage: pagerank [--master URL] [--partitions N] "
                        "[--tol T] [--max-iter K] [--reset P] [--top N] "
                        "EDGES\n");
        return 2;
    }
    if ((ctx = em_ctx_create(&conf)) == NULL) {
        fprintf(stderr, "pagerank: %s\n", em_last_error());
        return 1;
    }
    a = em_arena_create();
    ranks = em_graph_page_rank(
        em_rdd_flat_map(em_ctx_text_file(ctx, path, o.num_partitions),
                        EM_FN(parse_edge)),
        &o, &info);
    if (ranks == NULL || em_rdd_count(ranks, &n) != EM_OK ||
        em_rdd_take_ordered(ranks, top > 0 ? top : n, EM_FN(by_rank), a,
                            &best) != EM_OK)
        goto out;
    for (size_t i = 0; i < best.len; i++) {
        const em_val *kv = best.u.arr[i].u.arr;
        printf("%.*s\t%.17g\n", (int)kv[0].len, kv[0].u.s, kv[1].u.f);
    }
    fprintf(stderr, "pagerank: %lld nodes (%lld dangling), %d iterations, "
            "last change %.3g\n", (long long)info.nodes,
            (long long)info.dangling, info.iterations, info.last_change);
    rc = 0;
out:
    if (rc != 0)
        fprintf(stderr, "pagerank: %s\n", em_last_error());
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
    return rc;
}
