#!/usr/bin/env bash
# Submitted jobs with real processes on loopback: `ember submit`, `ember
# jobs`, `ember logs` and `ember kill` against an `ember master` and `ember
# worker`s. Drivers: the wordcount example (compared with a local run),
# tests/integration/pool_job, Lua scripts, and /bin/sh (an executable like
# any other, whose output and exit status the test chooses). Checks the
# followed output and exit status, a submission waiting for a worker, the
# driver's environment and folder, --detach with logs --follow, a kill
# that ends the driver and its executors, a client that goes away, the
# bounded log, a worker lost under a driver, unknown ids and a wrong
# secret.
#
#   tests/integration/test_submit.sh BUILD_DIR
set -uo pipefail
build=$1
job=$build/tests/pool_job
export EMBER_DRIVER_LOG_BYTES=200000  # the master keeps this much per driver
. "$(dirname "$0")/pool_lib.sh"

start_master

# the line of `ember jobs` for a submission id
job_line() { "$ember" jobs --master "$url" | grep "^$1 "; }
# true when `ember jobs` shows the submission in state $2
in_state() { job_line "$1" | awk -v s="$2" '$3 == s { f = 1 } END { exit !f }'; }

# ---- usage ----
for c in submit jobs logs kill; do
    "$ember" "$c" --help > "$tmp/help" 2>&1 && grep -q "usage: ember $c" "$tmp/help" ||
        bad "ember $c --help"
done
if "$ember" jobs > /dev/null 2> "$tmp/err"; then bad "jobs without a master succeeded"
elif grep -q "no master: pass --master" "$tmp/err"; then ok "a command without a master says so"
else bad "jobs without a master: $(cat "$tmp/err")"; fi
printf 'not a program\n' > "$tmp/notes.txt"
if "$ember" submit --master "$url" "$tmp/notes.txt" 2> "$tmp/err"; then bad "a text file was submitted"
elif grep -q "neither an executable (ELF) nor a Lua script" "$tmp/err"; then
    ok "a file that is no program is refused before it is sent"
else bad "text file: $(cat "$tmp/err")"; fi

# ---- a submission waits for a worker ----
id=$("$ember" submit --master "$url" --detach --name early /bin/sh -c 'echo early bird')
if [[ $id =~ ^driver-[0-9]{14}-[0-9]{4}$ ]] && in_state "$id" submitted; then
    ok "with no worker a submission waits ($id)"
else bad "waiting submission: id '$id': $(job_line "$id")"; fi
start_worker w1 2
if [[ $(timeout 30 "$ember" logs --master "$url" --follow "$id") == "early bird" ]] &&
    in_state "$id" finished; then
    ok "the waiting submission runs when a worker registers"
else bad "the waiting submission: $(job_line "$id")"; fi

# ---- wordcount: the followed output is the local run's ----
awk 'BEGIN { srand(7); for (i = 0; i < 20000; i++) {
        line = ""; n = int(rand() * 10);
        for (j = 0; j < n; j++) line = line sprintf("w%c%c ", 97 + int(rand() * 26), 97 + int(rand() * 3));
        print line } }' > "$tmp/text.txt"
"$build/examples/wordcount" --master 'local[2]' --partitions 4 "$tmp/text.txt" > "$tmp/local.out"
timeout 120 "$ember" submit --master "$url" "$build/examples/wordcount" \
    --partitions 4 "$tmp/text.txt" > "$tmp/pool.out" 2> "$tmp/pool.err"
rc=$?
if [[ $rc == 0 ]] && cmp -s "$tmp/local.out" "$tmp/pool.out"; then
    ok "submitted wordcount: output as a local run's, exit 0"
else bad "submitted wordcount: exit $rc, $(tail -3 "$tmp/pool.err")"; fi
id=$(sed -n 's/^ember submit: submitted \([^ ]*\) .*/\1/p' "$tmp/pool.err")
job_line "$id" | awk '$2 == "wordcount" && $3 == "finished" && $4 == "w1" && $6 == 0 { f = 1 } END { exit !f }' &&
    ok "ember jobs: wordcount finished on w1 with 0" || bad "jobs line: $(job_line "$id")"

# ---- an exit status, the environment, the folder ----
timeout 60 "$ember" submit --master "$url" --name three /bin/sh -c \
    'echo "master=$EMBER_MASTER executor=${EMBER_EXECUTOR-none} dir=$PWD"; echo oops >&2; exit 3' \
    > "$tmp/out" 2> "$tmp/err"
rc=$?
id=$(sed -n 's/^ember submit: submitted \([^ ]*\) .*/\1/p' "$tmp/err")
want="master=$url executor=none dir=$tmp/w1/drivers/$id"
if [[ $rc == 3 ]] && [[ $(head -1 "$tmp/out") == "$want" ]] && grep -q '^oops$' "$tmp/out"; then
    ok "a driver that exits 3: the client exits 3, with its stdout and stderr"
