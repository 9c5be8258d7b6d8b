/* Tests of PageRank (ops/graph/pagerank.c): random small graphs with
 * dangling nodes, repeated edges and self-loops against a dense power
 * iteration written here (networkx's definition), within 1e-12, with the
 * same number of iterations under the same stopping rule; ranks summing
 * to 1; the same ranks on local[1], [2] and [7]; string node names; bad
 * input.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "em_test.h"
#include "ember/graph.h"

#define MAXN 40

static const char *masters[] = {"local[1]", "local[2]", "local[7]"};

typedef struct graph {
    int n;                 /* nodes 0..n-1, every one in some edge */
    bool adj[MAXN][MAXN];  /* adj[u][v]: an edge u -> v */
} graph;

/* A random graph: m edges on n nodes, some repeated, nodes >= n/2 + 1
 * get no out-links (dangling) and every node is on some edge. The edges
 * (with repeats) go to e as int pairs in a. */
static size_t random_graph(em_test_rng *r, graph *g, int n, em_arena *a,
                           em_val **e)
{
    size_t m = 0, cap = (size_t)n * 4 + 8;
    em_val *edges = em_arena_alloc(a, cap * sizeof(em_val));

    memset(g, 0, sizeof(*g));
    g->n = n;
    for (int v = 0; v < n; v++) {
        /* one edge per node makes sure it appears */
        int u = v <= n / 2 ? v : (int)em_test_below(r, (uint64_t)n / 2 + 1);
        int w = v <= n / 2 ? (int)em_test_below(r, (uint64_t)n) : v;
        g->adj[u][w] = true;
        EM_CHECK(em_pair_make(a, em_int(u), em_int(w), &edges[m++]));
    }
    while (m < cap) {
        int u = (int)em_test_below(r, (uint64_t)n / 2 + 1);
        int w = (int)em_test_below(r, (uint64_t)n);
        g->adj[u][w] = true;
        EM_CHECK(em_pair_make(a, em_int(u), em_int(w), &edges[m++]));
    }
    *e = edges;
    return m;
}

/* networkx's power iteration on the dense graph: at most max_iter
 * iterations, stopping when sum |x - xlast| < n tol (tol < 0: never).
 * Returns the iterations run. */
static int naive_pagerank(const graph *g, double alpha, int max_iter,
                          double tol, double *x)
{
    int n = g->n, deg[MAXN] = {0}, it = 0;

    for (int u = 0; u < n; u++) {
        x[u] = 1.0 / n;
        for (int v = 0; v < n; v++)
            deg[u] += g->adj[u][v];
    }
    while (it < max_iter) {
        double nx[MAXN] = {0}, dangle = 0, err = 0;
        for (int u = 0; u < n; u++) {
            if (deg[u] == 0)
                dangle += x[u];
            for (int v = 0; v < n; v++)
                if (g->adj[u][v])
                    nx[v] += x[u] / deg[u];
        }
        for (int v = 0; v < n; v++) {
            nx[v] = alpha * (nx[v] + dangle / n) + (1 - alpha) / n;
            err += fabs(nx[v] - x[v]);
            x[v] = nx[v];
        }
        it++;
        if (tol >= 0 && err < n * tol)
            break;
    }
    return it;
}

static int by_key(const void *x, const void *y)
{
    return em_val_cmp(((const em_val *)x)->u.arr[0],
                      ((const em_val *)y)->u.arr[0]);
}

/* Runs PageRank and collects the pairs sorted by node into *out. */
static void run(em_ctx *ctx, em_val *edges, size_t m, int slices,
                const em_pagerank_opts *o, em_arena *a, em_val *out,
                em_pagerank_info *info)
{
    em_rdd *r = em_graph_page_rank(em_ctx_parallelize(ctx, edges, m, slices),
                                   o, info);
    if (r == NULL)
        fail_msg("PageRank: %s", em_last_error());
    EM_CHECK(em_rdd_collect(r, a, out));
    qsort((void *)out->u.arr, out->len, sizeof(em_val), by_key);
}

