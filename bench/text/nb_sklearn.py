"""scikit-learn's side of bench/text/run-naive-bayes.sh: CountVectorizer
(tokens: maximal runs of ASCII letters, lowercased, as Ember's ASCII
tokenizer) and MultinomialNB.fit on the records of fortune(6)-format files
(one label per file), timed from the record texts in memory to the fitted
model. Prints one line per run: "seconds<TAB>records".

    nb_sklearn.py [--alpha A] [--runs R] DIR
"""
import os
import sys
import time

from sklearn.feature_extraction.text import CountVectorizer
from sklearn.naive_bayes import MultinomialNB


def records(data):
    """The non-empty records of a fortune file (bytes); a record ends at a
    line holding exactly "%"."""
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


def main():
    args, alpha, runs = sys.argv[1:], 1.0, 5
    while args[:1] in (["--alpha"], ["--runs"]):
        if args[0] == "--alpha":
            alpha = float(args[1])
        else:
            runs = int(args[1])
        args = args[2:]
    docs, labels = [], []
    for label, name in enumerate(sorted(os.listdir(args[0]))):
        with open(os.path.join(args[0], name), "rb") as f:
            for rec in records(f.read()):
                docs.append(rec.decode("latin-1"))
                labels.append(label)
    for _ in range(runs):
        t0 = time.perf_counter()
        x = CountVectorizer(token_pattern=r"[A-Za-z]+",
                            lowercase=True).fit_transform(docs)
        MultinomialNB(alpha=alpha).fit(x, labels)
        print(f"{time.perf_counter() - t0:.6f}\t{len(docs)}", flush=True)


if __name__ == "__main__":
    main()
