#!/usr/bin/env bash
# examples/pagerank on networkx's WormNet v3 example graph (2,445 nodes,
# 78,736 edges, read as directed) against networkx.pagerank with a tight
# tolerance (tests/integration/ref_pagerank.py): every node, the L1
# distance of the rank vectors below 1e-6, ranks summing to 1, and the
# same output on local[1], local[2] and local[7]. Skips, saying why, when
# the graph cannot be fetched or networkx cannot be installed.
set -euo pipefail
build=$1
. "$(dirname "$0")/ml_lib.sh"
pr=$build/examples/pagerank

fetch graph wormnet
need_python 'import networkx, scipy' python3-networkx python3-scipy

fail=0
for master in 'local[1]' 'local[2]' 'local[7]'; do
    if ! "$pr" --master "$master" --partitions 4 --tol 1e-12 --top 0 \
        "$graph" >"$tmp/ember-$master" 2>"$tmp/err"; then
        echo "FAIL pagerank $master: $(cat "$tmp/err")"
        exit 1
    fi
done
for master in 'local[2]' 'local[7]'; do
    if ! cmp -s "$tmp/ember-local[1]" "$tmp/ember-$master"; then
        echo "FAIL: $master differs from local[1]"
        fail=1
    fi
done
"$py" "$here/ref_pagerank.py" "$graph" 1e-12 >"$tmp/ref"
read -r n nref l1 sum < <(awk -F '\t' '
    NR == FNR { r[$1] = $2; nref++; next }
    { d = r[$1] - $2; if (!($1 in r)) d = 1; s += d < 0 ? -d : d; t += $2; n++ }
    END { printf "%d %d %.3g %.15f\n", n, nref, s, t }' "$tmp/ref" "$tmp/ember-local[1]")
if [[ $n != "$nref" ]]; then
    echo "FAIL: $n nodes ranked, networkx ranks $nref"
    fail=1
elif awk -v d="$l1" -v s="$sum" 'BEGIN { e = s - 1; exit !(d >= 1e-6 || e > 1e-9 || e < -1e-9) }'
then
    echo "FAIL: L1 distance to networkx $l1, ranks sum to $sum"
    fail=1
else
    echo "ok   $n nodes: L1 distance to networkx.pagerank $l1, ranks sum to $sum"
fi
exit $fail
