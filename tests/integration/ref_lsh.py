"""Recall at k of the neighbours printed by `lsh_neighbors --print`, against
exact cosine neighbours from scikit-learn's NearestNeighbors (brute force),
on the same CSV split the same way (rows 0, 5, 10, ... are the queries, the
others indexed; the last column is a label, not a feature). A returned
neighbour counts as a hit when its cosine distance to the query is at most
that of the k-th exact neighbour (ties count either way).

    ref_lsh.py CSV OUTPUT

Prints "bits<TAB>recall<TAB>recall printed by the example" per length.
"""
import sys
from collections import defaultdict

import numpy as np
from sklearn.metrics.pairwise import cosine_distances
from sklearn.neighbors import NearestNeighbors


def main():
    data = np.loadtxt(sys.argv[1], delimiter=",")[:, :-1]
    rows = np.arange(len(data))
    base_rows, query_rows = rows[rows % 5 != 0], rows[rows % 5 == 0]
    position = {r: i for i, r in enumerate(base_rows)}
    nn_lists, printed = defaultdict(dict), {}
    with open(sys.argv[2]) as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if fields[0] == "nn":
                ids = [int(x) for x in fields[3].split(",")]
                nn_lists[int(fields[1])][int(fields[2])] = ids
            elif fields[0].isdigit():
                printed[int(fields[0])] = float(fields[1])
    for bits, lists in nn_lists.items():
        k = len(next(iter(lists.values())))
        exact = NearestNeighbors(n_neighbors=k, metric="cosine",
                                 algorithm="brute").fit(data[base_rows])
        dist, _ = exact.kneighbors(data[query_rows])
        hits = 0
        for qi, q in enumerate(query_rows):
            got = lists[q]
            d = cosine_distances(data[[q]], data[got])[0]
            hits += int(np.sum(d <= dist[qi, -1] + 1e-12))
            assert all(g in position for g in got), "a query was returned"
        assert len(lists) == len(query_rows), "queries missing"
        print(f"{bits}\t{hits / (k * len(query_rows)):.4f}\t{printed[bits]:.4f}")


if __name__ == "__main__":
    main()
