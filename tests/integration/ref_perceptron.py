"""scikit-learn's Perceptron (eta0 1, intercept, its defaults otherwise)
on the breast cancer CSV of scikit-learn's data folder, standardized as
StandardScaler does; prints the training accuracy."""
import sys

import numpy as np
from sklearn.linear_model import Perceptron
from sklearn.preprocessing import StandardScaler

data = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1)
x, y = StandardScaler().fit_transform(data[:, :-1]), data[:, -1]
clf = Perceptron(random_state=0).fit(x, y)
print("accuracy\t%.6f" % clf.score(x, y))
