#!/usr/bin/env bash
# Hogwild-style asynchronous sparse SGD through the parameter server on
# real text (examples/ps_text and examples/lua/ps_text.lua): Debian's
# fortunes, the topics "computers" (class 0) and "politics" (class 1),
# every fifth record held out, tokens hashed to 2^18 features. Logistic
# regression in ps mode on local[1], local[2] and a pool of 2 workers (a
# real `ember master` and two `ember worker`s on loopback) must reach a
# held-out accuracy at most 3 points below batch mode's on the same split
# (100 iterations of adagrad on the whole gradient) and above the
# majority-class rate; allreduce mode on the pool must equal batch mode's
# accuracy within 0.5 point (the same mathematics, sums in another
# order); the Lua twin counts the same records and reaches the same bound.
# The MLP (8 tanh hidden units, 2^18 x 8 first-layer weights keyed per
# feature) in ps mode, from Lua on local[2] and on the pool, must reach a
# held-out accuracy at most 5 points below logistic batch mode's and above
# the majority-class rate.
# Skips, saying why, when the fortunes cannot be fetched.
#
#   tests/integration/test_ml_ps_text.sh BUILD_DIR
set -uo pipefail
build=$1
. "$(dirname "$0")/ml_lib.sh"
ember=$build/cli/ember
prog=$build/examples/ps_text
topics="computers politics"

fetch fortunes fortunes
export HOME=$tmp/home              # the master creates ~/.ember/secret here
export EMBER_HEARTBEAT_TIMEOUT_MS=2000
export EMBER_EXECUTOR_WAIT_MS=5000
unset EMBER_MASTER EMBER_SECRET_FILE
mkdir -p "$HOME"
pids=()
fail=0

cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2> /dev/null; done
    for p in /proc/[0-9]*; do # executors started from the work dirs
        readlink "$p/exe" 2> /dev/null | grep -q "^$tmp/" && kill -9 "${p#/proc/}"
    done
    wait 2> /dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
field() { awk -F '\t' -v k="$1" '$1 == k { print $2 }' "$2"; }

wait_for() { # seconds, command...
    local limit=$1; shift
    for _ in $(seq $((limit * 10))); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}

# runs the C example into $tmp/NAME: name, master, options...
run_c() {
    local name=$1 master=$2
    shift 2
    timeout 300 "$prog" --master "$master" "$@" "$fortunes" $topics \
        > "$tmp/$name" 2> "$tmp/$name.err" ||
        bad "$name: $(cat "$tmp/$name.err")"
}

# ps's accuracy within 3 points (or $2) of batch's and above the majority
# rate
check_ps() { # name [points]
    local got want major
    got=$(field 'held-out accuracy' "$tmp/$1")
    want=$(field 'held-out accuracy' "$tmp/batch")
    major=$(field 'held-out majority rate' "$tmp/$1")
    if [ -n "$got" ] && awk -v g="$got" -v w="$want" -v m="$major" \
        -v p="${2:-0.03}" 'BEGIN { exit !(g >= w - p && g > m) }'; then
        ok "$1: held-out accuracy $got, batch's $want, majority $major"
    else
        bad "$1: held-out accuracy '$got', batch's $want, majority $major"
    fi
}

run_c batch 'local[2]' --mode batch --iterations 100
for master in 'local[1]' 'local[2]'; do
    run_c "ps-$master" "$master"
    check_ps "ps-$master"
done

"$ember" master --port 0 --port-file "$tmp/port" 2>> "$tmp/master.log" &
pids+=("$!")
wait_for 10 test -s "$tmp/port" || { echo "master did not start"; exit 1; }
url=ember://127.0.0.1:$(cat "$tmp/port")
for w in w1 w2; do
    mkdir -p "$tmp/$w"
    "$ember" worker --master "$url" --cores 1 --work-dir "$tmp/$w" --id "$w" \
        2>> "$tmp/$w.log" &
    pids+=("$!")
    wait_for 10 grep -q "worker $w " "$tmp/master.log" ||
        { echo "worker $w did not register"; cat "$tmp/$w.log"; exit 1; }
done
run_c ps-pool "$url"
check_ps ps-pool
# the MLP in ps mode from Lua into $tmp/NAME (ps_text.lua's arguments
# MODE ITERATIONS PARTITIONS MODEL), within 5 points of batch's
run_mlp() { # name master
    if timeout 300 "$ember" run --master "$2" \
        "$here/../../examples/lua/ps_text.lua" "$fortunes" $topics \
        ps 10 2 mlp > "$tmp/$1" 2> "$tmp/$1.err"; then
        check_ps "$1" 0.05
    else
        bad "$1: $(cat "$tmp/$1.err")"
    fi
}
run_mlp mlp-local 'local[2]'
run_mlp mlp-pool "$url"
run_c allreduce-pool "$url" --mode allreduce --iterations 100
got=$(field 'held-out accuracy' "$tmp/allreduce-pool")
want=$(field 'held-out accuracy' "$tmp/batch")
if [ -n "$got" ] && awk -v g="$got" -v w="$want" \
    'BEGIN { d = g - w; exit !(d >= -0.005 && d <= 0.005) }'; then
    ok "allreduce on the pool: held-out accuracy $got, batch's $want"
else
    bad "allreduce on the pool: held-out accuracy '$got', batch's $want"
fi

if timeout 300 "$ember" run --master 'local[2]' "$here/../../examples/lua/ps_text.lua" \
    "$fortunes" $topics > "$tmp/lua" 2> "$tmp/lua.err"; then
    for k in 'training records' 'held-out records' 'held-out majority rate'; do
        [ "$(field "$k" "$tmp/lua")" = "$(field "$k" "$tmp/ps-local[2]")" ] ||
            bad "Lua's $k differ from C's"
    done
    check_ps lua
else
    bad "lua: $(cat "$tmp/lua.err")"
fi
exit $fail
