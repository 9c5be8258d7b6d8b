#!/usr/bin/env bash
# Fetches the GCIDE dictionary (about 40 MB of English text) from Debian's
# dict-gcide package without installing it, checks it against pinned
# checksums, and keeps it in data-cache/ at the repository root (git-ignored).
#
#   scripts/fetch-data.sh [gcide | gcide-xN]...
#
# gcide      data-cache/gcide.txt, the decompressed dictionary (the default)
# gcide-xN   data-cache/gcide-xN.txt, N copies of it one after another
#
# Prints the path of each requested file on stdout, one a line; progress and
# errors go to stderr. Set EMBER_DATA_CACHE to use another cache folder.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${EMBER_DATA_CACHE:-$root/data-cache}

pkg=dict-gcide
version=0.48.5+nmu2
# sha256 of usr/share/dictd/gcide.dict.dz in dict-gcide 0.48.5+nmu2, and of
# its decompressed text.
dz_sha256=3e6b2cdcbc1b3664c2f1466e3c8e44012e815c4c67fa83fa61f39777cd6e8517
txt_sha256=802beb667e1fb666203e750f1faea60d5c202ac5430c2083c4180494609f10a7

log() { echo "fetch-data.sh: $*" >&2; }
die() { log "$*"; exit 1; }

usage() {
    echo "usage: scripts/fetch-data.sh [gcide | gcide-xN]..." >&2
    exit 2
}

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

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

# Downloads the pinned .deb into the current directory. As root, apt drops to
# the _apt user for downloads, which cannot write to a private temp folder;
# the sandbox is turned off for this one download instead. Retries once after
# refreshing the package lists, which a fresh machine may not have.
apt_download() {
    local opts=(-q)
    if [[ $(id -u) == 0 ]]; then
        opts+=(-o APT::Sandbox::User=root)
    fi
    if apt-get "${opts[@]}" download "$pkg=$version" >&2; then
        return 0
    fi
    log "apt-get download failed; refreshing the package lists and retrying"
    as_root apt-get update -qq >&2
    apt-get "${opts[@]}" download "$pkg=$version" >&2
}

# Leaves a verified data-cache/gcide.dict.dz.
fetch_dz() {
    local dz=$cache/gcide.dict.dz debs got tmp
    if [[ -f $dz && $(sha_of "$dz") == "$dz_sha256" ]]; then
        return 0
    fi
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found (Debian needed)"
    new_tmpdir
    log "downloading $pkg $version"
    (cd "$tmp" && apt_download)
    debs=("$tmp"/*.deb)
    [[ -f ${debs[0]} ]] || die "apt-get download left no .deb"
    dpkg-deb -x "${debs[0]}" "$tmp/x"
    got=$tmp/x/usr/share/dictd/gcide.dict.dz
    [[ -f $got ]] || die "$pkg $version has no usr/share/dictd/gcide.dict.dz"
    if [[ $(sha_of "$got") != "$dz_sha256" ]]; then
        die "checksum mismatch for gcide.dict.dz (expected $dz_sha256)"
    fi
    mv "$got" "$dz"
}

# Leaves a verified data-cache/gcide.txt.
fetch_txt() {
    local txt=$cache/gcide.txt tmp
    if [[ -f $txt && $(sha_of "$txt") == "$txt_sha256" ]]; then
        return 0
    fi
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

targets=("$@")
if ((${#targets[@]} == 0)); then
    targets=(gcide)
fi
for t in "${targets[@]}"; do
    case $t in
    gcide) ;;
    gcide-x*) [[ ${t#gcide-x} =~ ^[1-9][0-9]*$ ]] || usage ;;
    -h | --help) usage ;;
    *) log "unknown data set: $t"; usage ;;
    esac
done

mkdir -p "$cache"
# One fetch at a time per cache folder (tests and benchmarks may overlap).
exec 9>"$cache/.lock"
flock 9

fetch_txt
for t in "${targets[@]}"; do
    case $t in
    gcide | gcide-x1) echo "$cache/gcide.txt" ;;
    gcide-x*)
        make_copies "${t#gcide-x}"
        echo "$cache/gcide-${t#gcide-}.txt"
        ;;
    esac
done
