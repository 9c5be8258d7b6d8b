#!/usr/bin/env bash
# Word count side by side on the GCIDE dictionary: Ember's wordcount example
# on local[1] and local[2], the plain C floor (bench/wc_plain.c), mawk, and
# the tr | sort | uniq -c pipeline. Each runs RUNS times after one warm-up
# read of the file; the table gives the median wall time, throughput, peak
# RSS (of the largest process, for pipelines) and the ratios to wc_plain and
# to mawk. All programs must agree on the top 100 words and their counts, or
# the script fails.
#
#   bench/run-wordcount.sh [N]      N copies of GCIDE (default 1)
#
# The Markdown table and a description of the machine go to stdout (for
# docs/BENCHMARKS.md); progress goes to stderr. Environment: RUNS (default
# 5); EMBER_BENCH_SKIP_EMBER=1 leaves Ember out (to check the peers alone).
# The commands to time are kept in single quotes on purpose: bash -c expands
# them at run time.
# shellcheck disable=SC2016
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

mult=${1:-1}
runs=${RUNS:-5}
[[ $mult =~ ^[1-9][0-9]*$ ]] || {
    echo "usage: bench/run-wordcount.sh [N]" >&2
    exit 2
}
[[ $runs =~ ^[1-9][0-9]*$ ]] || {
    echo "run-wordcount.sh: RUNS must be a positive integer" >&2
    exit 2
}
skip_ember=${EMBER_BENCH_SKIP_EMBER:-0}

log() { echo "bench: $*" >&2; }
die() {
    log "$*"
    exit 1
}

bash scripts/setup.sh
if ((mult == 1)); then
    DATA=$(bash scripts/fetch-data.sh gcide)
else
    DATA=$(bash scripts/fetch-data.sh "gcide-x$mult")
fi
export DATA

dir=build-release
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ember-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

if [[ $skip_ember != 1 ]]; then
    gen=()
    if [[ ! -f $dir/CMakeCache.txt ]] && command -v ninja >/dev/null 2>&1; then
        gen=(-G Ninja)
    fi
    log "building $dir/ (Release)"
    if ! { cmake -S . -B "$dir" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release \
        -DEMBER_SANITIZE=OFF -DEMBER_TESTS=OFF &&
        cmake --build "$dir" -j "$(nproc 2>/dev/null || echo 2)" \
            --target wordcount; } >"$tmp/build.log" 2>&1; then
        cat "$tmp/build.log" >&2
        die "the Ember build failed"
    fi
fi
EMBER=$root/$dir/examples/wordcount
WC_PLAIN=$root/$dir/bench/wc_plain
mkdir -p "$dir/bench"
if [[ ! -x $WC_PLAIN || bench/wc_plain.c -nt $WC_PLAIN ]]; then
    log "building wc_plain (cc -O2)"
    cc -O2 -o "$WC_PLAIN" bench/wc_plain.c
fi
# The same tokenization in awk: non-letters to spaces, lowercase, count.
MAWK_PROG=$tmp/wc.awk
cat >"$MAWK_PROG" <<'EOF'
{
    gsub(/[^A-Za-z]+/, " ")
    $0 = tolower($0)
    for (i = 1; i <= NF; i++)
        c[$i]++
}
END { for (w in c) print w "\t" c[w] }
EOF
export EMBER WC_PLAIN MAWK_PROG

# name | command (bash, reads $DATA) | how to turn its output into
# "word<TAB>count" lines
names=()
cmds=()
norms=()
add() {
    names+=("$1")
    cmds+=("$2")
    norms+=("$3")
}
if [[ $skip_ember != 1 ]]; then
    add "ember local[1]" '"$EMBER" --master "local[1]" "$DATA"' cat
    add "ember local[2]" '"$EMBER" --master "local[2]" "$DATA"' cat
