#!/bin/bash
# Usage: boot-x86_64-qemu.sh REPO — boots Debian's amd64 kernel with the x86_64 initramfs under QEMU
# TCG with SVM (-cpu max), appends the kvm modules as a second cpio archive (the kernel unpacks
# concatenated archives), loads them in load-order and expects /dev/kvm: the setup the KVM tests use.
REPO=$1
source "$(dirname "$0")/common.sh"
command -v qemu-system-x86_64 >/dev/null || test_fail "qemu-system-x86_64 missing (make deps)"
kdir=$(guest_dir x86_64-kernel)
initrd=$(guest_dir x86_64-initramfs)/initramfs.cpio.gz
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

mkdir -p "$scratch/root/modules"
cp "$kdir"/modules/*.ko "$kdir/modules/load-order" "$scratch/root/modules/"
(cd "$scratch/root" && find . -mindepth 1 | cpio --quiet -o -H newc -R 0:0) | gzip -n >"$scratch/modules.cpio.gz"
cat "$initrd" "$scratch/modules.cpio.gz" >"$scratch/initrd.gz"

run='uname -m; for m in $(cat /modules/load-order); do insmod /modules/$m || exit 1; done; test -c /dev/kvm && echo kvm=present'
start=$(date +%s%N)
status=0
timeout -k 5 300 qemu-system-x86_64 -accel tcg -cpu max -m 512 -nographic -no-reboot \
    -kernel "$kdir/vmlinuz" -initrd "$scratch/initrd.gz" \
    -append "console=ttyS0 quiet vessel.run=\"$run\"" </dev/null >"$scratch/log" 2>&1 || status=$?
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
output=$(tr -d '\r' <"$scratch/log")
show() { echo "--- serial output ---"; tail -n 40 <<<"$output"; }

[[ $status -ne 124 && $status -ne 137 ]] || { show; test_fail "QEMU did not exit within 300 s (guest did not power off)"; }
[[ $status -eq 0 ]] || { show; test_fail "QEMU exited with status $status"; }
grep -q 'vessel-guest: init started$' <<<"$output" || { show; test_fail "no /init marker line"; }
grep -qx 'x86_64' <<<"$output" || { show; test_fail "uname -m did not print x86_64"; }
grep -qx 'kvm=present' <<<"$output" || { show; test_fail "the kvm modules did not give /dev/kvm"; }
grep -qx 'vessel-guest: run exit=0' <<<"$output" || { show; test_fail "commands did not exit 0"; }
echo "ok: x86_64 guest booted, loaded the kvm modules (/dev/kvm present) and powered off in $elapsed_ms ms"
