#!/usr/bin/env bash
# The learning library's examples on real data (scripts/fetch-data.sh), each
# C program next to its Lua script in examples/lua/, against independent
# expectations:
#   logistic_regression (breast cancer): held-out accuracy within 2 points
#     of scikit-learn's LogisticRegression on the same split;
#   linear_regression (iris: petal width from the other measurements):
#     held-out RMSE within 1% of numpy's least squares on the same split;
#   mlp (digits): held-out accuracy above scikit-learn's LogisticRegression
#     on the same split;
#   kmeans (digits, the first ten rows as centres), pagerank (WormNet), als
#     and its DSGD mode (MovieLens): the Lua script prints what the C
#     program does (numbers within 1e-9 relative), and ALS and DSGD's
#     held-out RMSE is below that of the training ratings' mean.
# The C programs print the same on local[1], local[2] and local[7] (the
# longer runs only on local[7]; test_ml_mf.sh sweeps ALS), and the Lua
# scripts, on local[2], the same as the C programs (exactly where both see
# the points in the same order). Skips, saying why,
# when a data set cannot be fetched; the scikit-learn and numpy references
# are skipped with a note when Python cannot import them.
set -euo pipefail
build=$1
. "$(dirname "$0")/ml_lib.sh"
ex=$build/examples
lua=$here/../../examples/lua
ember=$build/cli/ember
export LC_ALL=C

fetch digits digits
fetch cancer breast-cancer
fetch iris iris
fetch worm wormnet
fetch ratings movielens

fail=0
field() { awk -F '\t' -v k="$1" '$1 == k { print $2 }' "$2"; }
has_py() { "$py" -c "$1" 2>/dev/null; }
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

# run NAME MASTERS C-ARGS... -- LUA-ARGS...: the C program on each master
# (outputs must agree) into $tmp/NAME.c, the Lua script on local[2] into
# $tmp/NAME.lua.
run() {
    local name=$1 masters=$2 cargs=() first=
    shift 2
    while [[ $1 != -- ]]; do cargs+=("$1"); shift; done
    shift
    for master in $masters; do
        if ! "$ex/${cargs[0]}" --master "$master" "${cargs[@]:1}" \
            >"$tmp/$name.$master" 2>"$tmp/err"; then
            bad "$name $master: $(cat "$tmp/err")"
            exit 1
        fi
        first=${first:-$tmp/$name.$master}
        cmp -s "$first" "$tmp/$name.$master" ||
            bad "$name: $master differs from ${first##*.}"
    done
    cp "$first" "$tmp/$name.c"
    if ! "$ember" run --master 'local[2]' "$lua/$1" "${@:2}" \
        >"$tmp/$name.lua" 2>"$tmp/err"; then
        bad "$name.lua: $(cat "$tmp/err")"
        exit 1
    fi
}
# same NAME: the C and Lua outputs are identical
same() {
    if cmp -s "$tmp/$1.c" "$tmp/$1.lua"; then
        ok "$1: the Lua script prints what the C program does"
    else
        bad "$1: the Lua script's output differs"
        diff "$tmp/$1.c" "$tmp/$1.lua" | sed -n 1,6p
    fi
}
# close NAME: the same lines, numbers equal within 1e-9 relative
close() {
    if awk -F '[\t,]' 'NR == FNR { a[FNR] = $0; n = FNR; next }
        { split(a[FNR], x, /[\t,]/); if (NF != length(x)) exit 1
          for (i = 1; i <= NF; i++) {
              if ($i == x[i]) continue
              d = $i - x[i]; m = x[i] < 0 ? -x[i] : x[i]
              if ((d < 0 ? -d : d) > 1e-9 * (m > 1 ? m : 1)) exit 1 } }
        END { exit FNR != n }' "$tmp/$1.c" "$tmp/$1.lua"; then
        ok "$1: the Lua script's numbers equal the C program's"
    else
        bad "$1: the Lua script's output differs"
        diff "$tmp/$1.c" "$tmp/$1.lua" | sed -n 1,6p
    fi
}
all='local[1] local[2] local[7]'

# ---- logistic regression ----
run logreg "$all" logistic_regression "$cancer" -- \
    logistic_regression.lua "$cancer"
