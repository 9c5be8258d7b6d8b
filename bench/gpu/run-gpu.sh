#!/usr/bin/env bash
# Builds bench/gpu/bench_gpu.c against a Release build of Ember in
# $EMBER_BUILD (default build-release/, configured when needed) and runs it: a k-means E-step
# (k=100, 64 dimensions) and a logistic regression epoch on 1M points, on
# the GPU when there is one, else on the CPU path over 2 threads.
#   bench/gpu/run-gpu.sh [N [K [D [T [R]]]]]
set -euo pipefail
cd "$(dirname "$0")/../.."
b=${EMBER_BUILD:-build-release}
if [ ! -f "$b/libember.a" ]; then
    cmake -S . -B "$b" -DCMAKE_BUILD_TYPE=Release -DEMBER_TESTS=OFF >/dev/null
fi
cmake --build "$b" -j2 --target ember_static >/dev/null
. bench/static-libs.sh
# shellcheck disable=SC2046
cc -O2 -Iinclude -I. -o "$b/bench_gpu" bench/gpu/bench_gpu.c \
    $(ember_static_libs "$b")
"$b/bench_gpu" "$@"
