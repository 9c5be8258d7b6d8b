#!/usr/bin/env bash
# The wordcount example against an independent count (tr | sort | uniq -c)
# on small and generated inputs, for several masters and partition counts,
# including a gzip input and a directory of files.
set -euo pipefail
build=$1
here=$(cd "$(dirname "$0")" && pwd)
wc_bin=$build/examples/wordcount
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

reference() {
    cat "$@" | LC_ALL=C tr -cs 'A-Za-z' '\n' | LC_ALL=C tr 'A-Z' 'a-z' |
        grep -v '^$' | LC_ALL=C sort | uniq -c |
        awk '{print $2 "\t" $1}' | LC_ALL=C sort -t "$(printf '\t')" -k2,2nr -k1,1
}

# a generated input with many words and long lines
awk 'BEGIN { srand(7); for (i = 0; i < 20000; i++) {
        line = ""; n = int(rand() * 30);
        for (j = 0; j < n; j++) line = line sprintf("w%c%c ", 97 + int(rand() * 26), 97 + int(rand() * 5));
        print line } }' > "$tmp/gen.txt"
mkdir "$tmp/dir"
cp "$here/../data/words.txt" "$tmp/dir/a.txt"
cp "$tmp/gen.txt" "$tmp/dir/b.txt"
gzip -c "$tmp/gen.txt" > "$tmp/dir/c.txt.gz"

fail=0
check() { # name, expected file, command...
    local name=$1 want=$2; shift 2
    if ! "$@" > "$tmp/out" 2> "$tmp/err"; then
        echo "FAIL $name: exited non-zero: $(cat "$tmp/err")"; fail=1; return
    fi
    if ! cmp -s "$tmp/out" "$want"; then
        echo "FAIL $name: output differs"; diff "$want" "$tmp/out" | head -5
        fail=1; return
    fi
    echo "ok   $name"
}

reference "$here/../data/words.txt" > "$tmp/want_small"
reference "$tmp/gen.txt" > "$tmp/want_gen"
{ cat "$here/../data/words.txt"; echo; cat "$tmp/gen.txt" "$tmp/gen.txt"; } > "$tmp/all"
reference "$tmp/all" > "$tmp/want_dir"
head -n 5 "$tmp/want_gen" > "$tmp/want_top5"

for master in local 'local[2]' 'local[7]'; do
    for parts in 1 3 16; do
        check "small $master p=$parts" "$tmp/want_small" \
            "$wc_bin" --master "$master" --partitions "$parts" "$here/../data/words.txt"
        check "generated $master p=$parts" "$tmp/want_gen" \
            "$wc_bin" --master "$master" --partitions "$parts" "$tmp/gen.txt"
    done
    check "directory with gzip $master" "$tmp/want_dir" \
        "$wc_bin" --master "$master" "$tmp/dir"
done
check "top 5" "$tmp/want_top5" "$wc_bin" --top 5 "$tmp/gen.txt"
EMBER_MASTER='local[3]' check "EMBER_MASTER" "$tmp/want_gen" "$wc_bin" "$tmp/gen.txt"

# bad input: a missing file and a bad master fail with a message
if "$wc_bin" "$tmp/missing.txt" 2> "$tmp/err"; then
    echo "FAIL missing file: exited 0"; fail=1
elif ! grep -q "missing.txt" "$tmp/err"; then
    echo "FAIL missing file: message does not name the path"; fail=1
else
    echo "ok   missing file"
fi
if "$wc_bin" --master bogus "$tmp/gen.txt" 2> "$tmp/err"; then
    echo "FAIL bad master: exited 0"; fail=1
else
    echo "ok   bad master"
fi
exit $fail
