"""A straightforward reference for bigram PMI and corpus comparison
(em_text_bigram_pmi, em_text_compare_corpora), checked against Ember's
records to a relative 1e-9.

    ref_corpora.py pmi CORPUS MIN_COUNT EMBER_RECORDS
    ref_corpora.py compare CORPUS_A CORPUS_B MIN_COUNT SMOOTHING EMBER_RECORDS
    ref_corpora.py top CORPUS_A CORPUS_B MIN_COUNT SMOOTHING N

Tokens are maximal runs of ASCII letters, lowercased; bigrams are taken
within a line. pmi records are "w1 w2<TAB>count<TAB>pmi", compare records
"word<TAB>countA<TAB>countB<TAB>score". Every record of the reference must
be there with equal counts and a value within 1e-9 of it (relative to
max(1, |value|)), and no other. Prints the number of records and the
largest difference; exits 1 on a mismatch. `top` prints what
examples/compare_corpora prints: the N words of highest and of lowest
score (ties by word).
"""
import math
import re
import sys
from collections import Counter

WORD = re.compile(rb"[A-Za-z]+")


def lines_tokens(path):
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [[w.lower().decode() for w in WORD.findall(l)] for l in lines]


def pmi(path, min_count):
    words, bigrams = Counter(), Counter()
    for toks in lines_tokens(path):
        words.update(toks)
        bigrams.update(zip(toks, toks[1:]))
    n, b = sum(words.values()), sum(bigrams.values())
    return {f"{x} {y}": (c, math.log((c / b) / ((words[x] / n) * (words[y] / n))))
            for (x, y), c in bigrams.items() if c >= min_count}


def compare(path_a, path_b, min_count, a):
    ca = Counter(w for toks in lines_tokens(path_a) for w in toks)
    cb = Counter(w for toks in lines_tokens(path_b) for w in toks)
    na, nb = sum(ca.values()), sum(cb.values())
    vocab = set(ca) | set(cb)
    v = len(vocab)
    return {w: ((ca[w], cb[w]),
                math.log((ca[w] + a) / (na + a * v))
                - math.log((cb[w] + a) / (nb + a * v)))
            for w in vocab if ca[w] + cb[w] >= min_count}


def read_ember(path, ncounts):
    got = {}
    with open(path) as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            counts = tuple(int(x) for x in fields[1:1 + ncounts])
            got[fields[0]] = (counts[0] if ncounts == 1 else counts,
                              float(fields[1 + ncounts]))
    return got


def top(path_a, path_b, min_count, a, n):
    recs = compare(path_a, path_b, min_count, a)
    for title, sign, path in (("", 1, path_a), ("\n", -1, path_b)):
        print(f"{title}# most typical of {path}")
        print("score\tcountA\tcountB\tword")
        for w in sorted(recs, key=lambda w: (-sign * recs[w][1], w))[:n]:
            (ca, cb), score = recs[w]
            print(f"{score:.4f}\t{ca}\t{cb}\t{w}")


def main():
    if sys.argv[1] == "top":
        top(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]),
            int(sys.argv[6]))
        return
    if sys.argv[1] == "pmi":
        want = pmi(sys.argv[2], int(sys.argv[3]))
        got = read_ember(sys.argv[4], 1)
    else:
        want = compare(sys.argv[2], sys.argv[3], int(sys.argv[4]),
                       float(sys.argv[5]))
        got = read_ember(sys.argv[6], 2)
    bad, worst = 0, 0.0
    for key in want.keys() | got.keys():
        if key not in got or key not in want:
            print(f"{key!r}: only in {'the reference' if key in want else 'Ember'}")
            bad += 1
            continue
        (wc, wv), (gc, gv) = want[key], got[key]
        diff = abs(gv - wv) / max(1.0, abs(wv))
        worst = max(worst, diff)
        if wc != gc or diff > 1e-9:
            print(f"{key!r}: Ember {gc} {gv!r}, reference {wc} {wv!r}")
            bad += 1
    print(f"{len(want)} records, largest relative difference {worst:.3g}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
