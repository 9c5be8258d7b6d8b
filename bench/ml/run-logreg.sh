#!/usr/bin/env bash
# Logistic regression epoch time on the breast cancer set replicated to
# 1M rows (bench/ml/logreg_bench.c: Ember's batch and averaging modes on
# local[1] and local[2]) next to scikit-learn's SGDClassifier, one epoch
# (bench/ml/logreg_sklearn.py); medians of RUNS timed runs after a warm-up,
# as a Markdown table. Run from the repository root:
#
#   bench/ml/run-logreg.sh [RUNS]
#
# EMBER_BENCH_BUILD: the build folder to use (default build-release; it is
# configured as Release when missing).
set -euo pipefail
runs=${1:-5}
rows=1000000
dir=${EMBER_BENCH_BUILD:-build-release}
py=/usr/bin/python3
csv=$(bash scripts/fetch-data.sh breast-cancer)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ember-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

[[ -d $dir ]] || cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release \
    -DEMBER_TESTS=OFF >&2
cmake --build "$dir" -j 2 --target ember_static >&2
. bench/static-libs.sh
# shellcheck disable=SC2086
# shellcheck disable=SC2046
cc -O2 -I include -o "$tmp/logreg_bench" bench/ml/logreg_bench.c \
    $(ember_static_libs "$dir")

median() {
    sort -g | awk '{ t[NR] = $1 }
        END { m = NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
              printf "%.3f", m }'
}

for master in 'local[1]' 'local[2]'; do
    "$tmp/logreg_bench" --master "$master" --rows $rows --runs "$runs" \
        "$csv" >"$tmp/ember-$master"
done
"$py" bench/ml/logreg_sklearn.py "$csv" $rows "$runs" >"$tmp/sk"

echo "| what ($rows rows x 30 features, one epoch) | median seconds |"
echo "| --- | --- |"
for master in 'local[1]' 'local[2]'; do
    for mode in batch averaging; do
        t=$(awk -v m=$mode '$1 == m { print $2 }' "$tmp/ember-$master" | median)
        echo "| Ember $mode, $master | $t |"
    done
done
echo "| scikit-learn SGDClassifier (1 thread) | $(cut -f2 "$tmp/sk" | median) |"
echo
echo "$(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $runs runs each"
