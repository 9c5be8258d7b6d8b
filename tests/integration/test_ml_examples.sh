#!/usr/bin/env bash
# The text and sketch examples on real data from scripts/fetch-data.sh,
# against independent references: word_stats' most frequent words and
# bigrams of the King James Bible against tr | sort | uniq -c and awk;
# compare_corpora on the King James and World English Bibles against
# tests/integration/ref_corpora.py; sketches on the American word list
# against the other words of the huge list (comm): no false negatives, the
# number of queries, a false-positive rate within 20% of the configured one,
# and count-min estimates never below the truth. local[1], local[2] and
# local[7] give the same output. Skips, saying why, when the data cannot be
# fetched.
set -euo pipefail
build=$1
. "$(dirname "$0")/ml_lib.sh"
ex=$build/examples
export LC_ALL=C

fail=0
# run with the options before the paths: ARGS... -- PATHS...
run_ex() {
    local args=() paths=()
    while [[ $1 != -- ]]; do args+=("$1"); shift; done
    shift
    paths=("$@")
    for master in 'local[1]' 'local[2]' 'local[7]'; do
        if ! "${args[@]}" --master "$master" "${paths[@]}" \
            >"$tmp/out-$master" 2>"$tmp/err"; then
            echo "FAIL ${args[0]##*/} $master: $(cat "$tmp/err")"
            exit 1
        fi
        if ! cmp -s "$tmp/out-local[1]" "$tmp/out-$master"; then
            echo "FAIL ${args[0]##*/}: $master differs from local[1]"
            fail=1
        fi
    done
    cp "$tmp/out-local[1]" "$tmp/out"
}
same() { # name, expected file, got file
    if cmp -s "$2" "$3"; then
        echo "ok   $1"
    else
        echo "FAIL $1"; diff "$2" "$3" | sed -n 1,5p; fail=1
    fi
}

fetch kjv kjv
fetch web web
fetch american american
fetch huge american-huge
py=/usr/bin/python3

# ---- word_stats ----
run_ex "$ex/word_stats" --top 15 -- "$kjv"
tr -cs 'A-Za-z' '\n' <"$kjv" | tr 'A-Z' 'a-z' >"$tmp/kjv-words"
{
    echo "# most frequent words"
    grep -v '^$' "$tmp/kjv-words" | sort | uniq -c |
        awk '{ print $1 "\t" $2 }' | sort -t "$(printf '\t')" -k1,1nr -k2,2 |
        sed -n 1,15p
    echo "# most frequent bigrams"
    # bigrams within a line: tokens of each line, pairs printed by awk
    tr 'A-Z' 'a-z' <"$kjv" | tr -cs 'a-z\n' ' ' |
        awk '{ for (i = 1; i < NF; i++) print $i " " $(i + 1) }' | sort |
        uniq -c | awk '{ print $1 "\t" $2 " " $3 }' |
        sort -t "$(printf '\t')" -k1,1nr -k2,2 | sed -n 1,15p
} >"$tmp/want"
sed -n '1,/^# highest PMI/p' "$tmp/out" | sed '$d' >"$tmp/got"
same "word_stats: words and bigrams of the KJV" "$tmp/want" "$tmp/got"

# ---- compare_corpora ----
if [[ -x $py ]]; then
    run_ex "$ex/compare_corpora" --min-count 5 --top 20 -- "$kjv" "$web"
    "$py" "$here/ref_corpora.py" top "$kjv" "$web" 5 1 20 >"$tmp/want"
    same "compare_corpora: KJV against WEB" "$tmp/want" "$tmp/out"
else
    echo "skip compare_corpora: $py is missing"
fi

# ---- sketches ----
run_ex "$ex/sketches" --fpp 0.01 -- "$american" "$huge"
queries=$(comm -13 <(sort -u "$american") <(sort -u "$huge") | wc -l)
field() { # line tag, word before the value
    awk -F '\t' -v t="$1" -v k="$2" '$1 == t {
        for (i = 2; i <= NF; i++) if (index($i, k " ") == 1)
            { print substr($i, length(k) + 2); exit } }' "$tmp/out"
}
fn=$(field bloom 'false negatives')
got_q=$(field bloom queries)
rate=$(field bloom rate)
below=$(field count-min 'below truth')
items=$(field count-min items)
if [[ $fn == 0 && $got_q == "$queries" && $below == 0 &&
    $items == $(($(wc -l <"$american") + $(wc -l <"$huge"))) ]] &&
    awk -v r="$rate" 'BEGIN { exit !(r >= 0.008 && r <= 0.012) }'; then
    echo "ok   sketches: $queries queries, rate $rate, no false negatives"
else
    echo "FAIL sketches: false negatives '$fn', queries '$got_q' (want" \
        "$queries), rate '$rate', below truth '$below', items '$items'"
    cat "$tmp/out"
    fail=1
fi
exit $fail
