#!/usr/bin/python3
"""The reference for the Unicode tokenizer test (test_tokenize.c): prints
the tokens of each line of a UTF-8 file, one line of output per line of
input, tokens separated by a space and followed by a tab and the number of
invalid bytes of the line. Independent of Ember's tables: it decodes with
Python's own UTF-8 decoder (surrogateescape: one escape per invalid byte),
classifies with unicodedata and folds with str.casefold.

    /usr/bin/python3 tests/unit/text/ref_tokens.py tests/data/text/unicode.txt
"""
import sys
import unicodedata


def is_word(ch):
    if 0xDC80 <= ord(ch) <= 0xDCFF:  # an escaped invalid byte
        return False
    cat = unicodedata.category(ch)
    return cat[0] in "LM" or cat == "Nd"


def main():
    data = open(sys.argv[1], "rb").read()
    for raw in data.split(b"\n"):
        text = raw.decode("utf-8", "surrogateescape")
        invalid = sum(1 for ch in text if 0xDC80 <= ord(ch) <= 0xDCFF)
        toks, cur = [], []
        for ch in text + " ":
            if is_word(ch):
                cur.append(ch)
            elif cur:
                toks.append("".join(cur).casefold())
                cur = []
        sys.stdout.buffer.write(
            (" ".join(toks) + "\t%d\n" % invalid).encode("utf-8"))


if __name__ == "__main__":
    main()
