#!/usr/bin/env bash
# The averaged perceptron and grid search examples on the breast cancer
# set (scripts/fetch-data.sh), each C program next to its Lua script in
# examples/lua/, against independent expectations:
#   perceptron: held-out accuracy (every fifth row held out) within 3
#     points of scikit-learn's Perceptron on the same split in ipm mode, 5
#     in hogwild mode (timing-dependent);
#   grid_search: the best cell's mean 5-fold accuracy within 2 points of
#     scikit-learn's LogisticRegression cross-validated on the same
#     KFold blocks, and the best line is the cell with the highest mean.
# The C programs print the same on local[1] and local[2] and on a pool of
# two `ember worker`s (hogwild, whose result depends on the threads'
# timing, excepted), and the Lua scripts the same as the C programs (the
# grid search's on the pool too). Skips,
# saying why, when the data cannot be fetched; the scikit-learn references
# are skipped with a note when Python cannot import them.
#
#   tests/integration/test_ml_grid_examples.sh BUILD_DIR
set -euo pipefail
build=$1
. "$(dirname "$0")/ml_lib.sh"
ex=$build/examples
lua=$here/../../examples/lua
ember=$build/cli/ember
export LC_ALL=C
export HOME=$tmp/home # the master creates ~/.ember/secret here
unset EMBER_MASTER EMBER_SECRET_FILE
mkdir -p "$HOME"

fetch cancer breast-cancer

fail=0
groups=()
cleanup() {
    for g in "${groups[@]}"; do kill -9 -- "-$g" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
field() { awk -F '\t' -v k="$1" '$1 == k { print $2 }' "$2"; }
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=1; }
# within A B POINTS: |A - B| <= POINTS / 100
within() { awk -v a="$1" -v b="$2" -v p="$3" \
    'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= p / 100 + 1e-9) }'; }

# runs NAME MASTER ARGS...: the C program's output into $tmp/NAME.MASTER
runc() {
    local name=$1 master=$2
    shift 2
    "$ex/$name" --master "$master" "$@" >"$tmp/$name.$master" \
        2>"$tmp/err" || { bad "$name $master: $(cat "$tmp/err")"; exit 1; }
}
# same_as FILE OTHER WHAT: identical outputs
same_as() {
    if cmp -s "$1" "$2"; then ok "$3"; else
        bad "$3"
        diff "$1" "$2" | sed -n 1,6p
    fi
}

for name in perceptron grid_search; do
    runc "$name" 'local[1]' "$cancer"
    runc "$name" 'local[2]' "$cancer"
    same_as "$tmp/$name.local[1]" "$tmp/$name.local[2]" \
        "$name: local[1] and local[2] agree"
    "$ember" run --master 'local[2]' "$lua/$name.lua" "$cancer" \
        >"$tmp/$name.lua" 2>"$tmp/err" ||
        { bad "$name.lua: $(cat "$tmp/err")"; exit 1; }
    same_as "$tmp/$name.local[1]" "$tmp/$name.lua" \
        "$name: the Lua script prints what the C program does"
done
"$ex/perceptron" --master 'local[2]' --mode hogwild "$cancer" \
    >"$tmp/perceptron.hogwild"

