#!/usr/bin/env bash
# Installs the Debian packages Ember needs to build, test and benchmark, if
# any is missing. Idempotent; prints nothing when everything is installed.
#
#   scripts/setup.sh
#
# Runs apt-get as root, through sudo when not root. Set EMBER_SETUP_SKIP=1 to
# skip it entirely (for a machine managed some other way).
set -euo pipefail

packages=(
    build-essential cmake pkg-config clang
    libuv1-dev libmsgpack-dev libjemalloc-dev libcmocka-dev zlib1g-dev
    libsodium-dev liblua5.4-dev libedit-dev
    mawk time
)

if [[ ${EMBER_SETUP_SKIP:-0} == 1 ]]; then
    exit 0
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "setup.sh: dpkg-query not found: this script expects Debian 12" >&2
    echo "setup.sh: install these packages by hand: ${packages[*]}" >&2
    exit 1
fi

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
    if [[ $status != ii* ]]; then
        missing+=("$p")
    fi
done
if ((${#missing[@]} == 0)); then
    exit 0
fi

as_root=()
if [[ $(id -u) != 0 ]]; then
    if command -v sudo >/dev/null 2>&1; then
        as_root=(sudo)
    else
        echo "setup.sh: missing packages: ${missing[*]}" >&2
        echo "setup.sh: not root and no sudo; install them and rerun" >&2
        exit 1
    fi
fi

echo "setup.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
