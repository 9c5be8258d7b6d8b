"""A straightforward numpy ALS with Spark's weighted-lambda regularization,
as the reference of examples/als: the ratings of CSV ("user,item,rating,
..."), every fifth line (the 5th, 10th, ...) held out; users start at
random unit vectors; each iteration solves every item's factor from the
users', then every user's from the items':

    (sum_u x_u x_u^T + lambda n_i I) y_i = sum_u r_ui x_u

Prints "held_out_rmse<TAB>x" over the held-out ratings whose user and
item occur in training (and "unscored<TAB>n" for the others).

    ref_als.py CSV RANK LAMBDA ITERATIONS
"""
import sys

import numpy as np

path, rank = sys.argv[1], int(sys.argv[2])
lam, iterations = float(sys.argv[3]), int(sys.argv[4])
rows = np.loadtxt(path, delimiter=",", usecols=(0, 1, 2))
held = np.arange(len(rows)) % 5 == 4
train, test = rows[~held], rows[held]
users, u_idx = np.unique(train[:, 0], return_inverse=True)
items, i_idx = np.unique(train[:, 1], return_inverse=True)
r = train[:, 2]

rng = np.random.default_rng(0)
X = rng.standard_normal((len(users), rank))
X /= np.linalg.norm(X, axis=1, keepdims=True)
Y = np.zeros((len(items), rank))


def solve(own_idx, n_own, other_idx, other):
    out = np.zeros((n_own, rank))
    order = np.argsort(own_idx, kind="stable")
    bounds = np.searchsorted(own_idx[order], np.arange(n_own + 1))
    for k in range(n_own):
        sel = order[bounds[k]:bounds[k + 1]]
        F = other[other_idx[sel]]
        A = F.T @ F + lam * len(sel) * np.eye(rank)
        out[k] = np.linalg.solve(A, F.T @ r[sel])
    return out


for _ in range(iterations):
    Y = solve(i_idx, len(items), u_idx, X)
    X = solve(u_idx, len(users), i_idx, Y)

upos = {u: k for k, u in enumerate(users)}
ipos = {i: k for k, i in enumerate(items)}
err, unscored = [], 0
for u, i, rating in test:
    if u in upos and i in ipos:
        err.append(rating - X[upos[u]] @ Y[ipos[i]])
    else:
        unscored += 1
print("held_out_rmse\t%.6f" % np.sqrt(np.mean(np.square(err))))
print("unscored\t%d" % unscored)
