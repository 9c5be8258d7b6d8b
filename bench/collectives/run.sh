#!/usr/bin/env bash
# Allreduce on the worker pool against OpenMPI's MPI_Allreduce, on this
# machine, with real processes on loopback: a master and M workers of one
# core each (M = 2, 3, 4), a barrier stage of M tasks
# (tests/integration/barrier_job time) summing a vector of K doubles,
# ring and tree, for vectors of 1 KB to 100 MB; and mpi_allreduce.c under
# `mpirun -np M` on the same sizes, with OpenMPI's defaults (shared
# memory between the ranks of one host) and over TCP on loopback as the
# pool (--mca btl tcp,self). Each program checks its sums. Times
# are the median over the ranks of each rank's median per call (each call
# after a barrier), and the median of RUNS runs of that; bytes are what
# the busiest task sent per call, against the ring's 2(M-1)K/M doubles.
#
#   bench/collectives/run.sh
#
# A Markdown table goes to stdout (for docs/BENCHMARKS.md), progress to
# stderr. RUNS (default 3); SIZES (bytes, default 1 KB to 100 MB); POOLS
# (default "2 3 4"); BUILD: a built tree to use as is (default: configure
# and build build-release). Installs Debian's openmpi-bin and
# libopenmpi-dev when mpicc is missing. MALLOC_CONF, when set (say
# oversize_threshold:0), reaches the pool's processes.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
runs=${RUNS:-3}
sizes=${SIZES:-"1024 10240 102400 1048576 10485760 104857600"}
pools=${POOLS:-"2 3 4"}
log() { echo "bench: $*" >&2; }

if ! command -v mpicc > /dev/null || ! command -v mpirun > /dev/null; then
    log "installing openmpi-bin libopenmpi-dev"
    apt-get install -y -q openmpi-bin libopenmpi-dev > /dev/null
fi
if [[ -n ${BUILD:-} ]]; then
    build=$BUILD
else
    build=$root/build-release
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release > /dev/null
    cmake --build "$build" -j2 --target ember_cli barrier_job > /dev/null
fi
ember=$build/cli/ember
job=$build/tests/barrier_job

tmp=$(mktemp -d)
mpicc -O2 -o "$tmp/mpi_allreduce" bench/collectives/mpi_allreduce.c
export HOME=$tmp/home
export EMBER_BARRIER_TIMEOUT_MS=600000
mkdir -p "$HOME"
unset EMBER_MASTER EMBER_SECRET_FILE
pids=()
cleanup() {
    kill -9 "${pids[@]}" 2> /dev/null || true
    for p in /proc/[0-9]*; do
        readlink "$p/exe" 2> /dev/null | grep -q "^$tmp/" && kill -9 "${p#/proc/}" 2> /dev/null
    done
    wait 2> /dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# starts a master and $1 one-core workers; sets url
start_pool() {
    "$ember" master --port 0 --port-file "$tmp/port" 2> "$tmp/master.log" &
    pids+=("$!")
    for _ in $(seq 100); do [[ -s $tmp/port ]] && break; sleep 0.1; done
    url=ember://127.0.0.1:$(cat "$tmp/port")
    for w in $(seq "$1"); do
        mkdir -p "$tmp/w$w"
        "$ember" worker --master "$url" --cores 1 --work-dir "$tmp/w$w" \
            --id "w$w" 2> "$tmp/w$w.log" &
        pids+=("$!")
    done
    for _ in $(seq 100); do
        [[ $(grep -c "worker w" "$tmp/master.log" || true) -ge $1 ]] && break
        sleep 0.1
    done
}

stop_pool() {
    kill -9 "${pids[@]}" 2> /dev/null || true
    for p in /proc/[0-9]*; do
        readlink "$p/exe" 2> /dev/null | grep -q "^$tmp/w" && kill -9 "${p#/proc/}" 2> /dev/null
    done
    wait 2> /dev/null || true
    pids=()
    rm -f "$tmp/port"
}

reps_for() { (( $1 >= 10485760 )) && echo 3 || echo 9; }

echo "| workers | vector | ring s | tree s | MPI s | MPI tcp s | ring / MPI | ring / MPI tcp | tree / MPI | ring bytes per worker | 2(m-1)k/m x 8 bytes | bytes / bound |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for m in $pools; do
    start_pool "$m"
    for size in $sizes; do
        k=$((size / 8))
        reps=$(reps_for "$size")
        declare -A secs=() bytes=()
        for algo in ring tree; do
            : > "$tmp/times"
            for _ in $(seq "$runs"); do
                log "m=$m $size bytes $algo"
                EMBER_EXECUTOR_WAIT_MS=10000 "$job" --master "$url" time "$m" "$k" "$algo" "$reps" > "$tmp/out"
                awk '/^seconds/ { print $2 }' "$tmp/out" >> "$tmp/times"
                bytes[$algo]=$(awk '/^bytes/ { print $2 }' "$tmp/out")
            done
            secs[$algo]=$(median < "$tmp/times")
        done
        for btl in default tcp; do
            : > "$tmp/times"
            for _ in $(seq "$runs"); do
                log "m=$m $size bytes MPI $btl"
                mpirun --oversubscribe --allow-run-as-root -np "$m" \
                    $([[ $btl = tcp ]] && echo --mca btl tcp,self --mca btl_tcp_if_include lo) \
                    "$tmp/mpi_allreduce" "$k" "$reps" | awk '/^seconds/ { print $2 }' >> "$tmp/times"
            done
            secs[mpi_$btl]=$(median < "$tmp/times")
        done
        awk -v m="$m" -v size="$size" -v k="$k" -v r="${secs[ring]}" -v t="${secs[tree]}" \
            -v mpi="${secs[mpi_default]}" -v tcp="${secs[mpi_tcp]}" -v rb="${bytes[ring]}" 'BEGIN {
            bound = 2 * (m - 1) * k / m * 8
            if (size >= 1048576) label = size / 1048576 " MB"; else label = size / 1024 " KB"
            printf "| %d | %s | %.6f | %.6f | %.6f | %.6f | %.2f | %.2f | %.2f | %d | %d | %.3f |\n",
                m, label, r, t, mpi, tcp, r / mpi, r / tcp, t / mpi, rb, bound, rb / bound }'
    done
    stop_pool
done
echo
echo "<!-- $(nproc) vCPUs, $(uname -sr), $(mpirun --version 2>&1 | head -1) -->"