# the best line is the cell with the highest mean (the first on ties)
want=$(awk -F '\t' 'NR > 1 && $1 != "best" && $2 > m { m = $2; c = $1 }
    END { printf "%s\t%.4f", c, m }' "$tmp/grid_search.local[1]")
got=$(awk -F '\t' '$1 == "best" { printf "%s\t%s", $2, $3 }' \
    "$tmp/grid_search.local[1]")
[[ $got == "$want" ]] && ok "grid_search: best is the highest mean" ||
    bad "grid_search: best $got, highest mean $want"

if "$py" -c 'import sklearn' 2>/dev/null; then
    read -r skp sklr < <("$py" - "$cancer" <<'EOF'
import sys
import numpy as np
from sklearn.linear_model import LogisticRegression, Perceptron
from sklearn.model_selection import KFold, cross_val_score
d = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1)
x = (d[:, :-1] - d[:, :-1].mean(0)) / d[:, :-1].std(0)
y = d[:, -1]
held = np.arange(len(y)) % 5 == 0
p = Perceptron(random_state=0).fit(x[~held], y[~held])
lr = cross_val_score(LogisticRegression(max_iter=10000), x, y, cv=KFold(5))
print("%.4f %.4f" % (p.score(x[held], y[held]), lr.mean()))
EOF
)
    # hogwild's model depends on the threads' timing: on the 114 held-out
    # rows it has measured 0.9386 to 0.9561, so it gets 5 points
    for run in local[1] hogwild; do
        acc=$(field held_out_accuracy "$tmp/perceptron.$run")
        margin=3
        [[ $run == hogwild ]] && margin=5
        within "$acc" "$skp" "$margin" &&
            ok "perceptron $run: held-out accuracy $acc, scikit-learn's $skp" ||
            bad "perceptron $run: held-out accuracy $acc, scikit-learn's $skp"
    done
    best=$(awk -F '\t' '$1 == "best" { print $3 }' "$tmp/grid_search.local[1]")
    within "$best" "$sklr" 2 &&
        ok "grid_search: best mean accuracy $best, scikit-learn's $sklr" ||
        bad "grid_search: best mean accuracy $best, scikit-learn's $sklr"
else
    echo "note: python3 cannot import sklearn; references skipped"
fi

# a pool of two workers: the same answers as local mode
wait_for() { # seconds, command...
    local limit=$1
    shift
    for _ in $(seq $((limit * 10))); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}
setsid "$ember" master --port 0 --port-file "$tmp/port" \
    2>>"$tmp/master.log" &
groups+=("$!")
wait_for 10 test -s "$tmp/port" || { bad "master did not start"; exit 1; }
url=ember://127.0.0.1:$(cat "$tmp/port")
for w in w1 w2; do
    mkdir -p "$tmp/$w"
    setsid "$ember" worker --master "$url" --cores 2 --work-dir "$tmp/$w" \
        --id "$w" 2>>"$tmp/$w.log" &
    groups+=("$!")
    wait_for 10 grep -q "worker $w " "$tmp/master.log" ||
        { bad "worker $w did not register"; exit 1; }
done
for name in perceptron grid_search; do
    timeout 120 "$ex/$name" --master "$url" "$cancer" >"$tmp/$name.pool" \
        2>"$tmp/err" || { bad "$name on the pool: $(tail -3 "$tmp/err")"; }
    same_as "$tmp/$name.local[1]" "$tmp/$name.pool" \
        "$name: the pool prints what local mode does"
done
timeout 120 "$ember" run --master "$url" "$lua/grid_search.lua" "$cancer" \
    >"$tmp/grid_search.lua_pool" 2>"$tmp/err" ||
    bad "grid_search.lua on the pool: $(tail -3 "$tmp/err")"
same_as "$tmp/grid_search.local[1]" "$tmp/grid_search.lua_pool" \
    "grid_search.lua: the pool prints what local mode does"
timeout 120 "$ex/perceptron" --master "$url" --mode hogwild "$cancer" \
    >"$tmp/perceptron.pool_hogwild" 2>"$tmp/err" ||
    bad "hogwild on the pool: $(tail -3 "$tmp/err")"
acc=$(field held_out_accuracy "$tmp/perceptron.pool_hogwild")
ref=$(field held_out_accuracy "$tmp/perceptron.local[1]")
within "${acc:-0}" "$ref" 3 &&
    ok "perceptron hogwild on the pool: held-out accuracy $acc (ipm $ref)" ||
    bad "perceptron hogwild on the pool: held-out accuracy $acc (ipm $ref)"
exit $fail
