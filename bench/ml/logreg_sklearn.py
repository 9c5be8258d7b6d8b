"""scikit-learn's SGDClassifier (log loss, one epoch: max_iter=1, tol=None)
on the breast cancer set standardized and replicated to ROWS rows; prints
"sgdclassifier<TAB>seconds" per timed fit (a warm-up fit first)."""
import sys
import time
import warnings

import numpy as np
from sklearn.linear_model import SGDClassifier
from sklearn.preprocessing import StandardScaler

path, rows, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = np.loadtxt(path, delimiter=",", skiprows=1)
x = StandardScaler().fit_transform(data[:, :-1])
idx = np.arange(rows) % len(data)
x, y = np.ascontiguousarray(x[idx]), data[idx, -1]
warnings.simplefilter("ignore")
for r in range(runs + 1):
    clf = SGDClassifier(loss="log_loss", max_iter=1, tol=None, shuffle=False)
    t0 = time.perf_counter()
    clf.fit(x, y)
    if r > 0:
        print("sgdclassifier\t%.4f" % (time.perf_counter() - t0))
