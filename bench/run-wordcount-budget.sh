#!/usr/bin/env bash
# Word count with a memory budget of a tenth of the input against no
# budget (half of RAM), local[2], on N copies of GCIDE. Median of RUNS
# runs; checks both outputs are identical.
#
#   bench/run-wordcount-budget.sh [N]        (default 4: about 160 MB)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
copies=${1:-4}
runs=${RUNS:-5}
input=$(bash scripts/fetch-data.sh "gcide-x$copies" | tail -n 1)
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DEMBER_TESTS=OFF \
    > /dev/null
cmake --build build-release -j2 > /dev/null
bytes=$(stat -c %s "$input")
budget=$((bytes / 10))
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run_median() { # name, then wordcount's extra arguments
    local name=$1
    shift
    for _ in $(seq "$runs"); do
        /usr/bin/time -f '%e %M' -o "$tmp/t" build-release/examples/wordcount \
            --master 'local[2]' "$@" "$input" > "$tmp/$name.out"
        cat "$tmp/t"
    done | sort -n | awk -v n="$runs" -v name="$name" \
        'NR == int((n + 1) / 2) { printf "%s %s %.1f\n", name, $1, $2 / 1024 }'
}

cat "$input" > /dev/null
{
    run_median unlimited
    run_median budget --memory "$budget"
} > "$tmp/results"
cmp -s "$tmp/unlimited.out" "$tmp/budget.out" ||
    { echo "MISMATCH: the outputs differ" >&2; exit 1; }
base=$(awk '$1 == "unlimited" { print $2 }' "$tmp/results")
echo "### Word count under a memory budget, $(basename "$input") ($((bytes / 1000000)) MB), local[2]"
echo
echo "Median of $runs runs; outputs identical. Budget: $budget bytes (a tenth of the input)."
echo
echo "| memory | median wall s | peak RSS MiB | time vs unlimited |"
echo "| --- | ---: | ---: | ---: |"
awk -v b="$base" '{ printf "| %s | %.2f | %s | %.2f |\n", $1, $2, $3, $2 / b }' \
    "$tmp/results"
