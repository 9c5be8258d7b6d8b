"""scikit-learn's LogisticRegression (L2, C=1, lbfgs) on the breast cancer
CSV of scikit-learn's data folder, standardized as StandardScaler does;
prints the training accuracy and the mean log loss of the fit."""
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.preprocessing import StandardScaler

data = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1)
x, y = StandardScaler().fit_transform(data[:, :-1]), data[:, -1]
clf = LogisticRegression(C=1.0, max_iter=10000).fit(x, y)
print("accuracy\t%.6f" % clf.score(x, y))
print("loss\t%.6f" % log_loss(y, clf.predict_proba(x)[:, 1]))
