#!/usr/bin/env bash
# One Lloyd iteration of k-means (k = 10) on the digits replicated to 1M
# points of 64 features: Ember on local[2], points cached
# (bench/ml/kmeans_bench.c), next to scikit-learn's KMeans (lloyd,
# n_init=1, tol=0) on 2 threads (bench/ml/kmeans_sklearn.py), both from the
# same k-means++ centres (scikit-learn's, seed 0, on the 1,797 digits).
# Each run times a fit of 1 iteration and one of 1 + ITERS; the
# difference over ITERS is one iteration without the per-fit overhead.
# Medians of RUNS runs after a warm-up, as a Markdown table, then the
# cross-check: the cost of the centres after 1 and after 1 + ITERS
# iterations on both sides (must agree within 0.1%; exit 1 otherwise).
# Run from the repository root:
#
#   bench/ml/run-kmeans.sh [RUNS] [ITERS]
#
# EMBER_BENCH_BUILD: the build folder to use (default build-release; it is
# configured as Release when missing).
set -euo pipefail
runs=${1:-5}
iters=${2:-10}
rows=1000000
dir=${EMBER_BENCH_BUILD:-build-release}
py=/usr/bin/python3
csv=$(bash scripts/fetch-data.sh digits)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ember-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

[[ -d $dir ]] || cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release \
    -DEMBER_TESTS=OFF >&2
cmake --build "$dir" -j 2 --target ember_static >&2
. bench/static-libs.sh
# shellcheck disable=SC2086
# shellcheck disable=SC2046
cc -O2 -I include -o "$tmp/kmeans_bench" bench/ml/kmeans_bench.c \
    $(ember_static_libs "$dir")

median() {
    sort -g | awk '{ t[NR] = $1 }
        END { m = NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
              printf "%.4f", m }'
}
field() { awk -F '\t' -v k="$1" '$1 == k { print $2 }' "$2"; }

"$py" bench/ml/kmeans_sklearn.py --centers "$csv" 10 "$tmp/centers"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$tmp/kmeans_bench" --master 'local[2]' --rows $rows --runs "$runs" \
    --iters "$iters" --centers "$tmp/centers" "$csv" >"$tmp/ember"
OMP_NUM_THREADS=2 "$py" bench/ml/kmeans_sklearn.py "$csv" $rows "$runs" \
    "$iters" 2 "$tmp/centers" >"$tmp/sk"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

echo "| what ($rows points x 64, k = 10) | fit, 1 iteration (s) | fit, $((iters + 1)) iterations (s) | one iteration (s) |"
echo "| --- | ---: | ---: | ---: |"
for side in ember sk; do
    name="Ember em_kmeans_train, local[2]"
    [[ $side == sk ]] && name="scikit-learn KMeans lloyd, 2 threads"
    echo "| $name | $(field one "$tmp/$side" | median) |" \
        "$(field many "$tmp/$side" | median) |" \
        "$(field iter "$tmp/$side" | median) |"
done
echo
e=$(field iter "$tmp/ember" | median)
s=$(field iter "$tmp/sk" | median)
echo "one iteration: Ember / scikit-learn = $(awk -v e="$e" -v s="$s" 'BEGIN { printf "%.2f", e / s }')"
ok=0
for c in cost1 costmany; do
    ce=$(field $c "$tmp/ember")
    cs=$(field $c "$tmp/sk")
    rel=$(awk -v e="$ce" -v s="$cs" 'BEGIN { d = (e - s) / s; printf "%.2e", d < 0 ? -d : d }')
    echo "$c: Ember $ce, scikit-learn $cs, relative difference $rel"
    awk -v r="$rel" 'BEGIN { exit !(r > 0.001) }' && ok=1
done
echo "$(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $runs runs each"
exit $ok
