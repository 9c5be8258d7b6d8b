#!/usr/bin/env bash
# Naive Bayes training throughput side by side on Debian's fortunes (40
# topic files, the topic is the label): Ember's em_nb_train (nb_bench.c:
# record splitting, ASCII tokenization, HashingTF with 2^16 features and
# training, from the cached file contents) on local[1] and local[2], and
# scikit-learn's CountVectorizer + MultinomialNB.fit (nb_sklearn.py: the
# same tokens and alpha, from the record texts in memory). RUNS timed runs
# each after one warm-up run; the table gives the median, records per
# second and the ratio to scikit-learn.
#
#   bench/text/run-naive-bayes.sh [N]    N copies of every topic file
#                                        (default 10: 143,960 records)
#
# The Markdown table and a description of the machine go to stdout (for
# docs/BENCHMARKS.md); progress goes to stderr. Environment: RUNS (default
# 5); EMBER_BENCH_BUILD, the Release build folder (default build-release).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

mult=${1:-10}
runs=${RUNS:-5}
[[ $mult =~ ^[1-9][0-9]*$ && $runs =~ ^[1-9][0-9]*$ ]] || {
    echo "usage: bench/text/run-naive-bayes.sh [N]  (RUNS a positive integer)" >&2
    exit 2
}
dir=${EMBER_BENCH_BUILD:-build-release}
py=/usr/bin/python3

log() { echo "bench: $*" >&2; }
die() { log "$*"; exit 1; }

fortunes=$(bash scripts/fetch-data.sh fortunes)
if ! "$py" -c 'import sklearn' 2>/dev/null; then
    sudo=
    [[ $(id -u) == 0 ]] || sudo="sudo -n"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q \
        --no-install-recommends python3-sklearn >&2 ||
        die "python3-sklearn is needed"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ember-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

log "building $dir/ (Release) and nb_bench"
if ! { cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release \
    -DEMBER_SANITIZE=OFF -DEMBER_TESTS=OFF &&
    cmake --build "$dir" -j "$(nproc 2>/dev/null || echo 2)" \
        --target ember_static; } >"$tmp/build.log" 2>&1; then
    cat "$tmp/build.log" >&2
    die "the Ember build failed"
fi
. bench/static-libs.sh
# shellcheck disable=SC2046
cc -O2 -I include -I examples/common -o "$tmp/nb_bench" bench/text/nb_bench.c \
    examples/common/fortunes.c $(ember_static_libs "$dir")

# N copies of every topic file, a "%" line between copies
mkdir "$tmp/data"
for f in "$fortunes"/*; do
    for ((i = 0; i < mult; i++)); do
        cat "$f"
        [[ $(tail -c 2 "$f") == % ]] || printf '%%\n'
    done >"$tmp/data/${f##*/}"
done

# median of the first column of "seconds<TAB>records" lines (after the
# warm-up line); prints "median records"
median() {
    tail -n +2 "$1" | sort -g | awk '{ t[NR] = $1; n = $2 }
        END { m = NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
              print m, n }'
}

names=() meds=() recs=()
for master in 'local[1]' 'local[2]'; do
    log "Ember $master"
    "$tmp/nb_bench" --master "$master" --runs $((runs + 1)) "$tmp/data" \
        >"$tmp/ember-$master"
    read -r m n < <(median "$tmp/ember-$master")
    names+=("Ember em_nb_train, $master") meds+=("$m") recs+=("$n")
done
log "scikit-learn"
"$py" bench/text/nb_sklearn.py --runs $((runs + 1)) "$tmp/data" >"$tmp/sk"
read -r sk_m sk_n < <(median "$tmp/sk")
names+=("scikit-learn CountVectorizer + MultinomialNB.fit") meds+=("$sk_m")
recs+=("$sk_n")

cpu=$(awk -F ': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo "Fortunes x$mult: $sk_n records, $(du -sh "$tmp/data" | cut -f1)B;" \
    "median of $runs runs after a warm-up."
echo
echo "| program | median s | records/s | speed vs scikit-learn |"
echo "| --- | ---: | ---: | ---: |"
for i in "${!names[@]}"; do
    awk -v n="${names[i]}" -v t="${meds[i]}" -v r="${recs[i]}" \
        -v s="$sk_m" 'BEGIN { printf "| %s | %.3f | %.0f | %.2fx |\n",
            n, t, r / t, s / t }'
done
echo
echo "Machine: $(nproc) CPUs ($cpu), $(free -g | awk '/^Mem/ { print $2 }')" \
    "GiB; kernel $(uname -r); $(cc --version | head -n 1); Python" \
    "$("$py" -c 'import platform; print(platform.python_version())')," \
    "scikit-learn $("$py" -c 'import sklearn; print(sklearn.__version__)')," \
    "NumPy $("$py" -c 'import numpy; print(numpy.__version__)')."
