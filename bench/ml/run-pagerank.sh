#!/usr/bin/env bash
# PageRank (reset probability 0.15, tol TOL with networkx's criterion) on
# two real graphs: Ember's em_graph_page_rank on local[2], edges cached
# (bench/ml/pagerank_bench.c), next to networkx.pagerank with the graph
# built beforehand (bench/ml/pagerank_networkx.py), 2 threads allowed.
# Graphs: WormNet v3 (scripts/fetch-data.sh wormnet) and Debian's package
# dependency graph from this machine's apt lists (/var/lib/apt/lists/
# *_Packages.lz4 read with apt-helper cat-file; an edge from each package
# to the first alternative of each entry of its Depends field, version
# and architecture qualifiers dropped, repeated edges once). Medians of
# RUNS runs after a warm-up, as a Markdown table with the speed ratio
# (networkx's time over Ember's) and the L1 distance between the two rank
# vectors (exit 1 when it is above 1e-4). Run from the repository root:
#
#   bench/ml/run-pagerank.sh [RUNS] [TOL]
#
# EMBER_BENCH_BUILD: the build folder to use (default build-release; it is
# configured as Release when missing).
set -euo pipefail
runs=${1:-5}
tol=${2:-1e-6}
dir=${EMBER_BENCH_BUILD:-build-release}
py=/usr/bin/python3
wormnet=$(bash scripts/fetch-data.sh wormnet)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ember-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

[[ -d $dir ]] || cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release \
    -DEMBER_TESTS=OFF >&2
cmake --build "$dir" -j 2 --target ember_static >&2
. bench/static-libs.sh
# shellcheck disable=SC2046
cc -O2 -I include -o "$tmp/pagerank_bench" bench/ml/pagerank_bench.c \
    $(ember_static_libs "$dir")

# Debian's dependency graph, "package dependency" a line.
debian_edges() {
    local f
    for f in /var/lib/apt/lists/*_Packages.lz4; do
        /usr/lib/apt/apt-helper cat-file "$f"
    done | awk '
        /^Package:/ { p = $2 }
        /^Depends:/ {
            n = split(substr($0, 10), dep, ",")
            for (i = 1; i <= n; i++) {
                split(dep[i], alt, "|")
                x = alt[1]
                sub(/\(.*\)/, "", x); gsub(/[ \t]/, "", x); sub(/:.*/, "", x)
                if (x != "") print p " " x
            }
        }' | LC_ALL=C sort -u
}

graphs=(wormnet)
cp "$wormnet" "$tmp/wormnet"
if compgen -G '/var/lib/apt/lists/*_Packages.lz4' >/dev/null; then
    debian_edges >"$tmp/debian"
    graphs+=(debian)
else
    echo "no apt lists: the Debian graph is left out" >&2
fi

median() {
    sort -g | awk '{ t[NR] = $1 }
        END { m = NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
              printf "%.4f", m }'
}

echo "| graph | nodes | edges | Ember local[2] (s) | iterations | networkx (s) | Ember's speed / networkx's | L1 |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
ok=0
for g in "${graphs[@]}"; do
    echo "$g: load before $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    "$tmp/pagerank_bench" --master 'local[2]' --runs "$runs" --tol "$tol" \
        --out "$tmp/$g.ranks" "$tmp/$g" >"$tmp/$g.ember" 2>"$tmp/$g.info"
    OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2 "$py" \
        bench/ml/pagerank_networkx.py "$tmp/$g" "$runs" "$tol" \
        "$tmp/$g.ranks" >"$tmp/$g.nx"
    echo "$g: load after $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    cat "$tmp/$g.info" >&2
    nodes=$(sed -n 's/.* edges, \([0-9]*\) nodes.*/\1/p' "$tmp/$g.info")
    edges=$(sed -n 's/.*: \([0-9]*\) edges.*/\1/p' "$tmp/$g.info")
    e=$(awk -F '\t' '$1 == "pagerank" { print $2 }' "$tmp/$g.ember" | median)
    it=$(awk -F '\t' '$1 == "pagerank" { print $3 }' "$tmp/$g.ember" | tail -n 1)
    x=$(awk -F '\t' '$1 == "pagerank" { print $2 }' "$tmp/$g.nx" | median)
    l1=$(awk -F '\t' '$1 == "l1" { print $2 }' "$tmp/$g.nx")
    ratio=$(awk -v e="$e" -v x="$x" 'BEGIN { printf "%.2f", x / e }')
    echo "| $g | $nodes | $edges | $e | $it | $x | $ratio | $l1 |"
    awk -v l="$l1" 'BEGIN { exit !(l > 1e-4) }' && ok=1
done
echo
echo "tol $tol; $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $runs runs each"
exit $ok
