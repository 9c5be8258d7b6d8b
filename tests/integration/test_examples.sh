#!/usr/bin/env bash
# The sort and pagerank_basic examples against independent references:
# LC_ALL=C sort, and PageRank computed by an awk program, on generated
# inputs, for several masters and partition counts, with a small memory
# budget so that the shuffle spills.
set -euo pipefail
build=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# ---- sort ----
awk 'BEGIN { srand(11); for (i = 0; i < 30000; i++) {
        n = 1 + int(rand() * 12); s = "";
        for (j = 0; j < n; j++) s = s sprintf("%c", 32 + int(rand() * 95));
        print s } print ""; print "" }' > "$tmp/lines.txt"
LC_ALL=C sort "$tmp/lines.txt" > "$tmp/want_sorted"
for master in local 'local[2]' 'local[7]'; do
    for parts in 1 4; do
        out=$tmp/sorted-$parts-${master//[^a-z0-9]/}
        if ! "$build/examples/sort" --master "$master" --partitions "$parts" \
            --memory 2m "$tmp/lines.txt" "$out" 2> "$tmp/err"; then
            echo "FAIL sort $master p=$parts: $(cat "$tmp/err")"; fail=1; continue
        fi
        if ! cat "$out"/part-* | cmp -s - "$tmp/want_sorted"; then
            echo "FAIL sort $master p=$parts: output differs"; fail=1; continue
        fi
        [ -f "$out/_SUCCESS" ] || { echo "FAIL sort: no _SUCCESS"; fail=1; }
        echo "ok   sort $master p=$parts"
    done
done
if "$build/examples/sort" "$tmp/lines.txt" "$out" 2> "$tmp/err"; then
    echo "FAIL sort over an existing directory: exited 0"; fail=1
else
    echo "ok   sort refuses to overwrite"
fi

# ---- pagerank_basic ----
awk 'BEGIN { srand(5); for (i = 0; i < 3000; i++) {
        s = int(rand() * 300); d = int((rand() ^ 2) * 300);
        print "n" s " n" d } print "# a comment"; print "not an edge line x" }' \
    > "$tmp/edges.txt"
# Spark's example: ranks of nodes with out-links start at 1; each round,
# rank(n) = 0.15 + 0.85 * sum(rank(m) / outdeg(m)) over distinct links m->n
# of nodes m that have a rank; nodes without in-links drop out.
awk -v iters=10 '
    /^#/ || NF != 2 { next }
    !(($1, $2) in seen) { seen[$1, $2] = 1; out[$1]++; src[++n] = $1; dst[n] = $2 }
    END {
        for (k in out) rank[k] = 1.0
        for (it = 0; it < iters; it++) {
            split("", c)
            for (i = 1; i <= n; i++) if (src[i] in rank) c[dst[i]] += rank[src[i]] / out[src[i]]
            split("", rank)
            for (k in c) rank[k] = 0.15 + 0.85 * c[k]
        }
        for (k in rank) printf "%s\t%.6f\n", k, rank[k]
    }' "$tmp/edges.txt" | LC_ALL=C sort -t "$(printf '\t')" -k2,2gr -k1,1 | head -n 25 \
    > "$tmp/want_ranks"
for master in local 'local[2]' 'local[7]'; do
    for parts in 1 3; do
        if ! "$build/examples/pagerank_basic" --master "$master" --partitions "$parts" \
            --iterations 10 --top 25 "$tmp/edges.txt" > "$tmp/ranks" 2> "$tmp/err"; then
            echo "FAIL pagerank $master p=$parts: $(cat "$tmp/err")"; fail=1; continue
        fi
        # compare names and ranks to 1e-6 (the last printed digit may round differently)
        if ! paste "$tmp/want_ranks" "$tmp/ranks" | awk -F '\t' '
                $1 != $3 || ($2 - $4 > 2e-6 || $4 - $2 > 2e-6) { bad = 1; print "  want", $1, $2, "got", $3, $4 }
                END { exit bad }'; then
            echo "FAIL pagerank $master p=$parts"; fail=1; continue
        fi
        grep -q "skipped 1 malformed" "$tmp/err" ||
            { echo "FAIL pagerank: malformed line not reported"; fail=1; continue; }
        echo "ok   pagerank $master p=$parts"
    done
done
exit $fail
