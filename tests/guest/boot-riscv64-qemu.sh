#!/bin/bash
# Usage: boot-riscv64-qemu.sh REPO — boots the riscv64 kernel + initramfs under QEMU's virt board
# with OpenSBI (-bios default), 2 harts, runs commands through vessel.run and expects the /init
# marker, the machine name, the shell's arithmetic, both harts online and QEMU's exit on poweroff.
REPO=$1
source "$(dirname "$0")/common.sh"
command -v qemu-system-riscv64 >/dev/null || test_fail "qemu-system-riscv64 missing (make deps)"
kernel=$(guest_dir riscv64-kernel)/Image
initrd=$(guest_dir riscv64-initramfs)/initramfs.cpio.gz
log=$(mktemp)
trap 'rm -f "$log"' EXIT

start=$(date +%s%N)
status=0
timeout -k 5 240 qemu-system-riscv64 -machine virt -bios default -nographic -no-reboot -m 256 -smp 2 \
    -kernel "$kernel" -initrd "$initrd" \
    -append 'console=ttyS0 earlycon=sbi vessel.run="uname -m; echo sum=$((6*7)); echo harts=$(grep -c ^processor /proc/cpuinfo)"' \
    </dev/null >"$log" 2>&1 || status=$?
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
output=$(tr -d '\r' <"$log")
show() { echo "--- serial output ---"; tail -n 40 <<<"$output"; }

[[ $status -ne 124 && $status -ne 137 ]] || { show; test_fail "QEMU did not exit within 240 s (guest did not power off)"; }
[[ $status -eq 0 ]] || { show; test_fail "QEMU exited with status $status"; }
grep -q 'vessel-guest: init started$' <<<"$output" || { show; test_fail "no /init marker line"; }
grep -qx 'riscv64' <<<"$output" || { show; test_fail "uname -m did not print riscv64"; }
grep -qx 'sum=42' <<<"$output" || { show; test_fail "no sum=42 from the guest shell"; }
grep -qx 'harts=2' <<<"$output" || { show; test_fail "not both harts online"; }
grep -qx 'vessel-guest: run exit=0' <<<"$output" || { show; test_fail "commands did not exit 0"; }
echo "ok: riscv64 guest booted, ran the commands and powered off in $elapsed_ms ms"
