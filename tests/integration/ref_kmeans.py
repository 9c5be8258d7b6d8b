"""scikit-learn's KMeans (Lloyd, one run) on a CSV of features then a
label, from k-means++ centres chosen with a fixed seed; the centres are
written to CENTERS (for Ember to start from) and the final inertia and the
iterations are printed as "cost<TAB>x" and "iterations<TAB>n".

    ref_kmeans.py CSV K CENTERS
"""
import sys

import numpy as np
from sklearn.cluster import KMeans, kmeans_plusplus

path, k, centers_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
X = np.loadtxt(path, delimiter=",")[:, :-1]
init, _ = kmeans_plusplus(X, k, random_state=0)
np.savetxt(centers_path, init, delimiter=",", fmt="%.17g")
km = KMeans(n_clusters=k, init=init, n_init=1, algorithm="lloyd",
            max_iter=1000, tol=0).fit(X)
print("cost\t%.17g" % km.inertia_)
print("iterations\t%d" % km.n_iter_)