static void test_pagerank_matches_power_iteration(void **state)
{
    em_test_rng r = {2024};
    em_arena *a = em_arena_create();
    em_ctx *ctx = em_test_ctx("local[2]");

    for (int trial = 0; trial < 12; trial++) {
        int n = 2 + (int)em_test_below(&r, MAXN - 1);
        double x[MAXN], sum = 0;
        em_pagerank_opts o = {0};
        em_pagerank_info info;
        em_val *edges, got;
        graph g;
        size_t m = random_graph(&r, &g, n, a, &edges);
        int iters;
        o.reset_probability = trial % 2 ? 0.15 : 0.3;
        o.tol = trial % 3 ? 1e-10 : -1;
        o.max_iter = trial % 3 ? 500 : 40;
        o.num_partitions = 1 + trial % 4;
        iters = naive_pagerank(&g, 1 - o.reset_probability, o.max_iter, o.tol,
                               x);
        run(ctx, edges, m, 3, &o, a, &got, &info);
        assert_int_equal(got.len, n);
        assert_int_equal(info.nodes, n);
        assert_int_equal(info.iterations, iters);
        for (int v = 0; v < n; v++) {
            assert_int_equal(got.u.arr[v].u.arr[0].u.i, v);
            assert_true(fabs(got.u.arr[v].u.arr[1].u.f - x[v]) < 1e-12);
            sum += got.u.arr[v].u.arr[1].u.f;
        }
        assert_true(fabs(sum - 1) < 1e-12);
    }
    em_ctx_destroy(ctx);
    em_arena_destroy(a);
}

static void test_pagerank_same_on_every_master(void **state)
{
    em_test_rng r = {77};
    em_arena *a = em_arena_create();
    em_val *edges, got[3];
    graph g;
    size_t m = random_graph(&r, &g, MAXN, a, &edges);

    for (int i = 0; i < 3; i++) {
        em_ctx *ctx = em_test_ctx(masters[i]);
        em_pagerank_info info;
        run(ctx, edges, m, 5, NULL, a, &got[i], &info);
        if (i > 0)
            assert_true(em_val_eq(got[i], got[0]));
        em_ctx_destroy(ctx);
    }
    em_arena_destroy(a);
}

/* A chain a -> b -> c with c dangling, named by strings. */
static void test_pagerank_string_nodes(void **state)
{
    em_arena *a = em_arena_create();
    em_ctx *ctx = em_test_ctx("local[2]");
    const char *names[] = {"a", "b", "c"};
    em_val edges[3], got;
    em_pagerank_opts o = {0};
    em_pagerank_info info;
    graph g = {3, {{false}}};
    double x[MAXN];

    EM_CHECK(em_pair_make(a, em_cstr("a"), em_cstr("b"), &edges[0]));
    EM_CHECK(em_pair_make(a, em_cstr("b"), em_cstr("c"), &edges[1]));
    edges[2] = edges[0];
    g.adj[0][1] = g.adj[1][2] = true;
    o.tol = 1e-14;
    naive_pagerank(&g, 0.85, 100, 1e-14, x);
    run(ctx, edges, 3, 2, &o, a, &got, &info);
    assert_int_equal(got.len, 3);
    assert_int_equal(info.dangling, 1);
    for (int v = 0; v < 3; v++) {
        assert_true(em_val_eq(got.u.arr[v].u.arr[0], em_cstr(names[v])));
        assert_true(fabs(got.u.arr[v].u.arr[1].u.f - x[v]) < 1e-12);
    }
    em_ctx_destroy(ctx);
    em_arena_destroy(a);
}

static void test_pagerank_bad_input(void **state)
{
    em_ctx *ctx = em_test_ctx("local[2]");
    em_val v[2] = {em_int(1), em_int(2)};
    em_pagerank_opts o = {0};

    assert_null(em_graph_page_rank(em_ctx_empty(ctx), NULL, NULL));
    assert_non_null(strstr(em_last_error(), "no edges"));
    assert_null(em_graph_page_rank(em_ctx_parallelize(ctx, v, 2, 1), NULL,
                                   NULL));
    assert_non_null(strstr(em_last_error(), "pair"));
    o.reset_probability = 1.5;
    assert_null(em_graph_page_rank(em_ctx_parallelize(ctx, v, 2, 1), &o,
                                   NULL));
    assert_non_null(strstr(em_last_error(), "resetProbability"));
    em_ctx_destroy(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        EM_TEST(test_pagerank_matches_power_iteration),
        EM_TEST(test_pagerank_same_on_every_master),
        EM_TEST(test_pagerank_string_nodes),
        EM_TEST(test_pagerank_bad_input),
    };
    return cmocka_run_group_tests_name("pagerank", tests, NULL, NULL);
}
