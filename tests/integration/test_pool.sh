#!/usr/bin/env bash
# The worker pool with real processes on loopback: `ember master`, `ember
# worker`s and driver programs (the examples and tests/integration/
# pool_job). Answers on pools of 1, 2 and 3 workers must be byte-identical
# to local mode's; then the failure cases of DESIGN.md: executors that
# crash or exit, a worker killed during a map stage and during a reduce
# stage, a worker that joins mid-job, a worker whose network stalls, a
# driver that goes away, a master that restarts, a _2 storage level
# surviving a worker, several applications at once. (A link cut between
# network namespaces is test_pool_netns.sh.)
#
#   tests/integration/test_pool.sh BUILD_DIR
set -uo pipefail
build=$1
job=$build/tests/pool_job
. "$(dirname "$0")/pool_lib.sh"
apps=()

# the same job locally and on the pool: identical output
same() { # name, command args (after the program's --master)
    local name=$1 prog=$2; shift 2
    "$prog" --master 'local[2]' "$@" > "$tmp/local.out" 2> "$tmp/local.err" ||
        { bad "$name: local run failed: $(cat "$tmp/local.err")"; return; }
    if ! timeout 120 "$prog" --master "$url" "$@" > "$tmp/pool.out" 2> "$tmp/pool.err"; then
        bad "$name: pool run failed: $(tail -3 "$tmp/pool.err")"; return
    fi
    if cmp -s "$tmp/local.out" "$tmp/pool.out"; then ok "$name"; else
        bad "$name: answers differ"; diff "$tmp/local.out" "$tmp/pool.out" | head -5
    fi
}

# input for the word count and the sort
awk 'BEGIN { srand(3); for (i = 0; i < 30000; i++) {
        line = ""; n = int(rand() * 12);
        for (j = 0; j < n; j++) line = line sprintf("w%c%c ", 97 + int(rand() * 26), 97 + int(rand() * 4));
        print line } }' > "$tmp/text.txt"

awk 'BEGIN { srand(5); for (i = 0; i < 3000; i++) print int(rand() * 400), int(rand() * 400) }' > "$tmp/graph.txt"

sorted_same() { # sort example: part files concatenated = LC_ALL=C sort
    rm -rf "$tmp/sorted"
    if ! timeout 120 "$build/examples/sort" --master "$url" --partitions 4 \
        "$tmp/text.txt" "$tmp/sorted" 2> "$tmp/pool.err"; then
        bad "$1: sort failed: $(tail -3 "$tmp/pool.err")"; return
    fi
    if cat "$tmp/sorted"/part-* | cmp -s - <(LC_ALL=C sort "$tmp/text.txt"); then
        ok "$1"; else bad "$1: sorted output differs"; fi
}

start_master
for n in 1 2 3; do
    start_worker "w$n" 2
    same "wordcount, $n worker(s)" "$build/examples/wordcount" --partitions 6 "$tmp/text.txt"
    sorted_same "sort, $n worker(s)"
    same "join and cogroup, $n worker(s)" "$job" join 3000
    same "cached iterative job, $n worker(s)" "$job" iter 20000
    same "broadcast and accumulator, $n worker(s)" "$job" shared 5000
    same "a driver linked with the shared libember, $n worker(s)" "$build/tests/pool_job_shared" join 3000
    same "pagerank, $n worker(s)" "$build/examples/pagerank_basic" --partitions 4 --iterations 3 "$tmp/graph.txt"
done

# a Lua script: its closures (with upvalues, a broadcast and an
# accumulator) run in executors that are the ember binary itself
cat > "$tmp/job.lua" <<'LUA'
local k = 3
local b = sc:broadcast({10, 20, 30})
local acc = sc:accumulator(0)
local r = sc:parallelize({1, 2, 3, 4, 5, 6, 7, 8}, 4)
    :map(function(x) acc:add(1); return x * k + b.value[2] end)
