"""networkx's pagerank of the directed graph of an edge list ("src dst"
a line), with a tight tolerance: "node<TAB>rank" a line.

    ref_pagerank.py EDGES [TOL]
"""
import sys

import networkx as nx

G = nx.read_edgelist(sys.argv[1], create_using=nx.DiGraph, data=False)
tol = float(sys.argv[2]) if len(sys.argv) > 2 else 1e-12
for node, rank in nx.pagerank(G, alpha=0.85, tol=tol, max_iter=10000).items():
    print("%s\t%.17g" % (node, rank))
