#!/usr/bin/env bash
# The VMM jail as vesseld uses it, on the riscv64/busybox VM (make guest): the running vessel-vmm
# is seccomp-filtered with no_new_privs, runs as a uid of vesseld's own range with every
# capability set empty, sees a root holding nothing but its vsock socket's directory, and has pid,
# mount, network, ipc and uts namespaces of its own; the guest still boots from its disk, takes a
# DHCP lease through its TAP, answers exec and file push over vsock, and stops cleanly. Then the
# jail's test build of the VMM (VESSEL_JAIL_PROBE), which tries to run a program once jailed, is
# killed by SIGSYS with a line naming the call (execve) in the instance's log.
# Usage: vmm_jail_e2e.sh VESSEL VESSELD VMM_JAIL_PROBE. Needs root and `make guest`.
set -uo pipefail
vessel_bin=$1
vesseld_bin=$2
probe_bin=$3
source "$(dirname "$0")/lib.sh"
guest_out=$(dirname "$0")/../../../guest/out.sh
kernel=$("$guest_out" riscv64-kernel Image 2>/dev/null) || { echo "FAIL: no riscv64 kernel (make guest)"; exit 1; }
rootfs=$("$guest_out" riscv64-rootfs root.ext4 2>/dev/null) || { echo "FAIL: no riscv64 root disk (make guest)"; exit 1; }
mkdir -p "$work/guests"
ln -s "$(dirname "$kernel")" "$work/guests/riscv64-kernel"
ln -s "$(dirname "$rootfs")" "$work/guests/riscv64-rootfs"

vmm=$(dirname "$vesseld_bin")/vessel-vmm guest_cache=$work/guests start_daemon
check "launch a jailed riscv64 VM (ready once its agent answers over vsock)" \
  "$vessel_bin" launch riscv64/busybox j1 --vm -c limits.memory=128MiB
vmm_pid=$(pgrep -f -- "--disk $state/instances/j1/root.img")
check "its vessel-vmm is running" test -n "$vmm_pid"
field() { sed -n "s/^$1:[[:space:]]*//p" "/proc/$vmm_pid/status"; }
check "seccomp filter mode (Seccomp: 2)" test "$(field Seccomp)" = 2
check "no_new_privs (NoNewPrivs: 1)" test "$(field NoNewPrivs)" = 1
uid=$(field Uid | cut -f1)
check "a uid of vesseld's range for jailed VMMs, not root ($uid)" \
  test "$uid" -ge 1879048192 -a "$uid" -lt $((1879048192 + 65536))
check "the same uid real, effective, saved and fs" test "$(field Uid)" = "$uid	$uid	$uid	$uid"
check "its own group ($(field Gid | cut -f1)), no supplementary groups" \
  bash -c "[[ '$(field Gid | cut -f1)' == '$uid' && -z '$(field Groups)' ]]"
for set in CapInh CapPrm CapEff CapBnd CapAmb; do
  check "capability set $set is empty" test "$(field $set)" = 0000000000000000
done
check "the uid is recorded with the instance" grep -q "\"jail_id\":$uid" "$state/instances/j1/guest.json"
check "its root holds only the way to its vsock socket's directory" \
  test "$(ls -A "/proc/$vmm_pid/root")" = "$(echo "$state" | cut -d/ -f2)"
check "and that directory is the instance's" test -S "/proc/$vmm_pid/root$state/instances/j1/vsock.sock"
check "the root is read-only" grep -q '^vessel-jail / tmpfs ro,' "/proc/$vmm_pid/mounts"
for ns in pid mnt net ipc uts; do
  check "a $ns namespace of its own" test "$(readlink /proc/$vmm_pid/ns/$ns)" != "$(readlink /proc/self/ns/$ns)"
done
check "it is pid 1 of its pid namespace" bash -c "grep -q '^NSpid:.*[[:space:]]1\$' /proc/$vmm_pid/status"
check "no core dumps, bounded open files" bash -c \
  "grep -q '^Max core file size *0 *0' /proc/$vmm_pid/limits && grep -q '^Max open files *1024 *1024' /proc/$vmm_pid/limits"
check "every thread is filtered" bash -c \
  "for t in /proc/$vmm_pid/task/*; do grep -q '^Seccomp:[[:space:]]*2' \$t/status || exit 1; done"
check "exec in the guest over vsock" bash -c "[[ \$('$vessel_bin' exec j1 -- uname -m) == riscv64 ]]"
head -c $((4 << 20)) /dev/urandom >"$work/payload"
check "file push to the guest's disk and back" bash -c \
  "'$vessel_bin' file push '$work/payload' j1/root/payload && '$vessel_bin' exec j1 -- sync &&
   '$vessel_bin' file pull j1/root/payload '$work/payload.back' && cmp '$work/payload' '$work/payload.back'"
for _ in $(seq 150); do "$vessel_bin" list | grep -qE "^j1 +RUNNING +${gateway%.1}\." && break; sleep 0.1; done
check "the guest took a DHCP lease through its TAP" bash -c \
  "'$vessel_bin' list | grep -qE '^j1 +RUNNING +${gateway%.1}\.[0-9]+ +VM'"
check "the guest pings the bridge" "$vessel_bin" exec j1 -- ping -c 1 -W 5 "$gateway"
check "stop" "$vessel_bin" stop j1
check "the guest powered off cleanly" bash -c "'$vessel_bin' info j1 | grep -q '^Last exit: powered off'"
check "no forbidden call on the way" bash -c "! grep -a 'forbids system call' '$state/instances/j1/console.log'"
check "start again keeps its uid" bash -c \
  "'$vessel_bin' start j1 && grep -q '\"jail_id\":$uid' '$state/instances/j1/guest.json'"
check "a second VM gets another uid" bash -c \
  "'$vessel_bin' launch riscv64/busybox j2 --vm -c limits.memory=128MiB &&
   ! grep -q '\"jail_id\":$uid' '$state/instances/j2/guest.json'"
check "delete the second" "$vessel_bin" delete --force j2
check "stop the first" "$vessel_bin" stop j1

# The jail's test build: a forbidden call after start-up ends the VMM by SIGSYS, and says so.
stop_daemon
vmm=$probe_bin guest_cache=$work/guests start_daemon
expect_error "a VMM that makes a forbidden call fails the start" "stopped during its boot" \
  "$vessel_bin" start j1
check "the instance log names the call and the thread" \
  grep -aq "the jail's seccomp filter forbids system call 59 on the main thread" \
  "$state/instances/j1/console.log"
check "and the VMM died of SIGSYS" bash -c "'$vessel_bin' info j1 | grep -q '^Last exit: killed by signal 31'"
check "delete it" "$vessel_bin" delete --force j1
check "and nothing is left" nothing_left j1
finish
