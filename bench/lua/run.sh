#!/usr/bin/env bash
# Lua functions against the C API on sc:range(N) (default 10 million):
# million records per second of Lua map/filter/reduce closures, of the
# native operators by name (ember.op.add), and of the same pipelines in C
# (bench/lua/native.c), on local[1] (per core) and local[2]. Best of RUNS
# (default 3). Prints a Markdown table for docs/BENCHMARKS.md.
#
#   bench/lua/run.sh [N]
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
n=${1:-10000000}
runs=${RUNS:-3}
build=build-release

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)" --target ember_cli ember_static \
    >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. bench/static-libs.sh
# shellcheck disable=SC2046
cc -O2 -I include bench/lua/native.c $(ember_static_libs "$build") \
    -o "$tmp/native"

echo "| master | pipeline | best s | M records/s |"
echo "| --- | --- | ---: | ---: |"
for m in 'local[1]' 'local[2]'; do
    "$build/cli/ember" run --master "$m" bench/lua/bench.lua "$n" "$runs"
    "$tmp/native" "$m" "$n" "$runs"
done | awk -F'\t' '{printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4}'
echo
echo "N = $n; $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
