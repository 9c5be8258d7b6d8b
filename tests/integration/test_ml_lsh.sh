#!/usr/bin/env bash
# examples/lsh_neighbors on scikit-learn's digits (1,797 images of 64
# pixels; every fifth a query, the rest indexed): the recall at 10 of the
# approximate neighbours for signatures of 16 to 256 bits, recomputed
# against scikit-learn's exact NearestNeighbors (cosine, brute force) by
# tests/integration/ref_lsh.py, equal to what the example prints, at least
# 0.9 for the default 64 bits, and the same output on local[1], local[2] and
# local[7]. Skips, saying why, when the digits cannot be fetched or
# scikit-learn cannot be installed.
set -euo pipefail
build=$1
. "$(dirname "$0")/ml_lib.sh"
lsh=$build/examples/lsh_neighbors

fetch digits digits
need_python 'import sklearn' python3-sklearn

fail=0
for master in 'local[1]' 'local[2]' 'local[7]'; do
    if ! "$lsh" --master "$master" --print "$digits" >"$tmp/out-$master" \
        2>"$tmp/err"; then
        echo "FAIL lsh_neighbors $master: $(cat "$tmp/err")"
        exit 1
    fi
    if ! cmp -s "$tmp/out-local[1]" "$tmp/out-$master"; then
        echo "FAIL $master differs from local[1]"
        fail=1
    fi
done
"$py" "$here/ref_lsh.py" "$digits" "$tmp/out-local[1]" >"$tmp/recall"
[[ $(wc -l <"$tmp/recall") == 5 ]] || { echo "FAIL: not 5 lengths"; exit 1; }
while IFS=$'\t' read -r bits recall printed; do
    if [[ $recall != "$printed" ]]; then
        echo "FAIL $bits bits: recall $recall, the example printed $printed"
        fail=1
    elif [[ $bits == 64 ]] &&
        awk -v r="$recall" 'BEGIN { exit !(r < 0.9) }'; then
        echo "FAIL $bits bits (the default): recall $recall below 0.9"
        fail=1
    else
        echo "ok   $bits bits: recall at 10 $recall"
    fi
done <"$tmp/recall"
exit $fail
