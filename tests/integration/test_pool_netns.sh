#!/usr/bin/env bash
# The worker pool across network namespaces: the master and the driver in
# one namespace, two workers in two others, joined by a bridge. Mid-job,
# one worker's link is cut (its veth set down): the master and the driver
# must declare it lost after the heartbeat timeout, and the job must finish
# on the other worker with the local-mode answer. Skipped, with the reason,
# where network namespaces cannot be made (not root, no CAP_SYS_ADMIN, no
# `ip`).
#
#   tests/integration/test_pool_netns.sh BUILD_DIR
set -uo pipefail
build=$1
ember=$build/cli/ember
job=$build/tests/pool_job
tag=em$$
M=$tag-m W1=$tag-w1 W2=$tag-w2

if ! command -v ip > /dev/null; then
    echo "skip: the ip command (iproute2) is not installed"; exit 0
fi
if ! ip netns add "$tag-probe" 2> /dev/null; then
    echo "skip: cannot create network namespaces here (ip netns add needs root with CAP_SYS_ADMIN)"
    exit 0
fi
ip netns del "$tag-probe"

tmp=$(mktemp -d)
export HOME=$tmp/home
export EMBER_HEARTBEAT_TIMEOUT_MS=2000
unset EMBER_MASTER EMBER_SECRET_FILE
mkdir -p "$HOME"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2> /dev/null; done
    for p in /proc/[0-9]*; do # executors started from the work dirs
        readlink "$p/exe" 2> /dev/null | grep -q "^$tmp/" && kill -9 "${p#/proc/}"
    done
    wait 2> /dev/null
    for n in "$M" "$W1" "$W2"; do ip netns del "$n" 2> /dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT

# the bridge in M; a veth to each worker's namespace
ip netns add "$M" && ip netns add "$W1" && ip netns add "$W2" || exit 1
ip -n "$M" link set lo up
ip -n "$M" link add br0 type bridge
ip -n "$M" addr add 10.77.0.1/24 dev br0
ip -n "$M" link set br0 up
i=2
for w in "$W1" "$W2"; do
    ip -n "$M" link add "v$i" type veth peer name eth0 netns "$w"
    ip -n "$M" link set "v$i" master br0
    ip -n "$M" link set "v$i" up
    ip -n "$w" link set lo up
    ip -n "$w" addr add "10.77.0.$i/24" dev eth0
    ip -n "$w" link set eth0 up
    i=$((i + 1))
done

wait_for() {
    local limit=$1; shift
    for _ in $(seq $((limit * 10))); do "$@" && return 0; sleep 0.1; done
    return 1
}

ip netns exec "$M" "$ember" master --host 10.77.0.1 --port 0 \
    --port-file "$tmp/port" 2> "$tmp/master.log" &
pids+=("$!")
wait_for 10 test -s "$tmp/port" || { echo "FAIL master did not start"; cat "$tmp/master.log"; exit 1; }
url=ember://10.77.0.1:$(cat "$tmp/port")
i=2
for w in w1 w2; do
    ns=$tag-$w
    mkdir -p "$tmp/$w"
    ip netns exec "$ns" "$ember" worker --master "$url" --host "10.77.0.$i" \
        --cores 2 --work-dir "$tmp/$w" --id "$w" 2> "$tmp/$w.log" &
    pids+=("$!")
    i=$((i + 1))
done
wait_for 15 bash -c "[ \$(grep -c ' registered' '$tmp/master.log') -ge 2 ]" ||
    { echo "FAIL workers did not register"; cat "$tmp"/*.log; exit 1; }

"$job" --master 'local[2]' slow 4000 1500 > "$tmp/local.out"
ip netns exec "$M" env EMBER_DRIVER_HOST=10.77.0.1 \
    "$job" --master "$url" slow 4000 1500 > "$tmp/pool.out" 2> "$tmp/pool.err" &
jp=$!
pids+=("$jp")
sleep 1
ip -n "$M" link set v2 down # w1's link is cut
fail=0
if wait "$jp" && cmp -s "$tmp/local.out" "$tmp/pool.out"; then
    echo "ok   a worker whose link is cut mid-job: the job finishes with the local answer"
else
    echo "FAIL the job with a cut link: $(tail -3 "$tmp/pool.err")"; fail=1
fi
if grep -q "worker w1 lost" "$tmp/master.log"; then
    echo "ok   the master declared the cut-off worker lost"
else
    echo "FAIL the master did not declare w1 lost"; fail=1
fi
exit $fail
