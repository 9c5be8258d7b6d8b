#!/usr/bin/env bash
# Installs the built tree into a temporary prefix and builds a small
# program against it twice: with CMake's find_package(Ember) and with
# pkg-config; both programs must print the right answer.
set -euo pipefail
build=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" > /dev/null

cat > "$tmp/app.c" <<'C'
#include <stdio.h>
#include <ember.h>
static em_status sq(em_task *t, const em_val *env, const em_val *a,
                    size_t n, em_val *out)
{
    *out = em_int(a[0].u.i * a[0].u.i);
    return EM_OK;
}
int main(void)
{
    em_conf c = {0};
    c.master = "local[2]";
    c.progress = -1;
    em_ctx *ctx = em_ctx_create(&c);
    em_val v;
    if (em_rdd_sum(em_rdd_map(em_ctx_range(ctx, 0, 1000, 1, 4), EM_FN(sq)),
                   &v) != EM_OK)
        return 1;
    printf("%lld\n", (long long)v.u.i);
    em_ctx_destroy(ctx);
    return 0;
}
C
cat > "$tmp/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.18)
project(app C)
find_package(Ember REQUIRED)
add_executable(app app.c)
target_link_libraries(app PRIVATE Ember::ember)
CM
want=332833500
cmake -S "$tmp" -B "$tmp/b" -DCMAKE_PREFIX_PATH="$tmp/prefix" > /dev/null
cmake --build "$tmp/b" > /dev/null
got=$(LD_LIBRARY_PATH="$tmp/prefix/lib:$tmp/prefix/lib64:$(find "$tmp/prefix" -name 'libember.so*' -printf '%h\n' | head -1)" "$tmp/b/app")
[ "$got" = "$want" ] || { echo "FAIL find_package: got $got, want $want"; exit 1; }
echo "ok   find_package(Ember)"

pcdir=$(find "$tmp/prefix" -name ember.pc -printf '%h\n' | head -1)
# shellcheck disable=SC2046
cc -o "$tmp/app2" "$tmp/app.c" $(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags --libs ember)
got=$(LD_LIBRARY_PATH="$(dirname "$pcdir")" "$tmp/app2")
[ "$got" = "$want" ] || { echo "FAIL pkg-config: got $got, want $want"; exit 1; }
echo "ok   pkg-config ember"
