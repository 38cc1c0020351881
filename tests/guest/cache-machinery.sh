#!/bin/bash
# Usage: cache-machinery.sh REPO — exercises guest/lib.sh with a small probe recipe in a scratch
# cache: a miss builds once, a hit does not rebuild, an input change gives a new entry, a failing or
# killed build leaves no entry, concurrent callers share one build, bad names are refused.
REPO=$1
source "$(dirname "$0")/common.sh"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
g=$scratch/guest
mkdir -p "$g/recipes"
cp "$REPO"/guest/{lib.sh,build.sh,out.sh} "$g/"
cat >"$g/recipes/probe.sh" <<'RECIPE'
recipe_inputs() {
    echo "file probe.input"
    echo "pkg bash"
}
recipe_build() {
    echo build >>"$GUEST_DIR/builds.log"
    echo partial >"$1/result"
    [[ -f "$GUEST_DIR/slow" ]] && sleep "$(cat "$GUEST_DIR/slow")"
    [[ -f "$GUEST_DIR/fail" ]] && false   # no explicit check: errexit must stop the build here
    cp "$GUEST_DIR/probe.input" "$1/result"
}
RECIPE
export VESSEL_GUEST_CACHE=$scratch/cache VESSEL_GUEST_BUILD_ROOT=$scratch/build
builds() { [[ -f "$g/builds.log" ]] && wc -l <"$g/builds.log" || echo 0; }
entries() { find "$scratch/cache" -mindepth 1 -maxdepth 1 -name 'probe-*' -type d | sort; }

echo one >"$g/probe.input"
first=$("$g/build.sh" probe 2>/dev/null) || test_fail "first build failed"
[[ "$(cat "$first/result")" == one && $(builds) -eq 1 ]] || test_fail "first build did not produce its result once"
[[ "$(readlink -f "$scratch/cache/probe")" == "$first" ]] || test_fail "the probe symlink does not point at the entry"
[[ "$(basename "$first")" == "probe-$(sha256sum <"$first/inputs.manifest" | cut -d' ' -f1)" ]] ||
    test_fail "entry name is not the hash of its manifest"
grep -qx 'pkg bash .*' "$first/inputs.manifest" || test_fail "manifest lacks the package version"

again=$("$g/out.sh" probe result 2>/dev/null)
[[ "$again" == "$first/result" && $(builds) -eq 1 ]] || test_fail "second run was not a cache hit"

echo two >"$g/probe.input"
second=$("$g/build.sh" probe 2>/dev/null)
[[ "$second" != "$first" && "$(cat "$second/result")" == two && $(builds) -eq 2 ]] ||
    test_fail "an input change did not give a new entry"

echo three >"$g/probe.input"
touch "$g/fail"
"$g/build.sh" probe >/dev/null 2>&1 && test_fail "a failing recipe_build reported success"
[[ $(entries | wc -l) -eq 2 && -z "$(find "$scratch/cache" -name '.tmp-*')" ]] ||
    test_fail "a failed build left an entry or a temp dir: $(ls -a "$scratch/cache")"
rm "$g/fail"

# Killed mid-build: no entry appears; the next run builds it completely.
echo 30 >"$g/slow"
setsid "$g/build.sh" probe >/dev/null 2>&1 &
killer=$!
for _ in $(seq 100); do [[ $(builds) -ge 4 ]] && break; sleep 0.1; done
[[ $(builds) -ge 4 ]] || test_fail "the slow build never started"
kill -KILL -- -"$killer"
wait "$killer" 2>/dev/null || true
[[ $(entries | wc -l) -eq 2 ]] || test_fail "a killed build left a cache entry"
rm "$g/slow"
third=$("$g/build.sh" probe 2>/dev/null) || test_fail "the build after a kill failed"
[[ "$(cat "$third/result")" == three && -z "$(find "$scratch/cache" -name '.tmp-*')" ]] ||
    test_fail "the build after a kill is incomplete or left its temp dir"

# Two callers at once: one builds, the other waits and gets the same entry.
echo four >"$g/probe.input"
echo 2 >"$g/slow"
before=$(builds)
"$g/build.sh" probe >"$scratch/a" 2>/dev/null &
a=$!
"$g/build.sh" probe >"$scratch/b" 2>/dev/null &
b=$!
wait "$a" && wait "$b" || test_fail "a concurrent build failed"
[[ "$(cat "$scratch/a")" == "$(cat "$scratch/b")" && $(($(builds) - before)) -eq 1 ]] ||
    test_fail "concurrent callers built $(($(builds) - before)) times"

for bad in ../probe 'probe;x' nosuch; do
    "$g/out.sh" "$bad" >/dev/null 2>"$scratch/err" && test_fail "out.sh accepted the name '$bad'"
    grep -q "no recipe named" "$scratch/err" || test_fail "out.sh '$bad' gave no clear error: $(cat "$scratch/err")"
done
echo "ok: miss, hit, input change, failed/killed build, concurrent callers and bad names behave"
