#!/usr/bin/env bash
# The test command (CI runs it through .ci/run):
#
#   1. scripts/setup.sh installs what is missing;
#   2. build/       RelWithDebInfo, -Werror: builds and runs every test;
#   3. build-asan/  ASan + UBSan, -Werror: builds and runs the unit,
#                   integration, fuzz and lua tests;
#   4. scripts/check-includes.sh: include direction, third-party
#      confinement, hermetic headers;
#   5. build-clang/ clang, -Werror: builds everything (clang's warnings),
#                   runs nothing.
#
# Every step runs even when an earlier one failed. The last line is
# "N passed, N failed": ctest's results of both runs added up, plus one
# failure for each step that failed outside ctest (a build, the include
# check). Exits non-zero if anything failed.
#
# Environment: EMBER_TEST_TIMEOUT (seconds per test, default 300),
# EMBER_ASAN_BUILD_TYPE (default Debug, so EM_ASSERT is on).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

jobs=$(nproc 2>/dev/null || echo 2)
test_timeout=${EMBER_TEST_TIMEOUT:-300}
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

passed=0
failed=0
failed_steps=()
logdir=$(mktemp -d "${TMPDIR:-/tmp}/ember-test.XXXXXX")
trap 'rm -rf "$logdir"' EXIT

step() { printf '\n==> %s\n' "$*"; }

step_failed() {
    echo "test.sh: FAILED: $1"
    failed_steps+=("$1")
    failed=$((failed + 1))
}

# configure DIR [cmake args...]: Ninja for a new tree when ninja is there; an
# existing tree keeps the generator it was made with.
configure() {
    local dir=$1 gen=()
    shift
    if [[ ! -f $dir/CMakeCache.txt ]] && command -v ninja >/dev/null 2>&1; then
        gen=(-G Ninja)
    fi
    cmake -S . -B "$dir" "${gen[@]}" "$@"
}

# build_tree DIR [cmake args...]: configures and builds; returns non-zero
# on failure.
build_tree() {
    local dir=$1
    configure "$@" || return 1
    cmake --build "$dir" -j "$jobs" || return 1
}

# run_ctest DIR NAME [ctest args...]: runs ctest and adds its counts.
run_ctest() {
    local dir=$1 name=$2 log rc=0 line total nfail
    shift 2
    log=$logdir/$name.log
    (cd "$dir" && ctest --output-on-failure -j2 --timeout "$test_timeout" \
        "$@") 2>&1 | tee "$log" || rc=$?
    line=$(grep -Eo '[0-9]+ tests? failed out of [0-9]+' "$log" | tail -1 ||
        true)
    if [[ -n $line ]]; then
        nfail=${line%% *}
        total=${line##* }
        passed=$((passed + total - nfail))
        failed=$((failed + nfail))
        if ((nfail == 0 && rc != 0)); then
            step_failed "ctest in $dir exited $rc"
        fi
    elif ((rc != 0)); then
        step_failed "ctest in $dir exited $rc without a summary"
    else
        echo "test.sh: note: ctest found no tests in $dir $*"
    fi
}

step "setup"
bash scripts/setup.sh

step "build/ (RelWithDebInfo, -Werror)"
if build_tree build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEMBER_WERROR=ON \
    -DEMBER_SANITIZE=OFF -DEMBER_TESTS=ON; then
    step "ctest in build/ (all labels)"
    run_ctest build main
else
    step_failed "build of build/"
fi

step "build-asan/ (ASan + UBSan, -Werror)"
if build_tree build-asan \
    -DCMAKE_BUILD_TYPE="${EMBER_ASAN_BUILD_TYPE:-Debug}" \
    -DEMBER_SANITIZE=ON -DEMBER_WERROR=ON -DEMBER_TESTS=ON; then
    step "ctest in build-asan/ (unit|integration|fuzz|lua)"
    run_ctest build-asan asan -L 'unit|integration|fuzz|lua'
else
    step_failed "build of build-asan/"
fi

step "check-includes"
if ! bash scripts/check-includes.sh; then
    step_failed "check-includes.sh"
fi

step "build-clang/ (clang, -Werror, build only)"
if ! CC=clang build_tree build-clang \
    -DEMBER_WERROR=ON -DEMBER_TESTS=ON; then
    step_failed "build of build-clang/"
fi

echo
if ((${#failed_steps[@]} > 0)); then
    printf 'test.sh: failed step: %s\n' "${failed_steps[@]}"
fi
echo "$passed passed, $failed failed"
((failed == 0))