else bad "exit 3: rc $rc, out $(cat "$tmp/out"), want $want"; fi
job_line "$id" | awk '$2 == "three" && $3 == "finished" && $6 == 3 { f = 1 } END { exit !f }' &&
    ok "ember jobs shows it finished with 3" || bad "jobs after exit 3: $(job_line "$id")"
cmp -s "$tmp/out" "$tmp/w1/drivers/$id/output" &&
    ok "the worker keeps the output in WORK/drivers/ID/output" || bad "the worker's output file"

# ---- --detach, then logs --follow ----
id=$("$ember" submit --master "$url" --detach /bin/sh -c \
    'i=1; while [ $i -le 40 ]; do echo "line $i"; i=$((i + 1)); sleep 0.05; done')
seq 1 40 | sed 's/^/line /' > "$tmp/want"
timeout 60 "$ember" logs --master "$url" --follow "$id" > "$tmp/got"
if cmp -s "$tmp/want" "$tmp/got"; then ok "--detach prints the id; logs --follow gets the whole output"
else bad "logs --follow: $(diff "$tmp/want" "$tmp/got" | head -3)"; fi
"$ember" logs --master "$url" "$id" | cmp -s "$tmp/want" - &&
    ok "logs of an ended driver" || bad "logs of an ended driver"

# ---- a Lua script ----
cat > "$tmp/double.lua" <<'LUA'
local r = sc:parallelize({1, 2, 3}):map(function(x) return x * 2 end):collect()
print(table.concat(r, " "), sc.master:match("^ember://") ~= nil, ...)
LUA
out=$(timeout 120 "$ember" submit --master "$url" "$tmp/double.lua" a b 2> "$tmp/err")
rc=$?
if [[ $rc == 0 && $out == $'2 4 6\ttrue\ta\tb' ]]; then
    ok "a Lua script runs on the pool with its arguments"
else bad "Lua script: exit $rc, '$out', $(tail -3 "$tmp/err")"; fi

# ---- the log is bounded: the master keeps the last bytes ----
id=$("$ember" submit --master "$url" --detach /bin/sh -c 'seq 1 100000')
wait_for 30 in_state "$id" finished
seq 1 100000 | tail -c 200000 > "$tmp/want"
"$ember" logs --master "$url" "$id" > "$tmp/got" 2> "$tmp/err"
dropped=$(( $(seq 1 100000 | wc -c) - 200000 ))
if cmp -s "$tmp/want" "$tmp/got" && grep -q "first $dropped bytes" "$tmp/err"; then
    ok "a long log keeps its last EMBER_DRIVER_LOG_BYTES and says what was dropped"
else bad "bounded log: $(wc -c < "$tmp/got") bytes, $(cat "$tmp/err")"; fi

# ---- ember kill: the driver and its executors end ----
released() { [[ -z $(pool_pids) ]]; }
wait_for 20 released || bad "processes left before the kill test"
id=$("$ember" submit --master "$url" --detach --name slow "$job" slow 4000 3000)
if wait_for 30 bash -c "ls -d '$tmp'/w1/app-*/exec-* > /dev/null 2>&1" && in_state "$id" running; then
    if "$ember" kill --master "$url" "$id" > "$tmp/out" 2> "$tmp/err" && in_state "$id" killed; then
        ok "ember kill stops a running driver: state killed"
    else bad "kill: $(cat "$tmp/err") $(job_line "$id")"; fi
    wait_for 20 released && ok "the killed driver's executors go away" ||
        bad "processes left after the kill: $(pool_pids)"
else bad "the slow driver did not start: $(job_line "$id")"; fi
if "$ember" kill --master "$url" "$id" 2> "$tmp/err"; then bad "a second kill succeeded"
elif grep -q "is not running" "$tmp/err"; then ok "killing an ended driver is refused"
else bad "second kill: $(cat "$tmp/err")"; fi

# ---- the client goes away; the driver runs on ----
"$ember" submit --master "$url" /bin/sh -c \
    'i=1; while [ $i -le 30 ]; do echo "tick $i"; i=$((i + 1)); sleep 0.05; done' \
    > "$tmp/out" 2> "$tmp/err" &
sp=$!
wait_for 20 grep -q "tick 1" "$tmp/out"
kill -9 "$sp"
wait "$sp" 2> /dev/null
id=$(sed -n 's/^ember submit: submitted \([^ ]*\) .*/\1/p' "$tmp/err")
seq 1 30 | sed 's/^/tick /' > "$tmp/want"
if wait_for 30 in_state "$id" finished &&
    "$ember" logs --master "$url" "$id" | cmp -s "$tmp/want" -; then
    ok "a client that goes away leaves the driver running; its log is complete"
