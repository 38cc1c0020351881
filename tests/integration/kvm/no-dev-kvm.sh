#!/bin/sh
# `vessel-vmm --accel kvm` on a host without /dev/kvm: exactly one line on stderr naming /dev/kvm,
# nothing on stdout, exit status 1.
set -eu
vmm=$1
if [ -e /dev/kvm ]; then
    echo "SKIP: this host has /dev/kvm; the test needs a host without it"
    exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf 'not a kernel' >"$work/kernel"
status=0
"$vmm" --accel kvm --kernel "$work/kernel" >"$work/out" 2>"$work/err" || status=$?
cat "$work/err"
[ "$status" -eq 1 ] || { echo "FAIL: exit status $status, want 1"; exit 1; }
[ ! -s "$work/out" ] || { echo "FAIL: wrote to stdout"; exit 1; }
[ "$(wc -l <"$work/err")" -eq 1 ] || { echo "FAIL: stderr is not one line"; exit 1; }
grep -q /dev/kvm "$work/err" || { echo "FAIL: message does not name /dev/kvm"; exit 1; }
echo PASS
