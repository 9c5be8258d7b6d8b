"""scikit-learn's multinomial naive Bayes on fortune(6)-format files, split
and tokenized as examples/naive_bayes_text.c does: a record ends at a line
holding exactly "%" (empty records are skipped), its label is the index of
its file in path order, every fifth record of each file (index 4, 9, ...)
is held out, and tokens are maximal runs of ASCII letters, lowercased.

    ref_naive_bayes.py [--alpha A] [--features N] DIR

Features are the term counts of CountVectorizer (one per word of the
training records), or with --features those of HashingVectorizer with N
features, unsigned and unnormalized: the feature space of the example's
HashingTF (another hash function, the same number of features, hence the
same smoothing mass in theta's denominator). Prints the labels, record
counts and the accuracy on both sides, as the example does.
"""
import os
import re
import sys

from sklearn.feature_extraction.text import CountVectorizer, HashingVectorizer
from sklearn.naive_bayes import MultinomialNB

WORD = re.compile(r"[A-Za-z]+")


def records(data):
    """The non-empty records of a fortune file (bytes)."""
    out, start, i, n = [], 0, 0, len(data)
    while i <= n:
        e = data.find(b"\n", i)
        e = n if e < 0 else e
        if e == n or data[i:e] == b"%":
            end = n if e == n else i
            if end > start:
                out.append(data[start:end])
            start = e + 1
        i = e + 1
    return out


def tokens(rec):
    """The tokens of a record (bytes decoded as Latin-1, so that every byte
    is one character and only ASCII letters match)."""
    return [w.lower() for w in WORD.findall(rec)]


def main():
    args = sys.argv[1:]
    alpha, features = 1.0, 0
    while args[:1] in (["--alpha"], ["--features"]):
        if args[0] == "--alpha":
            alpha = float(args[1])
        else:
            features = int(args[1])
        args = args[2:]
    folder = args[0]
    paths = sorted(os.path.join(folder, f) for f in os.listdir(folder))
    train, test = ([], []), ([], [])
    for label, path in enumerate(paths):
        with open(path, "rb") as f:
            for i, rec in enumerate(records(f.read())):
                side = test if i % 5 == 4 else train
                side[0].append(rec.decode("latin-1"))
                side[1].append(label)
    if features:
        vec = HashingVectorizer(analyzer=tokens, n_features=features,
                                alternate_sign=False, norm=None)
    else:
        vec = CountVectorizer(analyzer=tokens)
    x_train = vec.fit_transform(train[0])
    model = MultinomialNB(alpha=alpha).fit(x_train, train[1])
    acc_train = model.score(x_train, train[1])
    acc_test = model.score(vec.transform(test[0]), test[1])
    print(f"labels\t{len(paths)}")
    print(f"training records\t{len(train[0])}")
    print(f"held-out records\t{len(test[0])}")
    print(f"training accuracy\t{acc_train:.4f}")
    print(f"held-out accuracy\t{acc_test:.4f}")


if __name__ == "__main__":
    main()
