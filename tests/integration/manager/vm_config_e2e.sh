#!/usr/bin/env bash
# End-to-end: the VM-only config keys on real riscv64 guests under a private vesseld.
# limits.disk grows a VM's root disk (sparse, only while stopped, never shrinking) and the guest's
# agent grows its root filesystem to match at boot; boot.agent_timeout bounds the wait for a guest
# agent that never answers. Needs root and `make guest`'s riscv64 kernel, initramfs and root disk.
# Usage: vm_config_e2e.sh VESSEL VESSELD (vessel-runc and vessel-vmm are found beside vesseld)
set -uo pipefail
vessel_bin=$1
vesseld_bin=$2
source "$(dirname "$0")/lib.sh"

guest_out=$(dirname "$0")/../../../guest/out.sh
kernel=$("$guest_out" riscv64-kernel Image 2>/dev/null) || kernel=
initramfs=$("$guest_out" riscv64-initramfs initramfs.cpio.gz 2>/dev/null) || initramfs=
rootfs=$("$guest_out" riscv64-rootfs root.ext4 2>/dev/null) || rootfs=
if [[ -z $kernel || -z $initramfs || -z $rootfs ]]; then
  # make test builds the guest images first (make guest): their absence is a broken set-up.
  echo "FAIL - no riscv64 kernel, initramfs and root disk from make guest (guest/out.sh found none)"
  exit 1
fi
mkdir -p "$work/guests"
ln -s "$(dirname "$kernel")" "$work/guests/riscv64-kernel"
ln -s "$(dirname "$rootfs")" "$work/guests/riscv64-rootfs"
vmm=$(dirname "$vesseld_bin")/vessel-vmm guest_cache=$work/guests start_daemon
image_disk=$(stat -c %s "$rootfs")
mib() { echo $(($1 >> 20)); }
# The size of / in the guest as df sees it, in KiB (busybox df -k: the second column).
guest_root_kib() { "$vessel_bin" exec "$1" -- df -k / | awk 'NR == 2 { print $2 }'; }
vmm_of() { pgrep -f -- "--vsock 3,$state/instances/$1/vsock.sock"; }

# Containers have no root disk of their own, nor an agent: the keys are refused, not ignored.
expect_error "limits.disk on a container is refused" "limits.disk applies to VMs only" \
  "$vessel_bin" launch busybox c1 -c limits.disk=1GiB
check "the refused container launch left nothing" nothing_left c1
expect_error "boot.agent_timeout on a container is refused" "boot.agent_timeout applies to VMs only" \
  "$vessel_bin" launch busybox c1 -c boot.agent_timeout=5
check "launch a container" "$vessel_bin" launch busybox c1
expect_error "config set limits.disk on a container is refused" "limits.disk applies to VMs only" \
  "$vessel_bin" config set c1 limits.disk=1GiB
check "and was not saved" test -z "$("$vessel_bin" config get c1 limits.disk)"
check "delete the container" "$vessel_bin" delete --force c1

# Bad values and a shrinking disk fail the launch and leave nothing.
expect_error "a limits.disk that is not a size" "limits.disk: 12parsecs: unknown unit parsecs" \
  "$vessel_bin" launch riscv64/busybox v0 --vm -c limits.disk=12parsecs
expect_error "a boot.agent_timeout that is not whole seconds" \
  "boot.agent_timeout: 5s: must be a whole number of seconds from 1 to 3600" \
  "$vessel_bin" launch riscv64/busybox v0 --vm -c boot.agent_timeout=5s
expect_error "a limits.disk below the image's disk is refused" \
  "limits.disk of VM v0 cannot shrink its root disk from $(mib "$image_disk")MiB to 128MiB: data would be lost" \
  "$vessel_bin" launch riscv64/busybox v0 --vm -c limits.disk=128MiB
check "the refused VM launch left nothing" nothing_left v0

# A VM launched with a bigger disk: the file grows sparsely, the guest's / fills it at boot.
check "launch a riscv64 VM with limits.disk=1GiB" \
  "$vessel_bin" launch riscv64/busybox rv1 --vm -c limits.disk=1GiB -c limits.memory=128MiB
disk=$state/instances/rv1/root.img
check "its vessel-vmm is found by its vsock socket (the leftover check below relies on it)" \
  test -n "$(vmm_of rv1)"
