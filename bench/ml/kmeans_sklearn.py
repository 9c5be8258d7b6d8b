"""scikit-learn's KMeans (algorithm="lloyd", n_init=1, tol=0) on the digits
(features only) replicated to ROWS points, threads limited to THREADS
(threadpoolctl), from the centres of CENTERS; after a warm-up, per run
"one<TAB>seconds" (fit with max_iter=1), "many<TAB>seconds" (max_iter=1+ITERS)
and "iter<TAB>seconds" (their difference over ITERS: one Lloyd iteration
without the per-fit overhead); then "cost1" and "costmany", the inertia of
the centres after 1 and 1 + ITERS iterations.

    kmeans_sklearn.py DIGITS ROWS RUNS ITERS THREADS CENTERS
    kmeans_sklearn.py --centers DIGITS K OUT   (k-means++ centres, seed 0)
"""
import sys
import time
import warnings

import numpy as np
from sklearn.cluster import KMeans, kmeans_plusplus
from threadpoolctl import threadpool_limits

if sys.argv[1] == "--centers":
    X = np.loadtxt(sys.argv[2], delimiter=",")[:, :-1]
    init, _ = kmeans_plusplus(X, int(sys.argv[3]), random_state=0)
    np.savetxt(sys.argv[4], init, delimiter=",", fmt="%.17g")
    sys.exit(0)

path, rows, runs, iters, threads, cpath = sys.argv[1:7]
rows, runs, iters, threads = int(rows), int(runs), int(iters), int(threads)
digits = np.loadtxt(path, delimiter=",")[:, :-1]
X = np.ascontiguousarray(digits[np.arange(rows) % len(digits)])
init = np.loadtxt(cpath, delimiter=",")
warnings.simplefilter("ignore")


def fit(max_iter):
    km = KMeans(n_clusters=len(init), init=init, n_init=1,
                algorithm="lloyd", max_iter=max_iter, tol=0)
    t0 = time.perf_counter()
    km.fit(X)
    t = time.perf_counter() - t0
    if km.n_iter_ != max_iter:
        sys.exit("KMeans stopped after %d iterations, not %d"
                 % (km.n_iter_, max_iter))
    return t, km.inertia_


with threadpool_limits(limits=threads):
    for r in range(runs + 1):
        one, cost1 = fit(1)
        many, costmany = fit(1 + iters)
        if r > 0:  # the first round is a warm-up
            print("one\t%.4f\nmany\t%.4f\niter\t%.5f"
                  % (one, many, (many - one) / iters))
print("cost1\t%.17g\ncostmany\t%.17g" % (cost1, costmany))
