"""Two fortune(6)-format topic files as LIBSVM text for bench/ml/modes_bench:
classes 0 and 1, every record (records end at a line holding "%"), tokens
the lowercase ASCII letter and digit runs, hashed by CRC-32 to 2^18
features, the value the token's count in the record.

    fortunes_libsvm.py DIR TOPIC0 TOPIC1 > fortunes.libsvm
"""
import re
import sys
import zlib

FEATURES = 1 << 18


def records(path):
    cur = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.rstrip("\n") == "%":
                yield "\n".join(cur)
                cur = []
            else:
                cur.append(line.rstrip("\n"))
    if "".join(cur).strip():
        yield "\n".join(cur)


def main():
    directory, topics = sys.argv[1], sys.argv[2:4]
    for label, topic in enumerate(topics):
        for rec in records(f"{directory}/{topic}"):
            counts = {}
            for tok in re.findall(r"[a-z0-9]+", rec.lower()):
                i = zlib.crc32(tok.encode()) % FEATURES
                counts[i] = counts.get(i, 0) + 1
            if counts:
                feats = (f"{i + 1}:{c}" for i, c in sorted(counts.items()))
                print(label, " ".join(feats))


main()
