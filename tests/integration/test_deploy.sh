#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions called through a trap or wait_for
# The deployment recipes of docs/deploy.md, run on this machine:
#
# - scripts/deploy/ember-pool-ssh against localhost: a master here and two
#   workers started over ssh, the secret copied (mode 600) to the path the
#   workers use, a refused start over a different secret, status and stop.
#   Skipped, saying why, when no ssh login to localhost works without a
#   password (as in most CI containers).
# - scripts/deploy/systemd/ember-master.service and ember-worker@.service,
#   run as plain processes from their ExecStart= lines, with Environment=,
#   EnvironmentFile= and the specifiers expanded as systemd's user manager
#   would (nothing is installed into systemd, whether it runs here or not).
# - scripts/deploy/slurm/ember-pool.sbatch, run as sbatch would run it for
#   a job of two nodes, with a stand-in srun that runs each node's task on
#   this host (loopback); skipped without the `ip` command.
#
# On each pool examples/wordcount must print what it prints in local mode.
# Every process started is stopped at the end; every wait has a deadline.
#
#   tests/integration/test_deploy.sh BUILD_DIR
#
# EMBER_SSH_OPTS (extra ssh options, e.g. "-p 2222 -i KEY") is passed on to
# ssh, as ember-pool-ssh does.
set -uo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
ember=$build/cli/ember
wc_bin=$build/examples/wordcount
pool_ssh=$root/scripts/deploy/ember-pool-ssh
units=$root/scripts/deploy/systemd
tmp=$(mktemp -d)
export HOME=$tmp/home              # the master creates ~/.ember/secret here
export EMBER_EXECUTOR_WAIT_MS=5000
unset EMBER_MASTER EMBER_SECRET_FILE
mkdir -p "$HOME"
pids=()
fail=0

# Kills what is left: the processes started here, then any process whose
# command line names the temporary directory (masters, workers and the
# executors they run from their work dirs there, also those started over
# ssh), each by its pid.
cleanup() {
    local p f
    for p in "${pids[@]}"; do kill -9 "$p" 2> /dev/null; done
    for f in /proc/[0-9]*/cmdline; do
        p=${f#/proc/}; p=${p%/cmdline}
        [[ $p == "$$" || $p == "$BASHPID" ]] && continue
        if tr '\0' ' ' 2> /dev/null < "$f" | grep -qF "$tmp/"; then
            kill -9 "$p" 2> /dev/null
        fi
    done
    wait 2> /dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }

# waits up to $1 seconds for the command to succeed
wait_for() {
    local limit=$1 i; shift
    for ((i = 0; i < limit * 10; i++)); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}
gone() { ! kill -0 "$1" 2> /dev/null; }

# the input, and what local mode prints for it
awk 'BEGIN { srand(11); for (i = 0; i < 5000; i++) {
        line = ""; n = int(rand() * 20);
        for (j = 0; j < n; j++) line = line sprintf("w%c%c ", 97 + int(rand() * 26), 97 + int(rand() * 4));
        print line } }' > "$tmp/input.txt"
cat "$root/tests/data/words.txt" >> "$tmp/input.txt"
"$wc_bin" --master 'local[2]' "$tmp/input.txt" > "$tmp/want" 2> "$tmp/err" ||
    { echo "local wordcount failed: $(cat "$tmp/err")"; exit 1; }

same_as_local() { # name, master url
    if ! timeout 120 "$wc_bin" --master "$2" --partitions 4 "$tmp/input.txt" \
        > "$tmp/got" 2> "$tmp/err"; then
        bad "$1: wordcount on the pool failed: $(tail -3 "$tmp/err")"
    elif cmp -s "$tmp/want" "$tmp/got"; then
        ok "$1: wordcount on the pool prints what local mode prints"
    else
        bad "$1: wordcount's output differs from local mode's"
        diff "$tmp/want" "$tmp/got" | head -5
    fi
}

mode_of() { stat -c %a "$1" 2> /dev/null; }

# ---- ember-pool-ssh against localhost ----

