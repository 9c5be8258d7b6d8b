/* Ember's graph operators (ops/graph/): PageRank over an RDD of edges.
 * Built on the RDD API of ember.h, so it runs the same on local threads
 * and on the worker pool. docs/ml.md, "Graph", is the tour.
 */
#ifndef EMBER_INCLUDE_EMBER_GRAPH_H
#define EMBER_INCLUDE_EMBER_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../ember.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Options of em_graph_page_rank; zero means the default for each field. */
typedef struct em_pagerank_opts {
    double reset_probability; /* 1 - damping; 0: 0.15 */
    double tol;               /* stop when sum |r_new - r| < N tol, as
                                 networkx; 0: 1e-6; negative: run
                                 max_iter iterations */
    int max_iter;             /* iterations at most; 0: 100 */
    int num_partitions;       /* of the links and ranks; <= 0: the
                                 default of wide transformations */
} em_pagerank_opts;

/* What a PageRank run did. */
typedef struct em_pagerank_info {
    int64_t nodes;      /* N: distinct nodes among sources and targets */
    int64_t dangling;   /* nodes without out-links */
    int iterations;     /* iterations run */
    double last_change; /* sum |r_new - r| of the last iteration */
} em_pagerank_info;

/* PageRank of the graph of `edges`, (src, dst) pairs of any values
 * (equal pairs count once; a self-loop is an out-link). With reset
 * probability a and N nodes, from r = 1/N everywhere, each iteration is
 *
 *   r_new(v) = (1 - a) (sum over links u->v of r(u) / outdeg(u)
 *                       + D / N) + a / N
 *
 * where D is the rank of the nodes without out-links, spread uniformly,
 * so the ranks sum to 1 (networkx's pagerank without weights or
 * personalization). The links (node, [targets]) are hash-partitioned once
 * and cached; the ranks keep their partitioning, so each iteration
 * shuffles only the contributions (reduceByKey, combined on the map
 * side). One job per iteration (it also sums D and the change); each
 * iteration's ranks are cached and the previous ones unpersisted.
 *
 * Returns the (node, rank) pairs (float ranks), partitioned as the links,
 * or NULL with em_last_error set: EM_EINVAL for bad options, EM_EEMPTY
 * for no edges, a job's error (a record that is not a pair fails it).
 * info_out may be NULL. */
EM_API em_rdd *em_graph_page_rank(em_rdd *edges, const em_pagerank_opts *opts,
                                  em_pagerank_info *info_out);

#ifdef __cplusplus
}
#endif
#endif /* EMBER_INCLUDE_EMBER_GRAPH_H */
