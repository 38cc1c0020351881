#!/usr/bin/env bash
# `vessel image build debian/12 --vm`: the Debian VM image for KVM hosts, built through a private
# vesseld from apt's own archive (a few minutes on a cold cache, then the root filesystem is cached
# under the image cache). Booting it needs /dev/kvm, which these hosts lack, so this checks what
# the boot relies on instead: a bzImage and an initramfs that can mount a virtio-blk root, a clean
# sparse ext4 disk whose kernel modules match that kernel, vessel-agent baked in and enabled,
# networkd's DHCP on eth0, and bad input refused with nothing left behind. The riscv64 image is
# built and booted by debian_vm_boot.sh (not part of `make test`: see docs/vm-guests.md).
# Usage: debian_vm_image_e2e.sh VESSEL VESSELD. Needs root.
set -uo pipefail
vessel_bin=$1
vesseld_bin=$2
source "$(dirname "$0")/lib.sh"
agent=$(dirname "$vesseld_bin")/../agent/vessel-agent
image_cache=/var/cache/vessel/images

# No binfmt_misc entry, build directory or mount of ours outlives a build, failed or not.
no_build_leftovers() {
  ls -d "$image_cache"/.build-* 2>/dev/null && return 1
  grep -q "$image_cache" /proc/mounts && return 1
  unshare --mount --propagation private sh -c \
    'mount -t binfmt_misc b /proc/sys/fs/binfmt_misc && ! ls /proc/sys/fs/binfmt_misc | grep "^vessel-"'
}

start_daemon --agent "$agent"

expect_error "Debian 12 has no riscv64 VM image" "riscv64 VM images start with debian/13" \
  "$vessel_bin" image build debian/12 --vm --arch riscv64
expect_error "a riscv64 container image is refused" "can only be a VM (--vm)" \
  "$vessel_bin" image build debian/13 --arch riscv64
expect_error "an architecture neither KVM nor the emulated board runs" "cannot build s390x VM images" \
  "$vessel_bin" image build debian/12 --vm --arch s390x
check "nothing was left by the refusals" no_build_leftovers
# A dynamically linked agent would not start in the guest: refused before anything is built.
kill "$daemon_pid"; wait "$daemon_pid" 2>/dev/null
start_daemon --agent /bin/sh
expect_error "a dynamic agent is refused" "dynamically linked; the guest needs a static vessel-agent" \
  "$vessel_bin" image build debian/12 --vm
kill "$daemon_pid"; wait "$daemon_pid" 2>/dev/null
start_daemon --agent "$agent"

# What a vesseld killed mid-build leaves (its build directory, named after it) goes with the next
# build.
dead_pid=$(sh -c 'echo $$')
mkdir -p "$image_cache/.build-$dead_pid-e2e123/rootfs" && touch "$image_cache/.build-$dead_pid-e2e123/rootfs/x"
started=$(date +%s)
check "image build debian/12 --vm" bash -c "'$vessel_bin' image build debian/12 --vm >'$work/build-out' 2>&1"
echo "# image build debian/12 --vm: $(($(date +%s) - started)) s ($(grep -c '^cached: ' "$work/build-out") cache hit)"
check "nothing was left by the build, nor by the dead vesseld's" no_build_leftovers
check "debian/12 is a VM image" bash -c "'$vessel_bin' image list | grep -qE '^debian/12 +[0-9a-f]+ +VM +Debian GNU/Linux bookworm amd64 VM'"
expect_error "building it again is refused, saying how to keep both" "or name this one with --alias" \
  "$vessel_bin" image build debian/12 --vm

# The only image with a root disk here (the guest cache, and so riscv64/busybox, is absent).
image=$(dirname "$(grep -l '"disk"' "$state"/images/*/metadata.json | head -1)")
check "the image has a kernel, an initramfs and a disk" test -f "$image/kernel" -a -f "$image/initrd" -a -f "$image/disk.img"
check "its metadata: the agent, root on the virtio disk, eth0 kept" bash -c \
  "grep -q '\"agent\": true' '$image/metadata.json' && grep -q 'root=/dev/vda rw console=ttyS0 net.ifnames=0' '$image/metadata.json'"
check "the kernel is an x86 bzImage" bash -c "[[ \$(dd if='$image/kernel' bs=1 skip=$((0x202)) count=4 2>/dev/null) == HdrS ]]"
# The release string the bzImage names (its header's kernel_version points at it).
version_at=$(($(od -An -tu2 -j $((0x20e)) -N2 "$image/kernel") + 0x200))
release=$(dd if="$image/kernel" bs=1 skip="$version_at" count=200 2>/dev/null | tr '\0' '\n' | head -1 | cut -d' ' -f1)
check "the kernel names its release ($release)" bash -c "[[ '$release' =~ ^[0-9]+\.[0-9]+\..*-amd64$ ]]"
zcat "$image/initrd" | cpio -t --quiet >"$work/initrd.list" 2>/dev/null
for module in virtio_mmio virtio_blk ext4; do
  check "the initramfs has $module for the root disk" grep -qE "/$module\.ko(\.xz)?$" "$work/initrd.list"
