/* PageRank time: the edges of an edge list ("src dst" a line, whitespace
 * separated, further fields ignored, '#' lines are comments) as (src, dst)
 * string pairs, parallelized, cached and counted (not timed), then timed
 * runs of em_graph_page_rank with --tol (networkx's criterion) and a
 * collect of the ranks to the driver. After a warm-up, prints per run
 * "pagerank<TAB>seconds<TAB>iterations"; with --out, the ranks of the last
 * run ("node<TAB>rank" a line) go to that file.
 *
 *   pagerank_bench --master local[2] --runs 5 --tol 1e-6 --out RANKS EDGES
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ember.h"
#include "ember/graph.h"

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The next whitespace-separated token of *p, or NULL. */
static const char *token(char **p, size_t *len)
{
    char *s = *p, *t;

    while (*s != '\0' && isspace((unsigned char)*s))
        s++;
    if (*s == '\0')
        return NULL;
    for (t = s; *t != '\0' && !isspace((unsigned char)*t); t++)
        ;
    *len = (size_t)(t - s);
    *p = t;
    return s;
}

int main(int argc, char **argv)
{
    const char *master = "local[2]", *path = NULL, *out = NULL;
    long runs = 5;
    em_pagerank_opts o = {.tol = 1e-6};
    em_conf conf = {0};
    char line[4096];
    size_t n = 0, cap = 0;
    em_val *edges = NULL;
    em_arena *a;
    em_ctx *ctx;
    em_rdd *rdd;
    int64_t count;
    FILE *f;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--master") == 0 && i + 1 < argc)
            master = argv[++i];
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atol(argv[++i]);
        else if (strcmp(argv[i], "--tol") == 0 && i + 1 < argc)
            o.tol = strtod(argv[++i], NULL);
        else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out = argv[++i];
        else
            path = argv[i];
    }
    conf.master = master;
    conf.progress = -1;
    if (path == NULL || (f = fopen(path, "r")) == NULL ||
        (ctx = em_ctx_create(&conf)) == NULL) {
        fprintf(stderr, "usage: pagerank_bench [--master M] [--runs R] "
                "[--tol T] [--out RANKS] EDGES\n");
        return 2;
    }
    a = em_arena_create();
    while (fgets(line, sizeof(line), f) != NULL) {
        char *p = line;
        const char *s, *d;
        size_t ls, ld;
        em_val vs, vd;
        if ((s = token(&p, &ls)) == NULL || s[0] == '#' ||
            (d = token(&p, &ld)) == NULL)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 4096;
            edges = realloc(edges, cap * sizeof(em_val));
        }
        if (em_str_copy(a, s, ls, &vs) != EM_OK ||
            em_str_copy(a, d, ld, &vd) != EM_OK ||
            em_pair_make(a, vs, vd, &edges[n++]) != EM_OK)
            return 1;
    }
    fclose(f);
    rdd = em_ctx_parallelize(ctx, edges, n, em_ctx_default_parallelism(ctx));
    free(edges);
    if (em_rdd_cache(rdd) != EM_OK || em_rdd_count(rdd, &count) != EM_OK) {
        fprintf(stderr, "pagerank_bench: %s\n", em_last_error());
        return 1;
    }
    for (long r = 0; r < runs + 1; r++) {
        em_arena *m = em_arena_create();
        em_pagerank_info info;
        em_val ranks;
        double t0 = now();
        em_rdd *pr = em_graph_page_rank(rdd, &o, &info);
        if (pr == NULL || em_rdd_collect(pr, m, &ranks) != EM_OK) {
            fprintf(stderr, "pagerank_bench: %s\n", em_last_error());
            return 1;
        }
        if (r > 0) /* the first run is a warm-up */
            printf("pagerank\t%.4f\t%d\n", now() - t0, info.iterations);
        if (r == runs && out != NULL && (f = fopen(out, "w")) != NULL) {
            for (uint32_t i = 0; i < ranks.len; i++) {
                const em_val *kv = ranks.u.arr[i].u.arr;
                fprintf(f, "%.*s\t%.17g\n", (int)kv[0].len, kv[0].u.s,
                        kv[1].u.f);
            }
            fclose(f);
        }
        if (r == runs)
            fprintf(stderr, "pagerank_bench: %lld edges, %lld nodes (%lld "
                    "dangling), %d iterations\n", (long long)count,
                    (long long)info.nodes, (long long)info.dangling,
                    info.iterations);
        em_arena_destroy(m);
    }
    em_arena_destroy(a);
    em_ctx_destroy(ctx);
    return 0;
}
