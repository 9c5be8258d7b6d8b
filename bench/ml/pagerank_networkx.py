"""networkx.pagerank (alpha 0.85, tol TOL, max_iter 100) of the directed
graph of an edge list ("src dst" a line, '#' comments), the graph built
beforehand and not timed; after a warm-up, per run
"pagerank<TAB>seconds". With RANKS (Ember's "node<TAB>rank" lines), then
"l1<TAB>x": the L1 distance between the two rank vectors (a node missing
on one side counts its whole rank).

    pagerank_networkx.py EDGES RUNS TOL [RANKS]
"""
import sys
import time

import networkx as nx

path, runs, tol = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
G = nx.read_edgelist(path, create_using=nx.DiGraph, data=False)
for r in range(runs + 1):
    t0 = time.perf_counter()
    pr = nx.pagerank(G, alpha=0.85, tol=tol, max_iter=100)
    if r > 0:  # the first run is a warm-up
        print("pagerank\t%.4f" % (time.perf_counter() - t0))
if len(sys.argv) > 4:
    ours = {}
    with open(sys.argv[4]) as f:
        for line in f:
            node, rank = line.rstrip("\n").split("\t")
            ours[node] = float(rank)
    l1 = sum(abs(ours.get(v, 0.0) - x) for v, x in pr.items())
    l1 += sum(x for v, x in ours.items() if v not in pr)
    print("l1\t%.3g" % l1)