done
check "the initramfs loads them at boot" bash -c "zcat '$image/initrd' | cpio -i --quiet --to-stdout conf/modules 2>/dev/null | grep -qE '^virtio_blk ?$'"
check "the initramfs is small (MODULES=list)" test "$(stat -c %s "$image/initrd")" -lt $((40 << 20))

disk=$image/disk.img
check "the disk checks clean" e2fsck -fn "$disk"
check "the disk is sparse, with room to spare" bash -c \
  "(( \$(stat -c %s '$disk') == 2 << 30 && \$(stat -c %b '$disk') * 512 < 1536 << 20 ))"
in_disk() { debugfs -R "$1" "$disk" 2>/dev/null; }
check "the disk has the modules of that kernel" bash -c "debugfs -R 'ls -l /usr/lib/modules/$release/kernel/net/vmw_vsock' '$disk' 2>/dev/null | grep -q vmw_vsock_virtio_transport"
in_disk "dump /usr/local/sbin/vessel-agent $work/agent-in-disk" >/dev/null
check "vessel-agent is baked in: the static agent beside vesseld" cmp "$agent" "$work/agent-in-disk"
check "it is executable" bash -c "debugfs -R 'stat /usr/local/sbin/vessel-agent' '$disk' 2>/dev/null | grep -q 'Mode:  0755'"
check "its unit starts it early, after the vsock device" bash -c \
  "debugfs -R 'cat /etc/systemd/system/vessel-agent.service' '$disk' 2>/dev/null | grep -qx 'ExecStart=/usr/local/sbin/vessel-agent' &&
   debugfs -R 'cat /etc/systemd/system/vessel-agent.service' '$disk' 2>/dev/null | grep -q '^After=.*dev-vsock.device'"
check "the unit is enabled" bash -c "debugfs -R 'stat /etc/systemd/system/sysinit.target.wants/vessel-agent.service' '$disk' 2>/dev/null | grep -q 'Type: symlink'"
check "the vsock transport loads at boot" bash -c "[[ \$(debugfs -R 'cat /etc/modules-load.d/vessel.conf' '$disk' 2>/dev/null | grep -v '^#') == vmw_vsock_virtio_transport ]]"
check "systemd is init" bash -c "debugfs -R 'stat /usr/sbin/init' '$disk' 2>/dev/null | grep -qE 'Fast link dest: \"(/|\.\./)lib/systemd/systemd\"'"
check "networkd is enabled" bash -c "debugfs -R 'stat /etc/systemd/system/multi-user.target.wants/systemd-networkd.service' '$disk' 2>/dev/null | grep -q 'Type: symlink'"
check "eth0 takes DHCP only when vesseld asks (VESSEL_DHCP=eth0)" bash -c \
  "debugfs -R 'cat /etc/systemd/network/50-vessel-eth0.network' '$disk' 2>/dev/null | grep -qx 'KernelCommandLine=VESSEL_DHCP=eth0'"
check "the root is the virtio disk in fstab" bash -c "debugfs -R 'cat /etc/fstab' '$disk' 2>/dev/null | grep -q '^/dev/vda / ext4 '"
check "every VM makes its own machine id" bash -c "debugfs -R 'stat /etc/machine-id' '$disk' 2>/dev/null | grep -q 'Size: 0$'"
check "it is Debian 12" bash -c "debugfs -R 'cat /etc/debian_version' '$disk' 2>/dev/null | grep -q '^12\.'"
check "no package lists or downloaded .debs are kept" bash -c \
  "! debugfs -R 'ls /var/cache/apt/archives' '$disk' 2>/dev/null | grep -q '\.deb'"

# No /dev/kvm here: the launch fails at once (the VMM refuses, and vesseld stops waiting for the
# agent when the VM ends), says why, and leaves no instance behind.
if [[ ! -e /dev/kvm ]]; then
  kill "$daemon_pid"; wait "$daemon_pid" 2>/dev/null
  vmm=$(dirname "$vesseld_bin")/vessel-vmm start_daemon --agent "$agent"
  started=$(date +%s)
  expect_error "without /dev/kvm the launch fails, with the VMM's reason" "KVM is not available here" \
    "$vessel_bin" launch debian/12 k1 --vm
  check "at once, not at the end of the agent's wait" test $(($(date +%s) - started)) -lt 30
  check "and leaves nothing" nothing_left k1
fi

check "delete the image" "$vessel_bin" image delete debian/12
started=$(date +%s)
check "a rebuild takes the root from the cache" bash -c "'$vessel_bin' image build debian/12 --vm >'$work/build-out' 2>&1"
echo "# cached rebuild: $(($(date +%s) - started)) s"
check "it said so" grep -q "^cached: $image_cache/debian-bookworm-amd64-vm-" "$work/build-out"
check "delete the rebuilt image" "$vessel_bin" image delete debian/12
finish
