# Sourced by the integration tests that start a worker pool on loopback,
# after setting $build (the build directory). It gives:
#   $ember, $tmp (removed at exit, after every process started here and
#   every program run from a work directory under it is killed), HOME in
#   $tmp (the master creates ~/.ember/secret there), pids (killed at exit),
#   ok/bad and $fail, wait_for SECONDS COMMAND..., pool_pids,
#   start_master [PORT] ($master_pid, $port, $url) and
#   start_worker NAME [CORES [OPTIONS...]] (worker_pid[NAME]).
# EMBER_HEARTBEAT_TIMEOUT_MS (2000) and EMBER_EXECUTOR_WAIT_MS (5000) keep
# what the caller set.

ember=$build/cli/ember
tmp=$(mktemp -d)
export HOME=$tmp/home
export EMBER_HEARTBEAT_TIMEOUT_MS=${EMBER_HEARTBEAT_TIMEOUT_MS:-2000}
export EMBER_EXECUTOR_WAIT_MS=${EMBER_EXECUTOR_WAIT_MS:-5000}
unset EMBER_MASTER EMBER_SECRET_FILE
mkdir -p "$HOME"
pids=()
fail=0
declare -A worker_pid

# The processes running a program copied into a work directory under $tmp
# (drivers and executors).
pool_pids() {
    local p exe
    for p in /proc/[0-9]*; do
        exe=$(readlink "$p/exe" 2> /dev/null) || continue
        [[ $exe == "$tmp"/* ]] && echo "${p#/proc/}"
    done
}

cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2> /dev/null; done
    for p in $(pool_pids); do kill -9 "$p" 2> /dev/null; done
    wait 2> /dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

# Waits up to $1 seconds for the command to succeed.
wait_for() {
    local limit=$1
    shift
    for _ in $(seq $((limit * 10))); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}

start_master() { # [port]
    rm -f "$tmp/port"
    "$ember" master --port "${1:-0}" --port-file "$tmp/port" \
        2>> "$tmp/master.log" &
    master_pid=$!
    pids+=("$master_pid")
    wait_for 10 test -s "$tmp/port" ||
        { echo "master did not start"; cat "$tmp/master.log"; exit 1; }
    port=$(cat "$tmp/port")
    url=ember://127.0.0.1:$port
}

start_worker() { # name [cores [worker options...]]
    local name=$1 cores=${2:-1}
    shift $(($# < 2 ? $# : 2))
    mkdir -p "$tmp/$name"
    "$ember" worker --master "$url" --cores "$cores" --work-dir "$tmp/$name" \
        --id "$name" "$@" 2>> "$tmp/$name.log" &
    worker_pid[$name]=$!
    pids+=("$!")
    wait_for 10 grep -q "worker $name " "$tmp/master.log" ||
        { echo "worker $name did not register"; cat "$tmp/$name.log"; exit 1; }
}