else bad "client gone: $(job_line "$id")"; fi

# ---- unknown ids, a wrong secret ----
for c in logs kill; do
    if "$ember" "$c" --master "$url" driver-00000000000000-9999 2> "$tmp/err"; then
        bad "$c of an unknown id succeeded"
    elif grep -q "no submission 'driver-00000000000000-9999'" "$tmp/err"; then
        ok "$c of an unknown id: a clear error"
    else bad "$c unknown id: $(cat "$tmp/err")"; fi
done
(umask 077; echo other-secret > "$tmp/wrong")
if "$ember" jobs --master "$url" --secret-file "$tmp/wrong" 2> "$tmp/err"; then
    bad "a wrong secret was accepted"
elif grep -q "refused authentication" "$tmp/err"; then ok "a wrong secret is refused"
else bad "wrong secret: $(cat "$tmp/err")"; fi
EMBER_SECRET_FILE=$tmp/wrong "$ember" submit --master "$url" /bin/sh -c 'exit 0' 2> "$tmp/err" &&
    bad "a submission with a wrong secret was accepted" ||
    { grep -q "refused authentication" "$tmp/err" && ok "a submission with a wrong secret is refused" ||
        bad "submit, wrong secret: $(cat "$tmp/err")"; }
EMBER_MASTER=$url "$ember" jobs > /dev/null && ok "--master defaults to EMBER_MASTER" ||
    bad "EMBER_MASTER as the default"

# ---- a worker declared lost that comes back: its driver is killed ----
id=$("$ember" submit --master "$url" --detach --name stalled /bin/sh -c 'echo up; sleep 60')
wait_for 20 in_state "$id" running
wait_for 20 bash -c "[[ -n \$(ls '$tmp'/w1/drivers/$id/output 2> /dev/null) ]] && grep -q up '$tmp'/w1/drivers/$id/output"
dpid=$(pool_pids)
kill -STOP "${worker_pid[w1]}"
if wait_for 20 bash -c "'$ember' jobs --master '$url' | grep '^$id ' | grep -q 'failed.*worker w1 lost'"; then
    ok "a stalled worker's driver is marked failed (worker w1 lost)"
else bad "stalled worker: $(job_line "$id")"; fi
kill -CONT "${worker_pid[w1]}"
if [[ -n $dpid ]] && wait_for 20 bash -c "! kill -0 $dpid 2> /dev/null"; then
    ok "when the worker comes back, the master has it kill that driver"
else bad "the driver of the lost worker still runs (pid '$dpid')"; fi
wait_for 20 bash -c "[ \$(grep -c 'worker w1 ' '$tmp/master.log') -ge 2 ]" ||
    bad "w1 did not register again"

# ---- a worker lost under its driver ----
"$ember" submit --master "$url" --name doomed /bin/sh -c 'echo started; sleep 60' \
    > "$tmp/out" 2> "$tmp/err" &
sp=$!
wait_for 20 grep -q started "$tmp/out"
kill -9 "${worker_pid[w1]}"
wait "${worker_pid[w1]}" 2> /dev/null
for p in $(pool_pids); do kill -9 "$p"; done  # its processes die with the machine
wait "$sp"
rc=$?
id=$(sed -n 's/^ember submit: submitted \([^ ]*\) .*/\1/p' "$tmp/err")
if [[ $rc == 1 ]] && grep -q "worker w1 lost" "$tmp/err" &&
    job_line "$id" | grep -q "failed.*worker w1 lost"; then
    ok "a worker lost under a driver: failed (worker w1 lost), the client exits 1"
else bad "lost worker: rc $rc, $(cat "$tmp/err"), $(job_line "$id")"; fi

# ---- another worker; then the daemons stop cleanly ----
start_worker w2 2
out=$(timeout 60 "$ember" submit --master "$url" /bin/sh -c 'echo on w2' 2> "$tmp/err")
id=$(sed -n 's/^ember submit: submitted \([^ ]*\) .*/\1/p' "$tmp/err")
[[ $out == "on w2" ]] && job_line "$id" | awk '$4 == "w2" { f = 1 } END { exit !f }' &&
    ok "a new worker takes the next submission" || bad "on w2: '$out' $(job_line "$id")"
kill -TERM "${worker_pid[w2]}" "${pids[0]}"
wait "${worker_pid[w2]}"; wrc=$?
wait "${pids[0]}"; mrc=$?
if [[ $wrc == 0 && $mrc == 0 ]]; then
    ok "worker and master stop cleanly on SIGTERM (no leak in a sanitizer build)"
else bad "shutdown: worker $wrc, master $mrc; $(tail -5 "$tmp/w2.log" "$tmp/master.log")"; fi

exit $fail
