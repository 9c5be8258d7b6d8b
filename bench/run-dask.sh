#!/usr/bin/env bash
# Word count: Ember local[2] against Dask (Debian's python3-dask, a bag of
# lines with frequencies()) with 2 workers, both of Dask's schedulers, on
# GCIDE (x N copies). Median of RUNS runs; checks the outputs agree.
#
#   bench/run-dask.sh [N]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
copies=${1:-1}
runs=${RUNS:-5}
if ! /usr/bin/python3 -c 'import dask.bag' 2>/dev/null; then
    sudo=""
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    $sudo apt-get install -y --no-install-recommends python3-dask
fi
if [ "$copies" = 1 ]; then
    input=$(bash scripts/fetch-data.sh gcide | tail -n 1)
else
    input=$(bash scripts/fetch-data.sh "gcide-x$copies" | tail -n 1)
fi
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DEMBER_TESTS=OFF \
    > /dev/null
cmake --build build-release -j2 > /dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# median NAME CMD...: runs the command RUNS times, prints the median time
median() {
    local name=$1
    shift
    for _ in $(seq "$runs"); do
        /usr/bin/time -f '%e %M' -o "$tmp/t" "$@" > "$tmp/$name.out"
        cat "$tmp/t"
    done | sort -n | awk -v n="$runs" -v name="$name" \
        'NR == int((n + 1) / 2) { printf "%s %s %.1f\n", name, $1, $2 / 1024 }'
}

cat "$input" > /dev/null
{
    median ember build-release/examples/wordcount --master 'local[2]' "$input"
    median dask-processes /usr/bin/python3 bench/wc_dask.py processes 2 "$input"
    median dask-threads /usr/bin/python3 bench/wc_dask.py threads 2 "$input"
} > "$tmp/results"
for name in dask-processes dask-threads; do
    cmp -s "$tmp/ember.out" "$tmp/$name.out" ||
        { echo "MISMATCH: $name's output differs from Ember's" >&2; exit 1; }
done
mb=$(stat -c %s "$input" | awk '{ printf "%.1f", $1 / 1e6 }')
ember_s=$(awk '$1 == "ember" { print $2 }' "$tmp/results")
echo "### Word count, Ember vs Dask, $(basename "$input") ($mb MB), 2 workers"
echo
echo "Median of $runs runs; outputs identical."
echo
echo "| program | median wall s | peak RSS MiB | time vs Ember local[2] |"
echo "| --- | ---: | ---: | ---: |"
awk -v e="$ember_s" '{ printf "| %s | %.2f | %s | %.1f |\n", $1, $2, $3, $2 / e }' \
    "$tmp/results"
echo
echo "Dask $(/usr/bin/python3 -c 'import dask; print(dask.__version__)'), Python $(/usr/bin/python3 -c 'import platform; print(platform.python_version())'); $(nproc) CPUs."
