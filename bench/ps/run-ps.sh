#!/usr/bin/env bash
# Parameter-server push/pull throughput (keys/s, batches of 100 keys of
# dim 8 from 4 tasks) and the load per shard under a Zipfian key
# distribution before and after em_ps_rebalance (bench/ps/ps_bench.lua),
# on local[2] and on a pool of 2 workers (1 core each) on loopback.
# Medians of RUNS runs, as a Markdown table; exits 1 if a run's sums are
# wrong. Run from the repository root:
#
#   bench/ps/run-ps.sh [RUNS] [BATCHES]
#
# EMBER_BENCH_BUILD: the build folder to use (default build-release; it is
# configured as Release when missing).
set -euo pipefail
runs=${1:-5}
batches=${2:-200}
dir=${EMBER_BENCH_BUILD:-build-release}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ember-bench.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2> /dev/null || true; done
    pkill -9 -f "$tmp/w" 2> /dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

[[ -d $dir ]] || cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release \
    -DEMBER_TESTS=OFF >&2
cmake --build "$dir" -j 2 --target ember_cli >&2
ember=$dir/cli/ember

# the pool, with a secret of its own
export HOME=$tmp/home
mkdir -p "$HOME"
"$ember" master --port 0 --port-file "$tmp/port" 2> "$tmp/master.log" &
pids+=("$!")
disown # killed at exit without a job notice
for _ in $(seq 100); do [[ -s $tmp/port ]] && break; sleep 0.1; done
url=ember://127.0.0.1:$(cat "$tmp/port")
for w in w1 w2; do
    mkdir -p "$tmp/$w"
    "$ember" worker --master "$url" --cores 1 --work-dir "$tmp/$w" --id $w \
        2> "$tmp/$w.log" &
    pids+=("$!")
    disown
done
sleep 1

median() {
    sort -g | awk '{ t[NR] = $1 }
        END { m = NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
              printf "%.3f", m }'
}
field() { awk -F '\t' -v k="$1" '$1 == k { print $2 }' "$2"; }

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for m in 'local[2]' "$url"; do
    out=$tmp/$(echo "$m" | tr -c 'a-z0-9' _)
    for _ in $(seq "$runs"); do
        "$ember" run --master "$m" bench/ps/ps_bench.lua "$batches" >> "$out"
    done
    if grep -q "^check	bad" "$out"; then
        echo "wrong sums on $m" >&2
        exit 1
    fi
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

echo "| where | push (keys/s) | pull (keys/s) | Zipf max/mean load, before | after rebalance(16) | shard requests (keys), before; after |"
echo "| --- | ---: | ---: | ---: | ---: | --- |"
for m in 'local[2]' "$url"; do
    out=$tmp/$(echo "$m" | tr -c 'a-z0-9' _)
    name=$m
    [[ $m == "$url" ]] && name="pool, 2 workers"
    echo "| $name | $(field push "$out" | median | cut -d. -f1) |" \
        "$(field pull "$out" | median | cut -d. -f1) |" \
        "$(field zipf_before "$out" | median) |" \
        "$(field zipf_after "$out" | median) |" \
        "$(awk -F '\t' '$1 == "zipf_before" { b = $3 } $1 == "zipf_after" { a = $3 } END { print b "; " a }' "$out") |"
done