test_ssh() {
    local s=$tmp/ssh out url p w1 w2 mp
    # shellcheck disable=SC2206 # a list of words on purpose
    local ssh=(ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o ConnectTimeout=5 ${EMBER_SSH_OPTS:-})
    if ! out=$(timeout 20 "${ssh[@]}" localhost true 2>&1 < /dev/null); then
        echo "skip: ssh recipe: no ssh login to localhost without a password" \
            "(${ssh[*]} localhost true: ${out:-timed out})"
        return
    fi
    export EMBER_SSH_OPTS="${EMBER_SSH_OPTS:-} -o StrictHostKeyChecking=no"
    mkdir -p "$s"
    printf '%s\n' '# two workers on this host, as two hosts would be' \
        'localhost' "$(id -un)@localhost 127.0.0.1 --cores 1 --memory 1g" > "$s/hosts"
    # the remote side runs in the real home of the ssh user: every path
    # it uses is given, under the temporary directory
    local args=(--ember "$ember" --port 0 --work-dir "$s/work"
        --remote-secret "$s/remote/secret" --state-dir "$s/state" --timeout 20)

    if ! url=$(timeout 120 "$pool_ssh" "${args[@]}" start "$s/hosts" 2> "$s/start.err"); then
        bad "ssh: start failed: $(tail -5 "$s/start.err")"
        "$pool_ssh" "${args[@]}" stop > /dev/null 2>&1
        return
    fi
    ok "ssh: start: master at $url, 2 workers registered"
    mp=$(cat "$s/state/master.pid")
    w1=$(cat "$s/work/w1.pid"); w2=$(cat "$s/work/w2.pid")
    pids+=("$mp" "$w1" "$w2")
    if [[ $(mode_of "$s/remote/secret") == 600 ]] &&
        cmp -s "$s/remote/secret" "$HOME/.ember/secret"; then
        ok "ssh: the secret copied to the hosts' path, mode 600"
    else
        bad "ssh: remote secret missing, different or not mode 600 ($(mode_of "$s/remote/secret"))"
    fi
    if grep -q "copied the cluster secret" "$s/start.err" &&
        grep -q "has the cluster secret already" "$s/start.err"; then
        ok "ssh: copied once, found in place for the second worker"
    else
        bad "ssh: secret copy messages: $(cat "$s/start.err")"
    fi
    if timeout 60 "$pool_ssh" "${args[@]}" status > "$s/status" 2>&1 &&
        [[ $(grep -c running "$s/status") == 3 ]]; then
        ok "ssh: status shows the master and 2 workers running"
    else
        bad "ssh: status: $(cat "$s/status")"
    fi
    same_as_local "ssh" "$url"
    if timeout 60 "$pool_ssh" "${args[@]}" start "$s/hosts" > /dev/null 2> "$s/again.err"; then
        bad "ssh: a second start while running succeeded"
    elif grep -q "running already" "$s/again.err"; then
        ok "ssh: a second start while running is refused"
    else
        bad "ssh: second start: $(cat "$s/again.err")"
    fi

    if ! timeout 120 "$pool_ssh" "${args[@]}" stop 2> "$s/stop.err"; then
        bad "ssh: stop failed: $(cat "$s/stop.err")"
    fi
    if wait_for 10 gone "$mp" && wait_for 10 gone "$w1" && wait_for 10 gone "$w2"; then
        ok "ssh: stop ended the master and both workers"
    else
        bad "ssh: processes left after stop"
    fi
    if compgen -G "$s/work/w*/app-*" > /dev/null; then
        bad "ssh: application folders left: $(echo "$s"/work/w*/app-*)"
    else
        ok "ssh: the workers removed the application folders"
    fi
    grep -q "SIGKILL" "$s/stop.err" && bad "ssh: a worker needed SIGKILL"
    timeout 60 "$pool_ssh" "${args[@]}" status > /dev/null 2>&1 &&
        bad "ssh: status says running after stop"

    # a host holding another pool's secret: refused, nothing left running
    (umask 077; echo other-pool > "$s/remote/secret")
    if timeout 120 "$pool_ssh" "${args[@]}" start "$s/hosts" > /dev/null 2> "$s/diff.err"; then
        bad "ssh: start over a different secret succeeded"
        "$pool_ssh" "${args[@]}" stop > /dev/null 2>&1
    elif ! grep -q "different secret" "$s/diff.err"; then
        bad "ssh: start over a different secret: $(cat "$s/diff.err")"
    elif [[ -f $s/state/master.pid ]] || pgrep -f "$s/state/port" > /dev/null; then
        bad "ssh: a refused start left its master"
    elif [[ $(cat "$s/remote/secret") == other-pool ]]; then
        ok "ssh: a host with a different secret is refused and keeps its secret"
    else
        bad "ssh: the other secret was overwritten"
    fi
}

