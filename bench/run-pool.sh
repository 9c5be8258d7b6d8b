#!/usr/bin/env bash
# The worker pool's costs, on this machine, with real processes on
# loopback: a master and two workers of one core each (two cores in all,
# as local[2]).
#
#   1. task overhead: a job of 10,000 empty tasks (tests/integration/
#      pool_job empty), tasks per second, on the pool and on local[2];
#   2. latency of a tiny job, parallelize(1..10).count(), median of 200;
#   3. word count of the GCIDE text on the pool against local[2], median
#      wall time of RUNS runs each;
#   4. recovery: the same word count with one worker (and its executor)
#      killed halfway through, against the undisturbed median.
#
#   bench/run-pool.sh
#
# A Markdown table and the machine's description go to stdout (for
# docs/BENCHMARKS.md); progress to stderr. RUNS (default 5).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
runs=${RUNS:-5}
build=$root/build-release
log() { echo "bench: $*" >&2; }

input=$(bash scripts/fetch-data.sh gcide | tail -n 1)
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DEMBER_TESTS=ON > /dev/null
cmake --build "$build" -j2 --target ember_cli pool_job wordcount > /dev/null
ember=$build/cli/ember
job=$build/tests/pool_job
wc=$build/examples/wordcount

tmp=$(mktemp -d)
export HOME=$tmp/home
mkdir -p "$HOME"
unset EMBER_MASTER EMBER_SECRET_FILE
pids=()
trap 'kill -9 "${pids[@]}" 2> /dev/null || true; pkill -9 -f "$tmp/w" 2> /dev/null || true; wait 2> /dev/null || true; rm -rf "$tmp"' EXIT

"$ember" master --port 0 --port-file "$tmp/port" 2> "$tmp/master.log" &
pids+=("$!")
for _ in $(seq 100); do [[ -s $tmp/port ]] && break; sleep 0.1; done
url=ember://127.0.0.1:$(cat "$tmp/port")
declare -A wpid
for w in w1 w2; do
    mkdir -p "$tmp/$w"
    "$ember" worker --master "$url" --cores 1 --work-dir "$tmp/$w" --id "$w" \
        2> "$tmp/$w.log" &
    wpid[$w]=$!
    pids+=("$!")
done
for _ in $(seq 100); do
    [[ $(grep -c "registered" "$tmp/master.log") -ge 2 ]] && break
    sleep 0.1
done

median() { sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
calc() { awk "BEGIN { print $1 }"; }
now() { date +%s.%N; }

log "task overhead"
pool_tps=$(for _ in $(seq "$runs"); do "$job" --master "$url" empty 10000 | awk '{print $3}'; done | median)
local_tps=$(for _ in $(seq "$runs"); do "$job" --master 'local[2]' empty 10000 | awk '{print $3}'; done | median)
log "tiny job latency"
pool_lat=$("$job" --master "$url" tiny 200 | awk '{print $5}')
local_lat=$("$job" --master 'local[2]' tiny 200 | awk '{print $5}')

log "word count"
time_wc() { # master -> seconds
    local t0 t1
    t0=$(now)
    "$wc" --master "$1" --top 10 "$input" > "$tmp/out.$2"
    t1=$(now)
    calc "$t1 - $t0"
}
"$wc" --master 'local[2]' --top 10 "$input" > /dev/null # warm the page cache
pool_wc=$(for _ in $(seq "$runs"); do time_wc "$url" pool; done | median)
local_wc=$(for _ in $(seq "$runs"); do time_wc 'local[2]' local; done | median)
cmp -s "$tmp/out.pool" "$tmp/out.local" || { log "answers differ"; exit 1; }

log "recovery"
t0=$(now)
"$wc" --master "$url" --top 10 "$input" > "$tmp/out.rec" &
jp=$!
sleep "$(calc "$pool_wc / 2")"
kill -9 "${wpid[w2]}"
pkill -9 -f "$tmp/w2/" || true
wait "$jp"
t1=$(now)
rec=$(calc "$t1 - $t0")
cmp -s "$tmp/out.rec" "$tmp/out.local" || { log "recovered answer differs"; exit 1; }

mb=$(stat -c %s "$input" | awk '{printf "%.1f", $1 / 1048576}')
echo "Machine: $(nproc) vCPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(uname -sr); RUNS=$runs"
echo
echo "| measure | pool (2 workers x 1 core) | local[2] | ratio |"
echo "| --- | --- | --- | --- |"
printf "| empty tasks per second (10,000 tasks) | %.0f | %.0f | %.2f |\n" "$pool_tps" "$local_tps" "$(calc "$pool_tps / $local_tps")"
printf "| tiny job latency, median of 200 (ms) | %.2f | %.3f | |\n" "$(calc "$pool_lat / 1000")" "$(calc "$local_lat / 1000")"
printf "| word count, GCIDE %s MB (s) | %.2f | %.2f | %.2fx local throughput |\n" "$mb" "$pool_wc" "$local_wc" "$(calc "$local_wc / $pool_wc")"
printf "| word count with a worker killed halfway (s) | %.2f | | %.2fx the undisturbed time |\n" "$rec" "$(calc "$rec / $pool_wc")"
exit 0
