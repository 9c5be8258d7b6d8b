# Sourced by the learning library's real-data tests (test_ml_*.sh): a
# scratch directory, skipping with the reason printed, fetching a data set
# (scripts/fetch-data.sh) and installing a Python reference's Debian
# packages when missing. After sourcing: $here (tests/integration), $tmp
# (removed at exit), py (the system python3).

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
py=/usr/bin/python3

skip() { echo "SKIP: $*"; exit 0; }

# fetch VAR DATASET: the data set's path into VAR, or skip saying why.
fetch() {
    local path
    path=$("$here/../../scripts/fetch-data.sh" "$2" 2>"$tmp/fetch") ||
        skip "cannot fetch $2: $(tail -n 1 "$tmp/fetch")"
    printf -v "$1" '%s' "$path"
}

# need_python 'import MODULES' PACKAGE...: installs the Debian packages
# when the import fails (root or sudo needed), or skips saying why.
need_python() {
    local probe=$1 sudo=
    shift
    "$py" -c "$probe" 2>/dev/null && return 0
    [[ $(id -u) == 0 ]] || sudo="sudo -n"
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q \
        --no-install-recommends "$@" >"$tmp/apt" 2>&1 || true
    "$py" -c "$probe" 2>/dev/null ||
        skip "$* cannot be installed: $(tail -n 1 "$tmp/apt")"
}
