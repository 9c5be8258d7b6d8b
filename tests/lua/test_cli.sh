#!/usr/bin/env bash
# The `ember` command as a user runs it: exit statuses, messages on
# stderr, script arguments, --master, help. Usage: test_cli.sh EMBER
set -euo pipefail
ember=$1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ember-cli.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# expect STATUS CMD...: runs CMD, checks the exit status, keeps its output
expect() {
    local want=$1 rc=0
    shift
    "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
    [[ $rc == "$want" ]] || fail "$* exited $rc, want $want: $(cat "$tmp/err")"
}

# a script: arguments in arg and ..., the master, a result
cat >"$tmp/ok.lua" <<'LUA'
local a, b = ...
assert(arg[1] == a and arg[2] == b)
print(arg[0]:match("ok.lua$"), a, b, sc.master,
      sc:parallelize({1, 2, 3}):map(function(x) return x * tonumber(b) end):sum())
LUA
expect 0 "$ember" run --master 'local[2]' "$tmp/ok.lua" x 10
[[ $(cat "$tmp/out") == $'ok.lua\tx\t10\tlocal[2]\t60' ]] || fail "run: $(cat "$tmp/out")"
EMBER_MASTER='local[3]' expect 0 "$ember" run "$tmp/ok.lua" y 2
[[ $(cat "$tmp/out") == *$'local[3]\t12' ]] || fail "EMBER_MASTER: $(cat "$tmp/out")"
expect 0 "$ember" run --master=local[1] - a 1 <"$tmp/ok.lua"
[[ $(cat "$tmp/out") == *$'local[1]\t6' ]] || fail "stdin: $(cat "$tmp/out")"

# an uncaught error: message, traceback, status 1
cat >"$tmp/bad.lua" <<'LUA'
local function inner() error("broken on purpose") end
inner()
LUA
expect 1 "$ember" run "$tmp/bad.lua"
grep -q 'bad.lua:1: broken on purpose' "$tmp/err" || fail "message: $(cat "$tmp/err")"
grep -q 'stack traceback' "$tmp/err" || fail "traceback: $(cat "$tmp/err")"
grep -q "in local 'inner'\|in function 'inner'\|in upvalue 'inner'" "$tmp/err" ||
    fail "traceback names inner: $(cat "$tmp/err")"

# an error inside a task: the Lua message of the task, status 1
cat >"$tmp/task.lua" <<'LUA'
sc:parallelize({1, 2, 3}):map(function(x) if x == 2 then error("task saw " .. x) end return x end):collect()
LUA
expect 1 "$ember" run --master 'local[2]' "$tmp/task.lua"
grep -q 'task saw 2' "$tmp/err" || fail "task error: $(cat "$tmp/err")"

# bad input gets one clear line and a non-zero status
expect 1 "$ember" run "$tmp/missing.lua"
grep -q 'missing.lua' "$tmp/err" || fail "missing script: $(cat "$tmp/err")"
printf 'x = = 1\n' >"$tmp/syntax.lua"
expect 1 "$ember" run "$tmp/syntax.lua"
grep -q "syntax.lua:1:" "$tmp/err" || fail "syntax: $(cat "$tmp/err")"
expect 1 "$ember" run --master 'bogus[' "$tmp/ok.lua"
grep -qi 'master' "$tmp/err" || fail "bad master: $(cat "$tmp/err")"
expect 1 "$ember" run --memory lots "$tmp/ok.lua"
grep -q 'not a size' "$tmp/err" || fail "bad memory: $(cat "$tmp/err")"
expect 2 "$ember" run
expect 2 "$ember" run --master
expect 2 "$ember" run --bogus x.lua
expect 2 "$ember" frobnicate
grep -q "unknown command 'frobnicate'" "$tmp/err" || fail "unknown: $(cat "$tmp/err")"
expect 2 "$ember"

# help and version
expect 0 "$ember" help
for c in run shell version; do grep -q "^  $c " "$tmp/out" || fail "help lists $c"; done
expect 0 "$ember" --help
expect 0 "$ember" run --help
grep -q 'usage: ember run' "$tmp/out" || fail "run --help"
expect 0 "$ember" help shell
grep -q 'usage: ember shell' "$tmp/out" || fail "help shell"
expect 0 "$ember" version
grep -Eq '^ember [0-9]+\.[0-9]+\.[0-9]+$' "$tmp/out" || fail "version: $(cat "$tmp/out")"
echo "test_cli: ok"
