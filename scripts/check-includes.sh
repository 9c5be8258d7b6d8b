#!/usr/bin/env bash
# Enforces the module boundaries of STYLE.md section 7 and the hermetic
# header rule of section 2:
#
#  1. include direction between folders (quoted includes, resolved as the
#     compiler does: the including file's folder, then include/, then the
#     repository root);
#  2. third-party headers only where they are allowed;
#  3. every header compiles alone (cc -fsyntax-only).
#
#   scripts/check-includes.sh        (CC picks the compiler; default cc)
#
# tests/ and bench/ are not checked: tests may reach any layer. Prints each
# violation and exits 1 if there is any.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

cc=${CC:-cc}
layers=(include runtime scheduler ops gpu lang cli examples)
nviol=0

violation() {
    echo "check-includes: $*"
    nviol=$((nviol + 1))
}

# The folders (first path component) a layer's quoted includes may reach.
# ops/ may also include gpu/gpu.h (checked separately).
allowed_layers() {
    case $1 in
    include) echo "include" ;;
    runtime) echo "runtime include" ;;
    scheduler) echo "scheduler runtime include" ;;
    gpu) echo "gpu runtime include" ;;
    ops) echo "ops scheduler runtime include" ;;
    lang) echo "lang runtime scheduler include" ;;
    cli) echo "cli lang runtime scheduler include" ;;
    examples) echo "examples include" ;;
    esac
}

# Prints the library a header name belongs to, or nothing for libc, POSIX
# and compiler headers.
third_party() {
    case $1 in
    jemalloc/* | jemalloc.h) echo jemalloc ;;
    msgpack.h | msgpack/*) echo msgpack ;;
    zlib.h | zconf.h) echo zlib ;;
    uv.h | uv/*) echo libuv ;;
    sodium.h | sodium/*) echo libsodium ;;
    lua.h | lualib.h | lauxlib.h | luaconf.h | lua.hpp | lua5.4/*) echo lua ;;
    editline/* | histedit.h | readline/*) echo editline ;;
    cuda.h | cuda_*.h | cuda/* | cublas*.h | cusparse*.h | curand*.h | \
        cusolver*.h | cufft*.h | nvrtc.h | cub/* | thrust/*) echo cuda ;;
    cmocka.h | cmocka*.h) echo cmocka ;;
    esac
}

# Is file $2 allowed to include library $1?
third_party_ok() {
    local lib=$1 file=$2
    case $lib in
    jemalloc) [[ $file == runtime/mem.c ]] ;;
    msgpack) [[ $file == runtime/codec*.c ]] ;;
    zlib) [[ $file == runtime/* ]] ;;
    libuv) [[ $file == scheduler/net/* ]] ;;
    libsodium) [[ $file == scheduler/* ]] ;;
    lua | editline) [[ $file == lang/* ]] ;;
    cuda) [[ $file == gpu/cuda/* ]] ;;
    cmocka) [[ $file == tests/* ]] ;;
    *) return 1 ;;
    esac
}

# Where a quoted include of $2 from file $1 lands, relative to the root;
# empty when it is not a file of the repository.
resolve() {
    local file=$1 name=$2 cand
    for cand in "$(dirname "$file")/$name" "include/$name" "$name"; do
        if [[ -f $cand ]]; then
            realpath -m --relative-to=. "$cand"
            return 0
        fi
    done
}

check_file() {
    local file=$1 layer=${1%%/*} line lineno text kind name target tlayer lib
    local allowed
    allowed=" $(allowed_layers "$layer") "
    while IFS= read -r line; do
        lineno=${line%%:*}
        text=${line#*:}
        if [[ $text =~ include[[:space:]]*\<([^>]+)\> ]]; then
            kind=angle
            name=${BASH_REMATCH[1]}
        elif [[ $text =~ include[[:space:]]*\"([^\"]+)\" ]]; then
            kind=quote
            name=${BASH_REMATCH[1]}
        else
            continue
        fi
        target=
        if [[ $kind == quote ]]; then
            target=$(resolve "$file" "$name")
        fi
        if [[ -n $target ]]; then
            tlayer=${target%%/*}
            if [[ $layer == ops && $tlayer == gpu ]]; then
                [[ $target == gpu/gpu.h ]] ||
                    violation "$file:$lineno: includes $target" \
                        "(ops/ reaches gpu/ only through gpu/gpu.h)"
            elif [[ $allowed != *" $tlayer "* ]]; then
                violation "$file:$lineno: includes $target" \
                    "($layer/ may include only: $(allowed_layers "$layer"))"
            fi
            continue
        fi
        lib=$(third_party "$name")
        if [[ -n $lib ]]; then
            third_party_ok "$lib" "$file" ||
                violation "$file:$lineno: includes <$name>" \
                    "($lib is not allowed in $file)"
        elif [[ $layer == include ]]; then
            case $name in
            stddef.h | stdint.h | stdbool.h) ;;
            *)
                violation "$file:$lineno: includes <$name>" \
                    "(public headers use only stddef.h, stdint.h, stdbool.h)"
                ;;
            esac
        fi
    done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]' \
        "$file" || true)
}

mapfile -t files < <(find "${layers[@]}" -type f \
    \( -name '*.c' -o -name '*.h' -o -name '*.cu' -o -name '*.cuh' \) \
    2>/dev/null | LC_ALL=C sort)
for f in "${files[@]}"; do
    check_file "$f"
done

# Hermetic headers: each compiles alone. Internal headers get the
# definitions the build uses; public ones must compile without them.
extra=()
for pc in lua5.4 libedit; do
    if pkg-config --exists "$pc" 2>/dev/null; then
        read -r -a flags <<<"$(pkg-config --cflags "$pc")"
        extra+=("${flags[@]}")
    fi
done
nhdr=0
errlog=$(mktemp)
trap 'rm -f "$errlog"' EXIT
for h in "${files[@]}"; do
    [[ $h == *.h && $h != gpu/cuda/* && $h != examples/* ]] || continue
    defs=(-D_GNU_SOURCE)
    [[ $h == include/* ]] && defs=()
    nhdr=$((nhdr + 1))
    if ! "$cc" -std=c11 -fsyntax-only -Werror=implicit-function-declaration \
        -Werror=implicit-int "${defs[@]}" -I include -I . "${extra[@]}" \
        -x c "$h" >"$errlog" 2>&1; then
        violation "$h: does not compile alone:"
        sed 's/^/    /' "$errlog"
    fi
done

if ((nviol > 0)); then
    echo "check-includes: $nviol violation(s) in ${#files[@]} files"
    exit 1
fi
echo "check-includes: ok (${#files[@]} files, $nhdr headers compiled alone)"
