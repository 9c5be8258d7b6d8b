#!/usr/bin/env bash
# Fetches the real data sets of Ember's tests, examples and benchmarks from
# Debian packages without installing them (apt-get download, dpkg-deb -x),
# checks them against pinned checksums, and keeps them in data-cache/ at the
# repository root (git-ignored).
#
#   scripts/fetch-data.sh [SET]...
#
# gcide          gcide.txt: the GCIDE dictionary, decompressed (the default)
# gcide-xN       gcide-xN.txt: N copies of it one after another
# american       words/american-english (wamerican; a word a line)
# british        words/british-english (wbritish)
# american-huge  words/american-english-huge (wamerican-huge)
# words          the three word lists
# fortunes       fortunes/: the 40 topic files of the fortunes package
#                (fortune(6) format: records end at a line holding "%")
# kjv            bible/kjv.txt: the King James Bible (bible-kjv-text, decoded
#                by the bible program of bible-kjv), a verse a line
# web            bible/web.txt: the World English Bible (sword-text-web, a
#                SWORD zText module), the 66 books of the KJV, a verse a line
# bibles         kjv and web
# digits         sklearn/digits.csv: 1,797 rows of 64 pixels and the label
# breast-cancer, iris, wine
#                sklearn/breast_cancer.csv, iris.csv, wine_data.csv (a first
#                line with the shape and the class names); these four come
#                from python3-sklearn's datasets/data
# wormnet        graphs/WormNet.v3.benchmark.txt: the WormNet v3 gene network
#                of python3-networkx's examples (2,445 nodes, 78,736 edges,
#                "src<TAB>dst" a line)
# movielens      movielens/ratings.csv: MovieLens latest-small (100,004
#                ratings of 671 users on 9,066 movies; GroupLens terms: kept
#                in the cache only), "userId,movieId,rating,timestamp" a
#                line without a header, in the package's order; read from
#                r-cran-dslabs's movielens object (R's lazy-load format)
#
# Prints the path of each requested file or folder on stdout, one a line;
# progress and errors go to stderr. Set EMBER_DATA_CACHE to use another
# cache folder.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${EMBER_DATA_CACHE:-$root/data-cache}

# Pinned packages, and the sha256 of what is kept from each. The checksum of
# a folder is that of the `sha256sum` listing of its files in name order.
gcide_pkg=dict-gcide=0.48.5+nmu2
# usr/share/dictd/gcide.dict.dz, and its decompressed text
dz_sha256=3e6b2cdcbc1b3664c2f1466e3c8e44012e815c4c67fa83fa61f39777cd6e8517
txt_sha256=802beb667e1fb666203e750f1faea60d5c202ac5430c2083c4180494609f10a7

words_version=2020.12.07-2
american_sha256=9f513f1ceadb6a01c5485b7dbdfd5118dc66cd70b59cae2851292112d4066a32
british_sha256=7424d6682301dc86f73b0a5c8c53f0ba4c9f0a41fb2d1cb7e5fe7f8a04f15fb0
american_huge_sha256=ffd71db7e021907dbe4cbac17959d3504ff0594ae35c686ab7016b9a6b755fbb

fortunes_pkg=fortunes=1:1.99.1-7.3
fortunes_sha256=f8ed7abf6a30c8efac8063a2f650ab96111d8448efa539b88abb4f4447468db0

kjv_text_pkg=bible-kjv-text=4.38
kjv_prog_pkg=bible-kjv=4.38
# usr/lib/bible.data, and the decoded text
kjv_data_sha256=6c746c2acc8a34bfded980883ff1701a5d68934a1c853ebf88a07b978fe0ae0e
kjv_sha256=b5c4940bcfeee072c0935b5200d0f9d88a00a0199cb0961d16133458fcdfae5d
# the bible program needs libreadline.so.8; fetched only where it is missing
readline_pkg=libreadline8=8.2-1.3

