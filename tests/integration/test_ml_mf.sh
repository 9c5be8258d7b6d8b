#!/usr/bin/env bash
# examples/als on MovieLens latest-small (scripts/fetch-data.sh movielens;
# every fifth rating held out) against a straightforward numpy ALS with the
# same rank, lambda and iterations (tests/integration/ref_als.py): Ember's
# held-out RMSE within 3% of the reference's, the same output on local[1],
# local[2] and local[7]; DSGD's output the same on local[1] and local[7]
# and its held-out RMSE within 10% of the reference ALS's. Skips, saying
# why, when the ratings cannot be fetched or numpy cannot be installed.
set -euo pipefail
build=$1
. "$(dirname "$0")/ml_lib.sh"
als=$build/examples/als

fetch ratings movielens
need_python 'import numpy' python3-numpy

rank=10 lambda=0.1 iterations=10
field() { awk -F '\t' -v k="$1" '$1 == k { print $2 }' "$2"; }
# run NAME MASTER ARGS...: examples/als into $tmp/NAME-MASTER
run() {
    local name=$1 master=$2
    shift 2
    if ! "$als" --master "$master" --partitions 4 --rank "$rank" \
        --lambda "$lambda" "$@" "$ratings" >"$tmp/$name-$master" \
        2>"$tmp/err"; then
        echo "FAIL $name $master: $(cat "$tmp/err")"
        exit 1
    fi
}
"$py" "$here/ref_als.py" "$ratings" "$rank" "$lambda" "$iterations" \
    >"$tmp/ref"
for master in 'local[1]' 'local[2]' 'local[7]'; do
    run als "$master" --iterations "$iterations" --seed 1
done
for master in 'local[1]' 'local[7]'; do
    run dsgd "$master" --dsgd --iterations 20 --lambda 0.05 --seed 1
done
fail=0
for other in als-local[2] als-local[7] dsgd-local[7]; do
    if ! cmp -s "$tmp/${other%-*}-local[1]" "$tmp/$other"; then
        echo "FAIL: $other differs from local[1]"
        fail=1
    fi
done
want=$(field held_out_rmse "$tmp/ref")
# check NAME TOLERANCE: the held-out RMSE of NAME within TOLERANCE of want
check() {
    local got
    got=$(field held_out_rmse "$tmp/$1-local[1]")
    if awk -v g="$got" -v w="$want" -v t="$2" \
        'BEGIN { d = (g - w) / w; exit !(d < -t || d > t) }'; then
        echo "FAIL $1: held-out RMSE $got, numpy ALS $want"
        fail=1
    else
        echo "ok   $1: held-out RMSE $got, numpy ALS $want" \
            "(unscored $(field unscored "$tmp/$1-local[1]"))"
    fi
}
check als 0.03
check dsgd 0.10
exit $fail
