# Shared by the guest image tests: failing with one clear line, reading bytes at an offset.
set -euo pipefail

test_fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# bytes_at FILE OFFSET COUNT -> the bytes as hex, e.g. 52534305
bytes_at() {
    od -An -tx1 -j "$2" -N "$3" "$1" | tr -d ' \n'
}

# guest_dir NAME: the cache entry for the current inputs; the test fails (does not build) if absent.
guest_dir() {
    local entry
    entry=$("$REPO/guest/paths.sh" "$1" | awk -v n="$1" '$1 == n { print $2 }')
    [[ -n "$entry" ]] || test_fail "guest/paths.sh does not know $1"
    [[ -d "$entry" ]] || test_fail "$1 is not built for the current inputs ($entry missing): run make guest"
    echo "$entry"
}
