#!/usr/bin/env bash
# examples/allreduce and examples/lua/allreduce: synchronous gradient
# descent whose gradients are allReduced in a barrier stage must find the
# plane the points were drawn from (2, -3, bias 1) with every task holding
# the same model, by ring and by tree, on 1, 3 and 4 task threads; the C
# and Lua programs print the same lines.
#
#   tests/integration/test_allreduce_examples.sh BUILD_DIR
set -uo pipefail
build=$1
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

for n in 1 3 4; do
    for algo in ring tree; do
        name="allreduce local[$n] $algo"
        if ! "$build/examples/allreduce" --master "local[$n]" --algorithm "$algo" \
                > "$tmp/c.out" 2> "$tmp/err" ||
            ! "$build/cli/ember" run --master "local[$n]" \
                "$root/examples/lua/allreduce.lua" 200 "$algo" > "$tmp/lua.out" 2>> "$tmp/err"; then
            echo "FAIL $name: $(cat "$tmp/err")"; fail=1; continue
        fi
        if grep -qx "weights 2.000000 -3.000000 bias 1.000000" "$tmp/c.out" &&
            grep -qx "tasks $n, the same model in each: yes" "$tmp/c.out" &&
            cmp -s "$tmp/c.out" "$tmp/lua.out"; then
            echo "ok   $name"
        else
            echo "FAIL $name: $(cat "$tmp/c.out") / $(cat "$tmp/lua.out")"; fail=1
        fi
    done
done
exit $fail
