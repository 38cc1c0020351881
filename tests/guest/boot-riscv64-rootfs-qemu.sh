#!/bin/bash
# Usage: boot-riscv64-rootfs-qemu.sh REPO — boots the riscv64 kernel from the riscv64-rootfs disk
# (no initramfs) under QEMU's virt board on virtio-blk: the root is /dev/vda, ext4, writable, and
# the guest tools are there. The reference that vessel-vmm's own disk boot is held to.
REPO=$1
source "$(dirname "$0")/common.sh"
command -v qemu-system-riscv64 >/dev/null || test_fail "qemu-system-riscv64 missing (make deps)"
kernel=$(guest_dir riscv64-kernel)/Image
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cp --sparse=always "$(guest_dir riscv64-rootfs)/root.ext4" "$scratch/root.ext4"

# vessel.run64: the commands need quotes.
commands=$(printf '%s' 'grep " / " /proc/mounts; echo written >/marker; sync; ls -1 /usr/bin' | base64 -w0)
status=0
timeout -k 5 240 qemu-system-riscv64 -machine virt -bios default -nographic -no-reboot -m 256 \
    -kernel "$kernel" -drive "file=$scratch/root.ext4,if=none,format=raw,id=root" \
    -device virtio-blk-device,drive=root \
    -append "root=/dev/vda rw console=ttyS0 vessel.run64=$commands" \
    </dev/null >"$scratch/log" 2>&1 || status=$?
output=$(tr -d '\r' <"$scratch/log")
show() { echo "--- serial output ---"; tail -n 40 <<<"$output"; }

[[ $status -eq 0 ]] || { show; test_fail "QEMU exited with status $status"; }
grep -q '^/dev/root / ext4 rw' <<<"$output" || { show; test_fail "the root is not the ext4 disk, writable"; }
grep -qx 'vsockcat' <<<"$output" || { show; test_fail "the guest tools are missing"; }
grep -qx 'vessel-guest: run exit=0' <<<"$output" || { show; test_fail "commands did not exit 0"; }
[[ "$(debugfs -R 'cat /marker' "$scratch/root.ext4" 2>/dev/null)" == written ]] ||
    test_fail "what the guest wrote is not on the disk"
e2fsck -fn "$scratch/root.ext4" >/dev/null 2>&1 || test_fail "the disk is not clean after the guest powered off"
echo "ok: riscv64 booted from its ext4 disk on virtio-blk, wrote to it and left it clean"
