#!/usr/bin/env bash
# Barrier stages on the worker pool with real processes on loopback
# (tests/integration/barrier_job): allReduce by ring and tree, dense and
# sparse, and allGather across executors, each task's answer checked
# against a sequential computation and the elements each task sent
# against the ring's 2(m-1)k/m; a task failing once and an executor
# killed while the others wait in an allreduce, both retried as a whole
# stage; a stage needing more cores than the pool has failing clearly.
#
#   tests/integration/test_barrier_pool.sh BUILD_DIR
set -uo pipefail
build=$1
job=$build/tests/barrier_job
export EMBER_BARRIER_TIMEOUT_MS=20000
. "$(dirname "$0")/pool_lib.sh"

start_master
for w in w1 w2 w3; do start_worker "$w"; done

# runs the job on the pool; its output in $tmp/out
run() {
    timeout 120 "$job" --master "$url" "$@" > "$tmp/out" 2> "$tmp/err"
}

# every task agreed with the reference, and (ring) sent 2(m-1) chunks of
# floor or ceil k/m elements
check_reduce() { # name, m, k, algo (ring, tree or sparse)
    local name=$1 m=$2 k=$3 algo=$4
    if ! grep -q "^agree $m$" "$tmp/out"; then
        bad "$name: $(cat "$tmp/err")"; return
    fi
    if [ "$algo" = ring ] && ! awk -v m="$m" -v k="$k" '
        /^task / { n++; e = $6
                   lo = 2 * (m - 1) * int(k / m); hi = 2 * (m - 1) * int((k + m - 1) / m)
                   if (e < lo || e > hi) bad = 1 }
        END { exit (n == m && !bad) ? 0 : 1 }' "$tmp/out"; then
        bad "$name: elements sent outside 2(m-1)k/m: $(cat "$tmp/out")"; return
    fi
    ok "$name"
}

for m in 2 3; do
    for algo in ring tree; do
        for op in sum max; do
            run reduce "$m" 1001 "$algo" "$op"
            check_reduce "allReduce $algo $op on $m executors" "$m" 1001 "$algo"
        done
        run sparse "$m" 500 "$algo" # non-zeros only: no bound on elements
        check_reduce "sparse allReduce $algo on $m executors" "$m" 500 sparse
    done
done
run reduce 3 0 ring mean
check_reduce "empty vectors on 3 executors" 3 0 ring
run gather 3
grep -q "^gather 3$" "$tmp/out" && ok "allGather on 3 executors" ||
    bad "allGather: $(cat "$tmp/err")"

# a task failing in the first attempt: the whole stage again, attempt 1
run fail 3 999
if grep -q "^agree 3$" "$tmp/out" &&
    [ "$(grep -c '^task [0-9] attempt 1 ' "$tmp/out")" = 3 ]; then
    ok "a failing task retries the whole barrier stage"
else bad "failing task: $(cat "$tmp/out") $(cat "$tmp/err")"; fi

# an executor killed while the other tasks wait in the allreduce
rm -f "$tmp/pid"
timeout 150 "$job" --master "$url" kill 3 999 "$tmp" > "$tmp/out" 2> "$tmp/err" &
jp=$!
if wait_for 60 test -s "$tmp/pid"; then
    kill -9 "$(cat "$tmp/pid")"
    if wait "$jp" && grep -q "^agree 3$" "$tmp/out" &&
        [ "$(grep -c '^task [0-9] attempt [1-9]' "$tmp/out")" = 3 ]; then
        ok "an executor killed during an allreduce: the stage retried"
    else bad "killed executor: $(cat "$tmp/out") $(tail -3 "$tmp/err")"; fi
else
    bad "killed executor: the task never started: $(cat "$tmp/err")"
    kill "$jp" 2> /dev/null
fi

# more tasks than the pool's cores: a clear failure, not a hang
export EMBER_BARRIER_WAIT_MS=2000
if run reduce 5 10 ring sum; then
    bad "5 tasks on 3 cores succeeded"
elif grep -q "needs 5 task slots at once, and the pool has had 3 cores" "$tmp/err"; then
    ok "too few cores for a barrier stage"
else bad "too few cores: $(cat "$tmp/err")"; fi

exit $fail