check "its root disk is 1GiB" test "$(stat -c %s "$disk")" -eq $((1 << 30))
check "and still sparse" bash -c "(( \$(stat -c %b '$disk') * 512 < 64 << 20 ))"
check "the agent grew / at boot (console)" \
  bash -c "'$vessel_bin' console --show-log rv1 | grep -qx 'vessel-agent: grew / from $(mib "$image_disk") to 1024 MiB.*'"
kib=$(guest_root_kib rv1)
echo "# df -k / in the guest: ${kib:-?} KiB"
# ext4's own metadata (inode tables, journal) takes a few percent of the device.
check "df in the guest shows a root of about 1GiB" bash -c "(( ${kib:-0} > 900 * 1024 && ${kib:-0} <= 1024 * 1024 ))"
expect_error "a running VM's disk cannot grow" "limits.disk of VM rv1 cannot change while it runs" \
  "$vessel_bin" config set rv1 limits.disk=2GiB
expect_error "nor shrink" "limits.disk of VM rv1 cannot shrink its root disk from 1GiB to 512MiB: data would be lost" \
  "$vessel_bin" config set rv1 limits.disk=512MiB
check "the refused changes were not saved" test "$("$vessel_bin" config get rv1 limits.disk)" = 1GiB
check "stop the VM" "$vessel_bin" stop --timeout 30 rv1
check "the grown filesystem checks clean after the guest's power-off" e2fsck -fn "$disk"
expect_error "a stopped VM's disk cannot shrink either" "cannot shrink its root disk from 1GiB to 512MiB" \
  "$vessel_bin" config set rv1 limits.disk=512MiB
check "config set limits.disk=1536MiB while stopped" "$vessel_bin" config set rv1 limits.disk=1536MiB
check "the disk grew at once" test "$(stat -c %s "$disk")" -eq $((1536 << 20))
check "start the VM" "$vessel_bin" start rv1
check "the agent grew / again at boot" \
  bash -c "'$vessel_bin' console --show-log rv1 | grep -qx 'vessel-agent: grew / from 1024 to 1536 MiB.*'"
kib=$(guest_root_kib rv1)
check "df in the guest shows about 1.5GiB" bash -c "(( ${kib:-0} > 1400 * 1024 && ${kib:-0} <= 1536 * 1024 ))"
# After the e2fsck above: a file deleted in this guest leaves a deletion time near 1970 (it has no
# real-time clock), which e2fsck mistakes for a broken orphan list.
check "the guest can use the new space" \
  "$vessel_bin" exec rv1 -- sh -c 'dd if=/dev/zero of=/big bs=1M count=300 2>/dev/null && sync && rm /big'
check "restart the VM" "$vessel_bin" restart rv1
check "a root that fills its disk is left alone (still two growths in the console log)" \
  test "$("$vessel_bin" console --show-log rv1 | grep -c '^vessel-agent: grew /')" -eq 2
check "delete the VM" "$vessel_bin" delete --force rv1
check "VM delete left nothing" nothing_left rv1

# A guest that claims an agent but has none (the initramfs-only guest): the launch gives up after
# boot.agent_timeout, says why, and leaves nothing, no vessel-vmm included.
check "import a VM image that claims an agent it does not have" \
  "$vessel_bin" image import --vm --kernel "$kernel" --initrd "$initramfs" --agent --alias noagent
started=$(date +%s)
expect_error "a launch whose agent never answers fails after boot.agent_timeout" \
  "the guest agent did not answer within 5 s" \
  "$vessel_bin" launch noagent na1 --vm -c boot.agent_timeout=5
elapsed=$(($(date +%s) - started))
cp "$work/out" "$work/na1-out"
echo "# launch with boot.agent_timeout=5 failed after ${elapsed} s"
check "the error names the VM and the key" \
  grep -qF "VM na1 did not become ready (boot.agent_timeout sets the wait" "$work/na1-out"
check "it failed within the timeout and a few seconds" test "$elapsed" -lt 20
check "no vessel-vmm of it is left" test -z "$(vmm_of na1)"
check "the failed launch left nothing" nothing_left na1
check "delete the image" "$vessel_bin" image delete noagent

finish
