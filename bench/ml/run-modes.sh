#!/usr/bin/env bash
# Time to a fixed training loss for logistic regression in every mode
# (batch, averaging, ipm, hogwild, allreduce, ps) on the breast cancer set
# (standardized) replicated to ROWS rows, and on the fortunes' topics
# computers and politics as sparse hashed text (2^18 features,
# bench/ml/fortunes_libsvm.py) (bench/ml/modes_bench.c: per mode the fewest
# iterations of a ladder reaching mean training loss TARGET, or
# SPARSE_TARGET, then RUNS timed trainings of that many; a ladder stops at a
# training over 120 s, or 10 s on the sparse set), on local[2] and on a pool
# of 2 one-core workers it starts on loopback; medians as Markdown tables.
# Run from the repository root:
#
#   bench/ml/run-modes.sh [RUNS [ROWS [TARGET [SPARSE_TARGET]]]]
#
# EMBER_BENCH_BUILD: the build folder to use (default build-release; it is
# configured as Release when missing).
set -euo pipefail
runs=${1:-5}
rows=${2:-20000}
target=${3:-0.08}
sparse_target=${4:-0.1}
dir=${EMBER_BENCH_BUILD:-build-release}
py=/usr/bin/python3
csv=$(bash scripts/fetch-data.sh breast-cancer)
fortunes=$(bash scripts/fetch-data.sh fortunes)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ember-bench.XXXXXX")
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2> /dev/null; done
    for p in /proc/[0-9]*; do # executors started from the work dirs
        readlink "$p/exe" 2> /dev/null | grep -q "^$tmp/" && kill -9 "${p#/proc/}"
    done
    wait 2> /dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

[[ -d $dir ]] || cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release \
    -DEMBER_TESTS=OFF >&2
cmake --build "$dir" -j 2 --target ember_static ember_cli >&2
. bench/static-libs.sh
# shellcheck disable=SC2046
cc -O2 -I include -o "$tmp/modes_bench" bench/ml/modes_bench.c \
    $(ember_static_libs "$dir")

"$py" bench/ml/fortunes_libsvm.py "$fortunes" computers politics \
    > "$tmp/fortunes.libsvm"

# both data sets on a master: into $tmp/dense-NAME and $tmp/sparse-NAME
run_both() { # name, master
    "$tmp/modes_bench" --master "$2" --rows "$rows" --runs "$runs" \
        --target "$target" --cap 120 "$csv" > "$tmp/dense-$1"
    "$tmp/modes_bench" --master "$2" --rows 0 --runs "$runs" \
        --target "$sparse_target" --cap 10 --libsvm 262144 \
        "$tmp/fortunes.libsvm" > "$tmp/sparse-$1"
}
run_both local 'local[2]'

export HOME=$tmp/home EMBER_HEARTBEAT_TIMEOUT_MS=5000
unset EMBER_MASTER EMBER_SECRET_FILE
mkdir -p "$HOME"
ember=$dir/cli/ember
"$ember" master --port 0 --port-file "$tmp/port" 2>> "$tmp/master.log" &
pids+=("$!")
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
url=ember://127.0.0.1:$(cat "$tmp/port")
for w in w1 w2; do
    mkdir -p "$tmp/$w"
    "$ember" worker --master "$url" --cores 1 --work-dir "$tmp/$w" --id "$w" \
        2>> "$tmp/$w.log" &
    pids+=("$!")
    for _ in $(seq 100); do
        grep -q "worker $w " "$tmp/master.log" && break
        sleep 0.1
    done
done
run_both pool "$url"

# "iterations | median seconds" of a mode in a result file
summary() { # file mode
    local it
    it=$(awk -F '\t' -v m="$2" '$1 == m { print $2; exit }' "$1")
    if [ "$it" = - ]; then
        awk -F '\t' -v m="$2" '$1 == m { printf "not reached (loss %s) | -", $3 }' "$1"
        return
    fi
    awk -F '\t' -v m="$2" '$1 == m { print $4 }' "$1" | sort -g |
        awk -v it="$it" '{ t[NR] = $1 }
            END { m = NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
                  printf "%s | %.3f", it, m }'
}

table() { # kind (dense or sparse), title
    echo "$2; median of $runs runs ($(nproc) vCPUs)"
    echo
    echo "| mode | local[2] iterations | local[2] s | pool of 2 iterations | pool of 2 s |"
    echo "| --- | --- | --- | --- | --- |"
    for m in batch averaging ipm hogwild allreduce ps; do
        echo "| $m | $(summary "$tmp/$1-local" "$m") | $(summary "$tmp/$1-pool" "$m") |"
    done
    echo
}
table dense "Breast cancer x $rows rows, time to mean training loss <= $target"
table sparse "Fortunes computers/politics hashed to 2^18 features, time to mean training loss <= $sparse_target"
