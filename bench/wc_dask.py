"""Word count with Dask (Debian's python3-dask), for the side-by-side
benchmark: a bag of lines, words as maximal runs of ASCII letters
lowercased (as Ember's wordcount), frequencies(), printed as
word<TAB>count, count descending then word ascending.

    /usr/bin/python3 bench/wc_dask.py SCHEDULER WORKERS PATH

SCHEDULER is Dask's "processes" or "threads".
"""
import re
import sys

import dask
import dask.bag as db

WORD = re.compile(rb"[A-Za-z]+")


def words(line):
    return [w.lower().decode("ascii") for w in WORD.findall(line)]


def main():
    scheduler, workers, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    # bytes lines, split into blocks as Ember's textFile splits
    lines = db.read_text(path, blocksize="16MiB", encoding="latin-1")
    counts = lines.map(lambda s: s.encode("latin-1")).map(words).flatten() \
        .frequencies()
    with dask.config.set(scheduler=scheduler, num_workers=workers):
        result = counts.compute()
    result.sort(key=lambda kv: (-kv[1], kv[0]))
    out = sys.stdout
    for w, c in result:
        out.write(f"{w}\t{c}\n")


if __name__ == "__main__":
    main()