same logreg
ref_logreg='
import sys, numpy as np
from sklearn.linear_model import LogisticRegression
d = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1)
X = (d[:, :-1] - d[:, :-1].mean(0)) / d[:, :-1].std(0)
y = d[:, -1]; test = np.arange(len(y)) % 5 == 0
m = LogisticRegression(max_iter=5000).fit(X[~test], y[~test])
print((m.predict(X[test]) == y[test]).mean())'
if has_py 'import sklearn'; then
    want=$("$py" -c "$ref_logreg" "$cancer")
    got=$(field held_out_accuracy "$tmp/logreg.c")
    if awk -v g="$got" -v w="$want" 'BEGIN { exit !(g >= w - 0.02) }'; then
        ok "logistic_regression: held-out accuracy $got, scikit-learn's $want"
    else
        bad "logistic_regression: held-out accuracy $got, scikit-learn's $want"
    fi
else
    echo "note: no scikit-learn; logistic_regression not compared with it"
fi

# ---- linear regression ----
run linreg "$all" linear_regression "$iris" -- linear_regression.lua "$iris"
same linreg
if has_py 'import numpy'; then
    want=$("$py" -c '
import sys, numpy as np
d = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1)
X = np.c_[d[:, :3], np.ones(len(d))]; y = d[:, 3]
test = np.arange(len(y)) % 5 == 0
w = np.linalg.lstsq(X[~test], y[~test], rcond=None)[0]
print(np.sqrt(np.mean((X[test] @ w - y[test]) ** 2)))' "$iris")
    got=$(field held_out_rmse "$tmp/linreg.c")
    if awk -v g="$got" -v w="$want" 'BEGIN { exit !(g <= 1.01 * w) }'; then
        ok "linear_regression: held-out RMSE $got, least squares' $want"
    else
        bad "linear_regression: held-out RMSE $got, least squares' $want"
    fi
else
    echo "note: no numpy; linear_regression not compared with least squares"
fi

# ---- MLP ----
run mlp 'local[7]' mlp "$digits" -- mlp.lua "$digits"
same mlp
if has_py 'import sklearn'; then
    want=$("$py" -c '
import sys, numpy as np
from sklearn.linear_model import LogisticRegression
d = np.loadtxt(sys.argv[1], delimiter=",")
X = d[:, :-1] / 16; y = d[:, -1]; test = np.arange(len(y)) % 5 == 0
m = LogisticRegression(max_iter=5000).fit(X[~test], y[~test])
print((m.predict(X[test]) == y[test]).mean())' "$digits")
    got=$(field held_out_accuracy "$tmp/mlp.c")
    if awk -v g="$got" -v w="$want" 'BEGIN { exit !(g > w) }'; then
        ok "mlp: held-out accuracy $got, logistic regression's $want"
    else
        bad "mlp: held-out accuracy $got, not above logistic regression's $want"
    fi
else
    echo "note: no scikit-learn; mlp not compared with logistic regression"
fi

# ---- k-means and PageRank ----
head -n 10 "$digits" | cut -d, -f1-64 >"$tmp/centers"
run kmeans "$all" kmeans --centers "$tmp/centers" --k 10 "$digits" -- \
    kmeans.lua "$digits" 10 "$tmp/centers"
close kmeans
run pagerank "$all" pagerank --partitions 4 --top 50 "$worm" -- pagerank.lua "$worm" 50
close pagerank

# ---- ALS and DSGD ----
mean_rmse=$(awk -F, 'NR % 5 != 0 { s += $3; n++; next }
    { t[++m] = $3 } END { mu = s / n; for (i = 1; i <= m; i++)
    e += (t[i] - mu) ^ 2; print sqrt(e / m) }' "$ratings")
run als 'local[7]' als --rank 5 --iterations 3 --lambda 0.1 \
    --partitions 3 "$ratings" -- als.lua "$ratings" als 5 3 0.1 3
same als
run dsgd 'local[7]' als --dsgd --rank 5 --iterations 5 \
    --partitions 3 "$ratings" -- als.lua "$ratings" dsgd 5 5 0.05 3
same dsgd
for m in als dsgd; do
    got=$(field held_out_rmse "$tmp/$m.c")
    if awk -v g="$got" -v w="$mean_rmse" 'BEGIN { exit !(g < w) }'; then
        ok "$m: held-out RMSE $got, the training mean's $mean_rmse"
    else
        bad "$m: held-out RMSE $got, not below the training mean's $mean_rmse"
    fi
done
exit $fail
