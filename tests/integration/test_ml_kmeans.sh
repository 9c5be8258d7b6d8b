#!/usr/bin/env bash
# examples/kmeans on scikit-learn's digits (1,797 x 64) against
# scikit-learn's KMeans (algorithm="lloyd", n_init=1, tol=0) from the same
# k-means++ centres (tests/integration/ref_kmeans.py): the cost of the
# final centres within 0.1% of scikit-learn's inertia, and the same output
# on local[1], local[2] and local[7]. Skips, saying why, when the digits
# cannot be fetched or scikit-learn cannot be installed.
set -euo pipefail
build=$1
. "$(dirname "$0")/ml_lib.sh"
km=$build/examples/kmeans

fetch digits digits
need_python 'import sklearn' python3-sklearn

fail=0
field() { awk -F '\t' -v k="$1" '$1 == k { print $2 }' "$2"; }
for k in 10 4; do
    "$py" "$here/ref_kmeans.py" "$digits" "$k" "$tmp/centers" >"$tmp/ref"
    for master in 'local[1]' 'local[2]' 'local[7]'; do
        if ! "$km" --master "$master" --partitions 4 --k "$k" \
            --centers "$tmp/centers" --epsilon -1 --iterations 1000 \
            "$digits" >"$tmp/ember-$master" 2>"$tmp/err"; then
            echo "FAIL kmeans k=$k $master: $(cat "$tmp/err")"
            exit 1
        fi
    done
    for master in 'local[2]' 'local[7]'; do
        if ! cmp -s "$tmp/ember-local[1]" "$tmp/ember-$master"; then
            echo "FAIL k=$k: $master differs from local[1]"
            fail=1
        fi
    done
    got=$(field cost "$tmp/ember-local[1]")
    want=$(field cost "$tmp/ref")
    if awk -v g="$got" -v w="$want" 'BEGIN { d = (g - w) / w; exit !(d < -0.001 || d > 0.001) }'
    then
        echo "FAIL k=$k: cost $got, scikit-learn's inertia $want"
        fail=1
    else
        echo "ok   k=$k: cost $got in $(field iterations "$tmp/ember-local[1]")" \
            "iterations, scikit-learn's $want in $(field iterations "$tmp/ref")"
    fi
done
exit $fail