web_pkg=sword-text-web=426.0-1
# the module's folder (ot/nt .bzs .bzv .bzz), and the decoded text
web_mod_sha256=3085a32dcb5ed8486a6cd1ed99149415bdc72aa09cf388eeaa1331ba2b05f9f5
web_sha256=47118f6bfa42c765064e69e2b9481e5a1830e8519aa878e4170cf3387780a2c3

sklearn_pkg=python3-sklearn=1.2.1+dfsg-1
digits_gz_sha256=46abec6b12486ad9e51943373abcf22bbea1b5a51a1619b361570d8893f1464a
digits_sha256=6ebb3d2fee246a4e99363262ddf8a00a3c41bee6014c373ed9d9216ba7f651b8
breast_cancer_sha256=fed3eb72d0575ef6192293f5093c6e801b1476b577d0386bf4455504522172ed
iris_sha256=f13ffa8fdd56fd8e6c8d16d4081a3fbd3114bcd0aae4256c43205169cd9d1449
wine_sha256=10e8a802908b34f86e5da8ce962f3c806694bc98450a18f61851af59f324bede

networkx_pkg=python3-networkx=2.8.8-1
wormnet_sha256=52f6ccd3fb906b0aff5b9ae3c61202bc7fd6f27d35141897f13fa57b5f6e7ebf

dslabs_pkg=r-cran-dslabs=0.7.4-1
# usr/lib/R/site-library/dslabs/data/Rdata.rdx and .rdb, and the ratings
rdx_sha256=97e59cc21906407fe85a369cd92a765ea050e69346d4043545471972bd02a6b3
rdb_sha256=7f740c8802abcf5de56096417560b2d5be317c59f30d50c9d37548695952aa3b
movielens_sha256=0cde7be58d34f52dff8630e3e17265ca14c7b95a7ea36d9098cd82b6d2d5eaf8

log() { echo "fetch-data.sh: $*" >&2; }
die() { log "$*"; exit 1; }

usage() {
    echo "usage: scripts/fetch-data.sh [gcide | gcide-xN | american |" \
        "british | american-huge | words | fortunes | kjv | web | bibles |" \
        "digits | breast-cancer | iris | wine | movielens]..." >&2
    exit 2
}

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

# The checksum of a folder: of the sha256sum listing of its files.
dir_sha_of() {
    (cd "$1" && find . -maxdepth 1 -type f -printf '%f\n' | LC_ALL=C sort |
        xargs sha256sum | sha256sum | cut -d' ' -f1)
}

# True when file $1 exists and has sha256 $2.
is_cached() { [[ -f $1 && $(sha_of "$1") == "$2" ]]; }

tmpdirs=()
cleanup() {
    local d
    for d in "${tmpdirs[@]}"; do
        rm -rf "$d"
    done
}
trap cleanup EXIT

new_tmpdir() {
    local d
    d=$(mktemp -d "$cache/.tmp.XXXXXX")
    tmpdirs+=("$d")
    tmp=$d
}