fi
add "wc_plain" '"$WC_PLAIN" "$DATA"' cat
add "mawk" 'LC_ALL=C mawk -f "$MAWK_PROG" "$DATA"' cat
add "tr, sort, uniq -c" \
    'LC_ALL=C tr -cs A-Za-z "\n" <"$DATA" | LC_ALL=C tr A-Z a-z |
     LC_ALL=C sort | LC_ALL=C uniq -c' \
    "awk 'NF == 2 { print \$2 \"\\t\" \$1 }'"

log "warm-up read of ${DATA#"$root"/}"
cat "$DATA" >/dev/null

# Runs entry $1 $runs times; leaves its output in $tmp/out.$1 and prints
# "median_seconds median_rss_kb".
measure() {
    local i=$1 r line times=() rss=()
    for ((r = 0; r < runs; r++)); do
        if ! /usr/bin/time -f '%e %M' -o "$tmp/time" \
            bash -o pipefail -c "${cmds[i]}" >"$tmp/out.$i" 2>"$tmp/err.$i"; then
            cat "$tmp/err.$i" >&2
            die "${names[i]} failed"
        fi
        line=$(tail -n 1 "$tmp/time")
        times+=("${line% *}")
        rss+=("${line#* }")
    done
    printf '%s\n' "${times[@]}" | sort -g | awk '{ a[NR] = $1 }
        END { printf "%s ", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
    printf '%s\n' "${rss[@]}" | sort -n | awk '{ a[NR] = $1 }
        END { print a[int((NR + 1) / 2)] }'
}

medians=()
peaks=()
for i in "${!names[@]}"; do
    log "${names[i]}: $runs runs"
    read -r t m < <(measure "$i")
    medians+=("$t")
    peaks+=("$m")
    bash -c "${norms[i]}" <"$tmp/out.$i" |
        LC_ALL=C sort -t "$(printf '\t')" -k2,2nr -k1,1 >"$tmp/norm.$i"
done

# Agreement: every program's top 100 equals wc_plain's.
ref=-1
mawk_i=-1
for i in "${!names[@]}"; do
    [[ ${names[i]} == wc_plain ]] && ref=$i
    [[ ${names[i]} == mawk ]] && mawk_i=$i
done
head -n 100 "$tmp/norm.$ref" >"$tmp/top.ref"
[[ $(wc -l <"$tmp/top.ref") == 100 ]] || die "wc_plain found under 100 words"
bad=0
for i in "${!names[@]}"; do
    head -n 100 "$tmp/norm.$i" >"$tmp/top.$i"
    if ! cmp -s "$tmp/top.ref" "$tmp/top.$i"; then
        log "MISMATCH: ${names[i]} disagrees with wc_plain on the top 100:"
        diff "$tmp/top.ref" "$tmp/top.$i" | head -n 20 >&2 || true
        bad=1
    elif ! cmp -s "$tmp/norm.$ref" "$tmp/norm.$i"; then
        log "note: ${names[i]} agrees on the top 100 but not on every word"
    fi
done
((bad == 0)) || die "the outputs disagree; no table"

size=$(stat -L -c %s "$DATA")
words=$(awk -F '\t' '{ s += $2 } END { print s }' "$tmp/norm.$ref")
distinct=$(wc -l <"$tmp/norm.$ref")
ref_t=${medians[ref]}
mawk_t=${medians[mawk_i]}

cpu=$(awk -F ': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
os=$(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' \
    /etc/os-release 2>/dev/null || true)

echo "### Word count, GCIDE x$mult"
echo
echo "Input: \`${DATA#"$root"/}\`, $(awk -v s="$size" 'BEGIN { printf "%.1f", s / 1e6 }') MB," \
    "$words words, $distinct distinct. Median of $runs runs after a warm-up" \
    "read (file in the page cache); MB = 10^6 bytes; peak RSS of the" \
    "largest process. Ratios are wall time over the other program's" \
    "(below 1 is faster). All programs agree on the top 100 words."
echo
echo "| program | median wall s | MB/s | peak RSS MiB | time vs wc_plain | time vs mawk |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for i in "${!names[@]}"; do
    awk -v n="${names[i]}" -v t="${medians[i]}" -v m="${peaks[i]}" \
        -v s="$size" -v r="$ref_t" -v k="$mawk_t" 'BEGIN {
        tt = t > 0 ? t : 0.005
        printf "| %s | %.2f | %.0f | %.1f | %.2f | %.2f |\n",
            n, t, s / 1e6 / tt, m / 1024, tt / (r > 0 ? r : 0.005),
            tt / (k > 0 ? k : 0.005)
    }'
done
echo
echo "Machine: $cpu; $(nproc) CPUs (nproc); $mem memory; $os;" \
    "kernel $(uname -r); $(cc --version | head -n 1);" \
    "$(mawk -W version 2>&1 | head -n 1); $(sort --version | head -n 1)."
echo "Timed with \`/usr/bin/time -f '%e %M'\` (wall time to 0.01 s)."
