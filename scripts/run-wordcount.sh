#!/usr/bin/env bash
# The main job: installs what is missing, fetches the GCIDE dictionary (about
# 40 MB of English text), builds Ember (Release, in build-release/, so that
# it does not disturb the test build in build/), and runs the word count
# example on it in local mode on all cores, printing the top 20 words as
# "word<TAB>count".
#
#   scripts/run-wordcount.sh [wordcount options...]
#
# Extra options go to the wordcount example after the default "--top 20",
# e.g. `scripts/run-wordcount.sh --master 'local[2]' --top 50`.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

bash scripts/setup.sh
data=$(bash scripts/fetch-data.sh gcide)

dir=build-release
gen=()
if [[ ! -f $dir/CMakeCache.txt ]] && command -v ninja >/dev/null 2>&1; then
    gen=(-G Ninja)
fi
log=$(mktemp "${TMPDIR:-/tmp}/ember-build.XXXXXX")
trap 'rm -f "$log"' EXIT
echo "run-wordcount.sh: building $dir/ (Release)" >&2
if ! { cmake -S . -B "$dir" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DEMBER_SANITIZE=OFF -DEMBER_TESTS=OFF &&
    cmake --build "$dir" -j "$(nproc 2>/dev/null || echo 2)" \
        --target wordcount; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "run-wordcount.sh: the build failed" >&2
    exit 1
fi

args=(--top 20 "$@")
echo "run-wordcount.sh: $dir/examples/wordcount ${args[*]}" \
    "${data#"$root"/}" >&2
exec "$dir/examples/wordcount" "${args[@]}" "$data"