print(table.concat(r:collect(), ","))
local words = sc:parallelize({"a b a", "c a b", "d"}, 3)
    :flatMap(function(l) local t = {} for w in l:gmatch("%a+") do t[#t + 1] = w end return t end)
    :map(function(w) return {w, 1} end)
    :reduceByKey(ember.op.add, 2):sortByKey()
for _, p in ipairs(words:collect()) do print(p[1], p[2]) end
print("records", acc.value)
LUA
"$ember" run --master 'local[2]' "$tmp/job.lua" > "$tmp/local.out" 2>&1
if timeout 120 "$ember" run --master "$url" "$tmp/job.lua" > "$tmp/pool.out" 2>&1 &&
    cmp -s "$tmp/local.out" "$tmp/pool.out" && grep -q "^records	8$" "$tmp/pool.out"; then
    ok "a Lua script on the pool"
else bad "a Lua script on the pool: $(tail -3 "$tmp/pool.out")"; fi

# a task whose function crashes (or exits) its executor: retried on other
# executors, then the job fails with the cause after 4 attempts
for mode in crash exit; do
    if timeout 120 "$job" --master "$url" "$mode" > /dev/null 2> "$tmp/err"; then
        bad "$mode: the job succeeded"
    elif grep -q "failed 4 times" "$tmp/err" && grep -q "lost" "$tmp/err"; then
        ok "a user function that brings its executor down ($mode) fails the job after 4 attempts"
    else
        bad "$mode: unexpected error: $(cat "$tmp/err")"
    fi
done
if timeout 60 "$job" --master "$url" fail > /dev/null 2> "$tmp/err"; then
    bad "fail: the job succeeded"
elif grep -q "record 7 is refused" "$tmp/err"; then
    ok "a failing user function fails the job with its message"
else
    bad "fail: unexpected error: $(cat "$tmp/err")"
fi
# the pool still works after executors died
same "wordcount after crashed executors" "$build/examples/wordcount" "$tmp/text.txt"

# em_ctx_cancel on the pool: the job ends at once with EM_ECANCELED and
# the context runs the next job
if timeout 60 "$job" --master "$url" cancel > "$tmp/pool.out" 2> "$tmp/pool.err" &&
    grep -q "^first job: EM_ECANCELED after less than 2.5 s$" "$tmp/pool.out" &&
    grep -q "^next job: 100$" "$tmp/pool.out"; then
    ok "a canceled job on the pool"
else bad "cancel on the pool: $(cat "$tmp/pool.out") $(tail -2 "$tmp/pool.err")"; fi

# SIGKILL of an executor alone: its tasks are retried, its map outputs are
# still served by its worker
"$job" --master 'local[2]' slow2 4000 1500 > "$tmp/local.out"
timeout 180 "$job" --master "$url" slow2 4000 1500 > "$tmp/pool.out" 2> "$tmp/pool.err" &
jp=$!
sleep 2
for p in /proc/[0-9]*; do # one executor process of worker w1
    if readlink "$p/exe" 2> /dev/null | grep -q "^$tmp/w1/bin/"; then
        kill -9 "${p#/proc/}"; break
    fi
done
if wait "$jp" && cmp -s "$tmp/local.out" "$tmp/pool.out"; then
    ok "an executor killed during a job"
else bad "an executor killed during a job: $(tail -3 "$tmp/pool.err")"; fi

# SIGKILL of a worker while a stage runs: the answer does not change
kill_during() { # name, worker, delay, job args...
    local name=$1 w=$2 delay=$3; shift 3
    "$job" --master 'local[2]' "$@" > "$tmp/local.out"
    timeout 180 "$job" --master "$url" "$@" > "$tmp/pool.out" 2> "$tmp/pool.err" &
    local jp=$!
    sleep "$delay"
    kill -9 "${worker_pid[$w]}"
    pkill -9 -f "$tmp/$w/" # its executors die with the machine
    if wait "$jp" && cmp -s "$tmp/local.out" "$tmp/pool.out"; then ok "$name"
    else bad "$name: $(tail -3 "$tmp/pool.err")"; fi
}
kill_during "a worker killed during a map stage" w3 1.5 slow 4000 1500
start_worker w4 2
kill_during "a worker killed during a reduce stage" w4 2.5 slow2 4000 2000
grep -q "lost" "$tmp/master.log" && ok "the master saw the workers go" ||
    bad "the master did not report a lost worker"

# a worker that joins mid-job receives tasks
"$job" --master 'local[2]' slow 4000 800 > "$tmp/local.out"
timeout 180 "$job" --master "$url" slow 4000 800 > "$tmp/pool.out" 2> "$tmp/pool.err" &
jp=$!
sleep 0.5
start_worker w5 2
if wait_for 20 bash -c "ls -d '$tmp'/w5/app-*/exec-* > /dev/null 2>&1"; then
    ok "a worker that joins mid-job gets an executor"
else bad "the joining worker got no executor"; fi
wait "$jp" && cmp -s "$tmp/local.out" "$tmp/pool.out" && ok "the job with a joining worker" ||
    bad "the job with a joining worker: $(tail -3 "$tmp/pool.err")"

# a worker whose network stalls (its processes stopped) is declared lost
# after the heartbeat timeout, and the job finishes without it
"$job" --master 'local[2]' slow 4000 1000 > "$tmp/local.out"
timeout 180 "$job" --master "$url" slow 4000 1000 > "$tmp/pool.out" 2> "$tmp/pool.err" &
jp=$!
sleep 0.8
stalled=$(pgrep -f "$tmp/w5/") ; kill -STOP "${worker_pid[w5]}" $stalled
if wait "$jp" && cmp -s "$tmp/local.out" "$tmp/pool.out"; then
    ok "a stalled worker is declared lost and the job finishes"
else bad "stalled worker: $(tail -3 "$tmp/pool.err")"; fi
grep -q "worker w5 lost" "$tmp/master.log" && ok "the master declared the stalled worker lost" ||
    bad "the master did not declare w5 lost"
kill -9 "${worker_pid[w5]}" $stalled 2> /dev/null

# the driver going away releases its executors and their files
"$job" --master "$url" slow 4000 3000 > /dev/null 2>&1 &
jp=$!
wait_for 20 bash -c "ls -d '$tmp'/w1/app-* > /dev/null 2>&1"
kill -9 "$jp"
released() { # no process runs a program from w1's binaries, no app files
    ! ls -d "$tmp"/w1/app-* > /dev/null 2>&1 &&
        ! (for p in /proc/[0-9]*; do readlink "$p/exe"; done 2> /dev/null |
            grep -q "^$tmp/w1/bin/")
}
if wait_for 20 released; then
    ok "a driver that goes away releases its executors and their files"
else bad "executors or files left after the driver died"; fi

# a master restart: workers register again and jobs run
kill -9 "$master_pid"
before=$(wc -l < "$tmp/master.log")
start_master "$port"
if wait_for 20 bash -c "tail -n +$((before + 1)) '$tmp/master.log' |
    grep -q 'worker w1 .*registered'"; then
    ok "workers register again with a restarted master"
else bad "workers did not come back to the restarted master"; fi
same "wordcount after a master restart" "$build/examples/wordcount" "$tmp/text.txt"

# a _2 storage level keeps a second copy of each cached partition on
# another worker: losing one worker recomputes nothing
mkdir -p "$tmp/sync"
timeout 120 "$job" --master "$url" replicated 3000 "$tmp/sync" > "$tmp/pool.out" 2> "$tmp/pool.err" &
jp=$!
if wait_for 60 test -e "$tmp/sync/ready"; then
    kill -9 "${worker_pid[w2]}"
    pkill -9 -f "$tmp/w2/"
    touch "$tmp/sync/go"
fi
if wait "$jp" && grep -q "^second count: 3000$" "$tmp/pool.out" &&
    grep -q "^records computed: 3000$" "$tmp/pool.out"; then
    ok "MEMORY_ONLY_2: a lost worker loses no cached partition"
else bad "MEMORY_ONLY_2: $(cat "$tmp/pool.out") $(tail -3 "$tmp/pool.err")"; fi

# several applications share the pool at once
for k in 1 2 3; do
    timeout 120 "$job" --master "$url" join 2000 > "$tmp/app$k.out" 2>&1 &
    apps[$k]=$!
done
"$job" --master 'local[2]' join 2000 > "$tmp/local.out"
shared_ok=1
for k in 1 2 3; do
    wait "${apps[$k]}" && cmp -s "$tmp/local.out" "$tmp/app$k.out" || shared_ok=0
done
[[ $shared_ok == 1 ]] && ok "three applications at once share the pool" ||
    bad "applications sharing the pool"

exit $fail
