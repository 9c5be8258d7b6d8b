#!/usr/bin/env bash
# Sort of text lines: Ember's examples/sort (sortByKey, local[2], a memory
# budget) against LC_ALL=C sort --parallel=2 with the same buffer size, on
# N copies of the GCIDE text (25 copies: about 1 GB). Median of RUNS runs;
# checks the outputs are identical.
#
#   bench/run-sort.sh [COPIES [BUDGET]]      (defaults: 25 and 256m)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
copies=${1:-25}
budget=${2:-256m}
runs=${RUNS:-3}
input=$(bash scripts/fetch-data.sh "gcide-x$copies" | tail -n 1)
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DEMBER_TESTS=OFF \
    > /dev/null
cmake --build build-release -j2 > /dev/null
tmp=$(mktemp -d "$root/data-cache/sort-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
gnu_buffer=$(echo "$budget" | tr 'a-z' 'A-Z')

run_median() { # name, then the command; $tmp/out is removed before each run
    local name=$1
    shift
    for _ in $(seq "$runs"); do
        rm -rf "$tmp/out"
        /usr/bin/time -f '%e %M' -o "$tmp/t" "$@"
        cat "$tmp/t"
    done | sort -n | awk -v n="$runs" -v name="$name" \
        'NR == int((n + 1) / 2) { printf "%s %s %.1f\n", name, $1, $2 / 1024 }'
}

cat "$input" > /dev/null
{
    run_median ember build-release/examples/sort --master 'local[2]' \
        --memory "$budget" "$input" "$tmp/out"
    cat "$tmp/out"/part-* > "$tmp/ember.sorted"
    rm -rf "$tmp/out"
    run_median gnu-sort env LC_ALL=C sort --parallel=2 -S "$gnu_buffer" \
        -T "$tmp" "$input" -o "$tmp/out"
} > "$tmp/results"
cmp -s "$tmp/ember.sorted" "$tmp/out" ||
    { echo "MISMATCH: Ember's sort differs from GNU sort" >&2; exit 1; }
mb=$(stat -c %s "$input" | awk '{ printf "%.0f", $1 / 1e6 }')
gnu_s=$(awk '$1 == "gnu-sort" { print $2 }' "$tmp/results")
echo "### Sort, $(basename "$input") ($mb MB), budget $budget, 2 threads"
echo
echo "Median of $runs runs; outputs byte-identical."
echo
echo "| program | median wall s | MB/s | peak RSS MiB | time vs GNU sort |"
echo "| --- | ---: | ---: | ---: | ---: |"
awk -v g="$gnu_s" -v mb="$mb" \
    '{ printf "| %s | %.2f | %.0f | %s | %.2f |\n", $1, $2, mb / $2, $3, $2 / g }' \
    "$tmp/results"
echo
echo "$(sort --version | head -1); $(nproc) CPUs."