# ---- the systemd units, through their ExecStart= lines ----

# Expands the specifiers the units use, as systemd's user manager does
# (systemd 252: %S is $XDG_CONFIG_HOME there); $instance is read_unit's.
spec() {
    local s=${1//%%/$'\1'}
    s=${s//%i/$instance}; s=${s//%I/$instance}
    s=${s//%H/$(uname -n)}; s=${s//%h/$HOME}
    s=${s//%E/$XDG_CONFIG_HOME}; s=${s//%C/$XDG_CACHE_HOME}
    s=${s//%S/$XDG_CONFIG_HOME}
    echo "${s//$'\1'/%}"
}

# Reads the unit file $1 (instance $2) and sets uenv (its environment)
# and ucmd (its ExecStart= command line, ember replaced by the build's).
declare -A uenv
ucmd=()
read_unit() {
    local file=$1 instance=${2:-} line key val section='' w name envfiles=() f
    local -a words
    uenv=(); ucmd=()
    local exec=
    while IFS= read -r line || [[ -n $line ]]; do
        [[ $line =~ ^[[:space:]]*([#\;]|$) ]] && continue
        if [[ $line =~ ^\[(.*)\]$ ]]; then section=${BASH_REMATCH[1]}; continue; fi
        [[ $section == Service ]] || continue
        key=${line%%=*}; val=$(spec "${line#*=}")
        case $key in
        Environment)
            read -r -a words <<< "$val"
            for w in "${words[@]}"; do w=${w#\"}; w=${w%\"}; uenv[${w%%=*}]=${w#*=}; done ;;
        EnvironmentFile) envfiles+=("$val") ;;
        ExecStart) exec=$val ;;
        CacheDirectory) mkdir -p "$XDG_CACHE_HOME/$val" ;;
        esac
    done < "$file"
    # files override Environment=, later ones earlier ones
    for f in "${envfiles[@]}"; do
        if [[ ! -f ${f#-} ]]; then
            [[ $f == -* ]] && continue
            echo "read_unit: $file: EnvironmentFile $f does not exist" >&2; return 1
        fi
        while IFS= read -r line || [[ -n $line ]]; do
            [[ $line =~ ^[[:space:]]*([#\;]|$) ]] && continue
            val=${line#*=}; val=${val#\"}; val=${val%\"}
            uenv[${line%%=*}]=$val
        done < "${f#-}"
    done
    exec=${exec#[-@:+!]}
    read -r -a words <<< "$exec"
    for w in "${words[@]}"; do
        if [[ $w =~ ^\$([A-Za-z_][A-Za-z0-9_]*)$ ]]; then
            # $NAME: split into zero or more words
            local split
            read -r -a split <<< "${uenv[${BASH_REMATCH[1]}]:-}"
            ucmd+=("${split[@]}")
        else
            while [[ $w =~ \$\{([A-Za-z_][A-Za-z0-9_]*)\} ]]; do
                name=${BASH_REMATCH[1]}
                w=${w//"\${$name}"/${uenv[$name]:-}}
            done
            ucmd+=("$w")
        fi
    done
    [[ ${ucmd[0]##*/} == ember ]] ||
        { echo "read_unit: $file: ExecStart= does not run ember: ${ucmd[0]}" >&2; return 1; }
    ucmd[0]=$ember
}

# Starts the command of read_unit in a service's clean environment; its
# stderr goes to $1. Sets upid.
start_unit() {
    local log=$1 k
    local -a envs=(PATH="$PATH" HOME="$HOME" USER="${USER:-$(id -un)}" LANG=C.UTF-8)
    for k in "${!uenv[@]}"; do envs+=("$k=${uenv[$k]}"); done
    env -i "${envs[@]}" "${ucmd[@]}" 2> "$log" < /dev/null &
    upid=$!
    pids+=("$upid")
}

test_systemd() {
    local d=$tmp/systemd mpid w1 w2 port host rc
    mkdir -p "$d"
    if [[ -d /run/systemd/system ]] && systemctl --user show-environment > /dev/null 2>&1; then
        echo "note: systemd user manager present; the units still run as plain processes"
    else
        echo "note: no systemd user manager here; the units run as plain processes"
    fi
    export XDG_CONFIG_HOME=$d/config XDG_CACHE_HOME=$d/cache
    mkdir -p "$XDG_CONFIG_HOME/ember"
    # port 0 and a port file: several test runs may share this machine
    printf '%s\n' '# as a user would write it' 'EMBER_MASTER_PORT=0' \
        "EMBER_MASTER_OPTS=--port-file $d/port" > "$XDG_CONFIG_HOME/ember/master.env"

    read_unit "$units/ember-master.service" || { bad "systemd: master unit unreadable"; return; }
    [[ ${ucmd[*]} == "$ember master --host 127.0.0.1 --port 0 --port-file $d/port" ]] ||
        bad "systemd: master command line: ${ucmd[*]}"
    start_unit "$d/master.log"; mpid=$upid
    if ! wait_for 10 test -s "$d/port"; then
        bad "systemd: the master unit did not start: $(cat "$d/master.log")"; return
    fi
    port=$(cat "$d/port")
    ok "systemd: ember-master.service listening on port $port"

    printf '%s\n' "EMBER_MASTER_URL=ember://127.0.0.1:$port" > "$XDG_CONFIG_HOME/ember/worker.env"
    printf '%s\n' 'EMBER_WORKER_OPTS="--cores 1 --memory 1g"' > "$XDG_CONFIG_HOME/ember/worker-2.env"
    host=$(uname -n)
    read_unit "$units/ember-worker@.service" 1 || { bad "systemd: worker unit unreadable"; return; }
    start_unit "$d/w1.log"; w1=$upid
    read_unit "$units/ember-worker@.service" 2 || { bad "systemd: worker unit unreadable"; return; }
    [[ ${ucmd[*]} == "$ember worker --master ember://127.0.0.1:$port --host 127.0.0.1 --work-dir $XDG_CACHE_HOME/ember/worker-2 --id $host-2 --cores 1 --memory 1g" ]] ||
        bad "systemd: worker@2 command line: ${ucmd[*]}"
    start_unit "$d/w2.log"; w2=$upid
    if wait_for 10 grep -q "worker $host-1 (127.0.0.1, " "$d/master.log" &&
        wait_for 10 grep -q "worker $host-2 (127.0.0.1, 1 cores)" "$d/master.log"; then
        ok "systemd: ember-worker@1 and @2 registered as $host-1 and $host-2"
    else
        bad "systemd: workers did not register: $(cat "$d/master.log" "$d/w1.log" "$d/w2.log")"
        return
    fi
    if [[ $(mode_of "$XDG_CACHE_HOME/ember/worker-1") == 700 ]]; then
        ok "systemd: work dir %C/ember/worker-1 created, mode 700"
    else
        bad "systemd: work dir mode $(mode_of "$XDG_CACHE_HOME/ember/worker-1")"
    fi
    same_as_local "systemd" "ember://127.0.0.1:$port"

    # what systemctl stop does: SIGTERM to the main process, a deadline
    for p in "$w1" "$w2" "$mpid"; do
        kill -TERM "$p"
        if ! wait_for 30 gone "$p"; then bad "systemd: pid $p ignored SIGTERM for 30 s"; continue; fi
        wait "$p"; rc=$?
        ((rc == 0)) || bad "systemd: pid $p exited with status $rc on SIGTERM"
    done
    ok "systemd: workers and master stopped on SIGTERM"
    if compgen -G "$XDG_CACHE_HOME/ember/worker-*/app-*" > /dev/null; then
        bad "systemd: application folders left"
    fi
}

# ---- the Slurm batch script, with a stand-in srun ----

# srun as the batch script uses it, on this host: the command once per
# "node" (SLURMD_NODENAME=nodeN), --output's %N expanded, SIGTERM passed on.
write_srun() {
    cat > "$1" << 'EOF'
#!/usr/bin/env bash
nodes=1 out=
while [[ $1 == -* ]]; do
    case $1 in --nodes=*) nodes=${1#*=} ;; --output=*) out=${1#*=} ;; esac
    shift
done
pids=()
for ((i = 1; i <= nodes; i++)); do
    if [[ -n $out ]]; then
        SLURMD_NODENAME=node$i "$@" > "${out//%N/node$i}" 2>&1 &
    else
        SLURMD_NODENAME=node$i "$@" &
    fi
    pids+=($!)
done
trap 'kill -TERM "${pids[@]}" 2> /dev/null' TERM INT
wait; wait
EOF
    chmod +x "$1"
}

# runs the batch script as sbatch would for job $1 of 2 nodes (both this
# host); the rest is the driver
slurm_job() {
    local d=$tmp/slurm
    (cd "$d/submit" && PATH=$d/bin:$PATH EMBER=$ember EMBER_IFACE=lo \
        EMBER_START_TIMEOUT=20 TMPDIR=$d/scratch SLURM_JOB_ID=$1 \
        SLURM_JOB_NUM_NODES=2 SLURM_SUBMIT_DIR=$d/submit SLURM_CPUS_ON_NODE=2 \
        timeout 120 bash "$root/scripts/deploy/slurm/ember-pool.sbatch" "${@:2}")
}

test_slurm() {
    local d=$tmp/slurm rc
    if ! ip -4 -o addr show dev lo 2> /dev/null | grep -q 127.0.0.1; then
        echo "skip: slurm recipe: no 'ip' command to give the loopback address (EMBER_IFACE=lo)"
        return
    fi
    mkdir -p "$d/bin" "$d/submit"
    write_srun "$d/bin/srun"
    slurm_job 41 "$wc_bin" --partitions 4 "$tmp/input.txt" > "$d/got" 2> "$d/err"
    rc=$?
    if ((rc != 0)); then
        bad "slurm: the job failed ($rc): $(tail -5 "$d/err")"
    elif cmp -s "$tmp/want" "$d/got"; then
        ok "slurm: wordcount, given EMBER_MASTER by the batch script, prints what local mode prints"
    else
        bad "slurm: wordcount's output differs from local mode's"
    fi
    if [[ $(grep -c "worker node[12] (127.0.0.1, " "$d/submit/ember-41/master.log") == 2 ]]; then
        ok "slurm: a worker per node registered, with the node's name"
    else
        bad "slurm: master log: $(cat "$d/submit/ember-41/master.log")"
    fi
    if grep -q "SIGTERM received" "$d/submit/ember-41/worker-node1.log" &&
        grep -q "SIGTERM received" "$d/submit/ember-41/master.log" &&
        [[ ! -e $d/scratch/ember-41 ]]; then
        ok "slurm: tear-down stopped workers and master, removed the scratch dirs"
    else
        bad "slurm: tear-down: $(ls "$d/scratch/ember-41" 2>&1) $(tail -2 "$d/submit/ember-41/worker-node1.log")"
    fi
    # shellcheck disable=SC2016 # for the driver's shell
    slurm_job 42 sh -c 'test -n "$EMBER_DRIVER_HOST" && exit 3' > /dev/null 2>&1
    rc=$?
    if ((rc == 3)); then
        ok "slurm: the job's exit status is the driver's"
    else
        bad "slurm: a driver exiting 3 gave the job status $rc"
    fi
}

test_ssh
test_systemd
test_slurm
exit $fail