as_root() {
    if [[ $(id -u) == 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root (or sudo) to run: $*"
    fi
}

# Downloads the pinned .deb $1 (PKG=VERSION) into the current directory. As
# root, apt drops to the _apt user for downloads, which cannot write to a
# private temp folder; the sandbox is turned off for this one download
# instead. Retries once after refreshing the package lists, which a fresh
# machine may not have.
apt_download() {
    local opts=(-q)
    if [[ $(id -u) == 0 ]]; then
        opts+=(-o APT::Sandbox::User=root)
    fi
    if apt-get "${opts[@]}" download "$1" >&2; then
        return 0
    fi
    log "apt-get download failed; refreshing the package lists and retrying"
    as_root apt-get update -qq >&2
    apt-get "${opts[@]}" download "$1" >&2
}

# Downloads the pinned package $1 (PKG=VERSION) and extracts it into a new
# temporary folder, whose path is left in $deb_root.
fetch_deb() {
    local debs tmp
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found (Debian needed)"
    new_tmpdir
    log "downloading ${1%%=*} ${1#*=}"
    (cd "$tmp" && apt_download "$1")
    debs=("$tmp"/*.deb)
    [[ -f ${debs[0]} ]] || die "apt-get download of $1 left no .deb"
    dpkg-deb -x "${debs[0]}" "$tmp/x"
    deb_root=$tmp/x
}

# Checks that $1 (a path inside the extracted package $3) has sha256 $2.
verify() {
    [[ -f $1 ]] || die "${3%%=*} ${3#*=} has no ${1#"$deb_root"/}"
    if [[ $(sha_of "$1") != "$2" ]]; then
        die "checksum mismatch for ${1##*/} of ${3%%=*} (expected $2)"
    fi
}

# ---- GCIDE ----

# Leaves a verified data-cache/gcide.dict.dz.
fetch_dz() {
    local dz=$cache/gcide.dict.dz got
    is_cached "$dz" "$dz_sha256" && return 0
    fetch_deb "$gcide_pkg"
    got=$deb_root/usr/share/dictd/gcide.dict.dz
    verify "$got" "$dz_sha256" "$gcide_pkg"
    mv "$got" "$dz"
}

# Leaves a verified data-cache/gcide.txt.
fetch_gcide() {
    local txt=$cache/gcide.txt tmp
    is_cached "$txt" "$txt_sha256" && return 0
    fetch_dz
    new_tmpdir
    log "decompressing gcide.dict.dz"
    zcat "$cache/gcide.dict.dz" >"$tmp/gcide.txt"
    if [[ $(sha_of "$tmp/gcide.txt") != "$txt_sha256" ]]; then
        die "checksum mismatch for gcide.txt (expected $txt_sha256)"
    fi
    mv "$tmp/gcide.txt" "$txt"
}

# Leaves data-cache/gcide-x$1.txt: $1 copies of gcide.txt.
make_copies() {
    local n=$1 txt=$cache/gcide.txt out=$cache/gcide-x$1.txt tmp size i
    size=$(stat -c %s "$txt")
    if [[ -f $out && $(stat -c %s "$out") == $((n * size)) &&
        ! $txt -nt $out ]]; then
        return 0
    fi
    new_tmpdir
    log "writing gcide-x$n.txt ($n copies)"
    for ((i = 0; i < n; i++)); do
        cat "$txt"
    done >"$tmp/out.txt"
    mv "$tmp/out.txt" "$out"
}

# ---- word lists ----

# Leaves data-cache/words/$2 from package $1 (checksum $3).
fetch_word_list() {
    local pkg=$1=$words_version out=$cache/words/$2 got
    is_cached "$out" "$3" && return 0
    fetch_deb "$pkg"
    got=$deb_root/usr/share/dict/$2
    verify "$got" "$3" "$pkg"
    mkdir -p "$cache/words"
    mv "$got" "$out"
}

# ---- fortunes ----

# Leaves data-cache/fortunes/ with the topic files (not the .dat indexes
# and not the .u8 links to the same files).
fetch_fortunes() {
    local out=$cache/fortunes src tmp
    if [[ -d $out && $(dir_sha_of "$out") == "$fortunes_sha256" ]]; then
        return 0
    fi
    fetch_deb "$fortunes_pkg"
    src=$deb_root/usr/share/games/fortunes
    [[ -d $src ]] || die "$fortunes_pkg has no usr/share/games/fortunes"
    new_tmpdir
    mkdir "$tmp/topics"
    find "$src" -maxdepth 1 -type f ! -name '*.dat' \
        -exec mv -t "$tmp/topics" {} +
    if [[ $(dir_sha_of "$tmp/topics") != "$fortunes_sha256" ]]; then
        die "checksum mismatch for the fortunes (expected $fortunes_sha256)"
    fi
    rm -rf "$out"
    mv "$tmp/topics" "$out"
}

# ---- the King James Bible ----

# Leaves data-cache/bible/kjv.txt: the verses from Genesis 1:1 to
# Revelation 22:21 as the bible program prints them ("Ge1:1 In the
# beginning..."), a verse a line, without the reference.
fetch_kjv() {
    local out=$cache/bible/kjv.txt data prog libdir= tmp
    is_cached "$out" "$kjv_sha256" && return 0
    fetch_deb "$kjv_text_pkg"
    data=$deb_root/usr/lib/bible.data
    verify "$data" "$kjv_data_sha256" "$kjv_text_pkg"
    fetch_deb "$kjv_prog_pkg"
    prog=$deb_root/usr/bin/bible
    [[ -x $prog ]] || die "$kjv_prog_pkg has no usr/bin/bible"
    if ldd "$prog" 2>/dev/null |
        grep 'libreadline.*not found' >/dev/null; then
        fetch_deb "$readline_pkg"
        libdir=$(find "$deb_root" -name 'libreadline.so.8' -printf '%h\n' |
            head -n 1)
        [[ -n $libdir ]] || die "$readline_pkg has no libreadline.so.8"
    fi
    new_tmpdir
    log "decoding the King James Bible"
    HOME=$tmp LD_LIBRARY_PATH=$libdir \
        "$prog" -p "$(dirname "$data")" -f Gen1:1-Rev22:21 |
        sed 's/^[^ ]* //' >"$tmp/kjv.txt"
    if [[ $(sha_of "$tmp/kjv.txt") != "$kjv_sha256" ]]; then
        die "checksum mismatch for kjv.txt (expected $kjv_sha256)"
    fi
    mkdir -p "$cache/bible"
    mv "$tmp/kjv.txt" "$out"
}

# ---- the World English Bible ----

# Prints the verses of the SWORD zText module in folder $1, one a line, for
# the 66 books of the KJV's canon in its order. A zText module is, per
# testament (ot, nt): .bzs, 12 bytes a block (offset, compressed size and
# size, little-endian u32) into .bzz, which holds zlib streams; .bzv, 10
# bytes an entry in versification order (block u32, offset in the block
# u32, size u16). An entry holds OSIS XML: a chapter's heading entry carries
# <chapter sID="Book.N"/>, and the entries after it are its verses (and the
# end of a book's introduction). Footnotes and headings (<note>, <title>)
# are dropped, tags stripped, entities decoded and spaces collapsed;
# adjacent <w> words get a space (a footnote can sit between two).
decode_sword() {
    local py=python3
    [[ -x /usr/bin/python3 ]] && py=/usr/bin/python3
    "$py" - "$1" <<'PY'
import html, re, struct, sys, zlib

CANON = """Gen Exod Lev Num Deut Josh Judg Ruth 1Sam 2Sam 1Kgs 2Kgs 1Chr 2Chr
Ezra Neh Esth Job Ps Prov Eccl Song Isa Jer Lam Ezek Dan Hos Joel Amos Obad
Jonah Mic Nah Hab Zeph Hag Zech Mal Matt Mark Luke John Acts Rom 1Cor 2Cor
Gal Eph Phil Col 1Thess 2Thess 1Tim 2Tim Titus Phlm Heb Jas 1Pet 2Pet 1John
2John 3John Jude Rev""".split()
CHAPTER = re.compile(r'<chapter\b[^>]*\bsID="([^".]+)\.\d+"')
DROP = re.compile(r"<(note|title)\b[^>]*>.*?</\1>", re.S)
TAG = re.compile(r"<[^>]*>")

verses = {b: [] for b in CANON}
for part in ("ot", "nt"):
    def read(ext):
        with open(f"{sys.argv[1]}/{part}.{ext}", "rb") as f:
            return f.read()
    bzs, bzv, bzz = read("bzs"), read("bzv"), read("bzz")
    blocks = []
    for i in range(len(bzs) // 12):
        off, csize, size = struct.unpack_from("<III", bzs, 12 * i)
        block = zlib.decompress(bzz[off:off + csize])
        if len(block) != size:
            sys.exit(f"{part}.bzz: block {i} has {len(block)} bytes, not {size}")
        blocks.append(block)
    book = None
    for i in range(len(bzv) // 10):
        b, off, size = struct.unpack_from("<IIH", bzv, 10 * i)
        x = blocks[b][off:off + size].decode("utf-8")
        m = CHAPTER.search(x)
        if m:
            book = m.group(1)
        elif book in verses:
            x = re.sub(r"</w>(?=<w\b)", "</w> ", DROP.sub("", x))
            text = " ".join(html.unescape(TAG.sub("", x)).split())
            if text:
                verses[book].append(text)
sys.stdout.write("".join(v + "\n" for b in CANON for v in verses[b]))
PY
}

# Leaves data-cache/bible/web.txt.
fetch_web() {
    local out=$cache/bible/web.txt mod tmp
    is_cached "$out" "$web_sha256" && return 0
    fetch_deb "$web_pkg"
    mod=$deb_root/usr/share/sword/modules/texts/ztext/engWEB2015eb
    [[ -d $mod ]] || die "$web_pkg has no module engWEB2015eb"
    if [[ $(dir_sha_of "$mod") != "$web_mod_sha256" ]]; then
        die "checksum mismatch for the WEB module (expected $web_mod_sha256)"
    fi
    new_tmpdir
    log "decoding the World English Bible"
    decode_sword "$mod" >"$tmp/web.txt"
    if [[ $(sha_of "$tmp/web.txt") != "$web_sha256" ]]; then
        die "checksum mismatch for web.txt (expected $web_sha256)"
    fi
    mkdir -p "$cache/bible"
    mv "$tmp/web.txt" "$out"
}

# ---- scikit-learn's bundled data ----

# Leaves data-cache/sklearn/ with digits.csv (decompressed),
# breast_cancer.csv, iris.csv and wine_data.csv.
fetch_sklearn() {
    local out=$cache/sklearn src
    if is_cached "$out/digits.csv" "$digits_sha256" &&
        is_cached "$out/breast_cancer.csv" "$breast_cancer_sha256" &&
        is_cached "$out/iris.csv" "$iris_sha256" &&
        is_cached "$out/wine_data.csv" "$wine_sha256"; then
        return 0
    fi
    fetch_deb "$sklearn_pkg"
    src=$deb_root/usr/lib/python3/dist-packages/sklearn/datasets/data
    verify "$src/digits.csv.gz" "$digits_gz_sha256" "$sklearn_pkg"
    verify "$src/breast_cancer.csv" "$breast_cancer_sha256" "$sklearn_pkg"
    verify "$src/iris.csv" "$iris_sha256" "$sklearn_pkg"
    verify "$src/wine_data.csv" "$wine_sha256" "$sklearn_pkg"
    zcat "$src/digits.csv.gz" >"$src/digits.csv"
    verify "$src/digits.csv" "$digits_sha256" "$sklearn_pkg"
    mkdir -p "$out"
    mv "$src/digits.csv" "$src/breast_cancer.csv" "$src/iris.csv" \
        "$src/wine_data.csv" "$out/"
}

# ---- networkx's example graphs ----

# Leaves data-cache/graphs/WormNet.v3.benchmark.txt.
fetch_wormnet() {
    local out=$cache/graphs src
    if is_cached "$out/WormNet.v3.benchmark.txt" "$wormnet_sha256"; then
        return 0
    fi
    fetch_deb "$networkx_pkg"
    src=$deb_root/usr/share/doc/python3-networkx/examples/algorithms
    verify "$src/WormNet.v3.benchmark.txt" "$wormnet_sha256" "$networkx_pkg"
    mkdir -p "$out"
    mv "$src/WormNet.v3.benchmark.txt" "$out/"
}

# ---- MovieLens from dslabs (R's lazy-load format) ----

# Prints the movielens data frame of the R lazy-load database $1/Rdata.{rdx,
# rdb} as "userId,movieId,rating,timestamp" lines. The .rdx is a gzip'd
# serialized list whose "variables" entry maps each object's name to
# (offset, length) in the .rdb; a record there is a 4-byte big-endian
# uncompressed length, then a zlib stream (or a type byte, Z/2/X/0, then
# zlib, bzip2, xz or raw bytes). A serialized object is "X\n", three ints
# (format 2 or 3; 3 adds the native encoding) and then items in XDR (big-
# endian): an int of flags (type in the low byte; 512: has attributes,
# 1024: has a tag; a reference's index above bit 8) and the type's body.
# Only what data frames use is read: vectors, strings, pairlists,
# symbols, references and the compact ALTREP sequences.
decode_rdata() {
    local py=python3
    [[ -x /usr/bin/python3 ]] && py=/usr/bin/python3
    "$py" - "$1" <<'PY'
import bz2, gzip, lzma, struct, sys, zlib

def unpack_record(b):
    n = struct.unpack(">I", b[:4])[0]
    unz = {b"Z": zlib.decompress, b"2": bz2.decompress,
           b"X": lzma.decompress, b"0": bytes}.get(b[4:5])
    d = unz(b[5:]) if unz else zlib.decompress(b[4:])
    if len(d) != n:
        sys.exit("lazy-load: a record of %d bytes, not %d" % (len(d), n))
    return d

class Reader:
    def __init__(self, b):
        self.b, self.p, self.refs = b, 0, []
        if self.take(2) != b"X\n":
            sys.exit("lazy-load: not an XDR serialization")
        version = self.int()
        self.int(), self.int()
        if version == 3:
            self.take(self.int())

    def take(self, n):
        if self.p + n > len(self.b):
            sys.exit("lazy-load: truncated object")
        s = self.b[self.p:self.p + n]
        self.p += n
        return s

    def int(self):
        return struct.unpack(">i", self.take(4))[0]

    def length(self):
        n = self.int()
        if n == -1:
            hi, lo = self.int(), self.int()
            n = (hi << 32) + lo
        return n

    def item(self):
        f = self.int()
        t = f & 255
        if t in (254, 253, 252, 251, 250, 242, 241):  # nil, environments
            return None
        if t == 255:  # a reference to an earlier symbol
            return self.refs[(f >> 8 or self.int()) - 1]
        if t == 1:  # a symbol: its name
            s = self.item()
            self.refs.append(s)
            return s
        if t in (2, 239):  # a pairlist, as {tag: value}
            out = {}
            while t in (2, 239):
                if f & 512:
                    self.item()
                tag = self.item() if f & 1024 else None
                out[tag] = self.item()
                f = self.int()
                t = f & 255
            if t != 254:
                sys.exit("lazy-load: a pairlist ends in type %d" % t)
            return out
        if t == 9:  # a string
            n = self.int()
            return None if n == -1 else self.take(n).decode("utf-8", "replace")
        if t in (10, 13):
            n = self.length()
            v = list(struct.unpack(">%di" % n, self.take(4 * n)))
        elif t == 14:
            n = self.length()
            v = list(struct.unpack(">%dd" % n, self.take(8 * n)))
        elif t in (16, 19):
            v = [self.item() for _ in range(self.length())]
        elif t == 238:  # ALTREP: class info, state, attributes
            info, state = self.item(), self.item()
            self.item()
            name = next(iter(info.values()), None) if info else None
            if name == "compact_intseq":
                n, a, s = state
                return [int(a + s * i) for i in range(int(n))]
            if name and name.startswith("wrap_"):
                return state[0]
            sys.exit("lazy-load: unsupported ALTREP class %s" % name)
        else:
            sys.exit("lazy-load: unsupported R type %d" % t)
        attrs = self.item() if f & 512 else None
        if attrs and t == 19 and "names" in attrs:
            return dict(zip(attrs["names"], v))
        return v

db = sys.argv[1] + "/Rdata"
with open(db + ".rdx", "rb") as f:
    raw = f.read()
index = Reader(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b"
               else unpack_record(raw)).item()
off, n = (int(x) for x in index["variables"]["movielens"])
with open(db + ".rdb", "rb") as f:
    f.seek(off)
    frame = Reader(unpack_record(f.read(n))).item()
cols = [frame[k] for k in ("userId", "movieId", "rating", "timestamp")]
sys.stdout.write("".join("%d,%d,%r,%d\n" % r for r in zip(*cols)))
PY
}

# Leaves data-cache/movielens/ratings.csv.
fetch_movielens() {
    local out=$cache/movielens/ratings.csv src tmp
    is_cached "$out" "$movielens_sha256" && return 0
    fetch_deb "$dslabs_pkg"
    src=$deb_root/usr/lib/R/site-library/dslabs/data
    verify "$src/Rdata.rdx" "$rdx_sha256" "$dslabs_pkg"
    verify "$src/Rdata.rdb" "$rdb_sha256" "$dslabs_pkg"
    new_tmpdir
    log "reading the movielens ratings of dslabs"
    decode_rdata "$src" >"$tmp/ratings.csv"
    if [[ $(sha_of "$tmp/ratings.csv") != "$movielens_sha256" ]]; then
        die "checksum mismatch for ratings.csv (expected $movielens_sha256)"
    fi
    mkdir -p "$cache/movielens"
    mv "$tmp/ratings.csv" "$out"
}

# Fetches set $1 and prints its path(s).
fetch_set() {
    case $1 in
    gcide | gcide-x1) fetch_gcide; echo "$cache/gcide.txt" ;;
    gcide-x*)
        fetch_gcide
        make_copies "${1#gcide-x}"
        echo "$cache/gcide-${1#gcide-}.txt"
        ;;
    american)
        fetch_word_list wamerican american-english "$american_sha256"
        echo "$cache/words/american-english"
        ;;
    british)
        fetch_word_list wbritish british-english "$british_sha256"
        echo "$cache/words/british-english"
        ;;
    american-huge)
        fetch_word_list wamerican-huge american-english-huge \
            "$american_huge_sha256"
        echo "$cache/words/american-english-huge"
        ;;
    words) fetch_set american; fetch_set british; fetch_set american-huge ;;
    fortunes) fetch_fortunes; echo "$cache/fortunes" ;;
    kjv) fetch_kjv; echo "$cache/bible/kjv.txt" ;;
    web) fetch_web; echo "$cache/bible/web.txt" ;;
    bibles) fetch_set kjv; fetch_set web ;;
    digits) fetch_sklearn; echo "$cache/sklearn/digits.csv" ;;
    breast-cancer) fetch_sklearn; echo "$cache/sklearn/breast_cancer.csv" ;;
    iris) fetch_sklearn; echo "$cache/sklearn/iris.csv" ;;
    wine) fetch_sklearn; echo "$cache/sklearn/wine_data.csv" ;;
    wormnet) fetch_wormnet; echo "$cache/graphs/WormNet.v3.benchmark.txt" ;;
    movielens) fetch_movielens; echo "$cache/movielens/ratings.csv" ;;
    esac
}

targets=("$@")
if ((${#targets[@]} == 0)); then
    targets=(gcide)
fi
for t in "${targets[@]}"; do
    case $t in
    gcide | american | british | american-huge | words | fortunes | kjv | \
        web | bibles | digits | breast-cancer | iris | wine | wormnet | \
        movielens) ;;
    gcide-x*) [[ ${t#gcide-x} =~ ^[1-9][0-9]*$ ]] || usage ;;
    -h | --help) usage ;;
    *) log "unknown data set: $t"; usage ;;
    esac
done

mkdir -p "$cache"
# One fetch at a time per cache folder (tests and benchmarks may overlap).
exec 9>"$cache/.lock"
flock 9

for t in "${targets[@]}"; do
    fetch_set "$t"
done
