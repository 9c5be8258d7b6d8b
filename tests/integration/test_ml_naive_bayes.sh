#!/usr/bin/env bash
# examples/naive_bayes_text on Debian's fortunes (40 topic files, the topic
# is the label, every fifth record of a file held out) against
# scikit-learn's MultinomialNB with the same records, tokens, alpha and
# number of hashed features (tests/integration/ref_naive_bayes.py): the
# held-out accuracy within 1 point, the same record counts, and the same
# output on local[1], local[2] and local[7]. Skips, saying why, when the
# fortunes cannot be fetched or scikit-learn cannot be installed.
set -euo pipefail
build=$1
. "$(dirname "$0")/ml_lib.sh"
nb=$build/examples/naive_bayes_text

fetch fortunes fortunes
need_python 'import sklearn' python3-sklearn

fail=0
field() { awk -F '\t' -v k="$1" '$1 == k { print $2 }' "$2"; }

# features, lambda: the example's defaults (Spark's HashingTF size,
# Laplace), and a smaller space with less smoothing
for params in "262144 1" "65536 0.03"; do
    set -- $params
    for master in 'local[1]' 'local[2]' 'local[7]'; do
        if ! "$nb" --master "$master" --features "$1" --lambda "$2" \
            "$fortunes" >"$tmp/ember-$master" 2>"$tmp/err"; then
            echo "FAIL naive_bayes_text $master: $(cat "$tmp/err")"
            exit 1
        fi
    done
    for master in 'local[2]' 'local[7]'; do
        if ! cmp -s "$tmp/ember-local[1]" "$tmp/ember-$master"; then
            echo "FAIL features $1 lambda $2: $master differs from local[1]"
            fail=1
        fi
    done
    "$py" "$here/ref_naive_bayes.py" --features "$1" --alpha "$2" \
        "$fortunes" >"$tmp/ref"
    "$py" "$here/ref_naive_bayes.py" --alpha "$2" "$fortunes" >"$tmp/count"
    for k in labels 'training records' 'held-out records'; do
        if [[ $(field "$k" "$tmp/ember-local[1]") != $(field "$k" "$tmp/ref") ]]
        then
            echo "FAIL features $1 lambda $2: $k differ"
            fail=1
        fi
    done
    got=$(field 'held-out accuracy' "$tmp/ember-local[1]")
    want=$(field 'held-out accuracy' "$tmp/ref")
    count=$(field 'held-out accuracy' "$tmp/count")
    if awk -v g="$got" -v w="$want" 'BEGIN { d = g - w; exit !(d < -0.01 || d > 0.01) }'
    then
        echo "FAIL features $1 lambda $2: held-out accuracy $got," \
            "scikit-learn's $want"
        fail=1
    else
        echo "ok   features $1 lambda $2: held-out accuracy $got," \
            "scikit-learn's $want (with CountVectorizer's features: $count)"
    fi
done
exit $fail
