#!/usr/bin/env bash
# `vessel image build debian/13 --vm --arch riscv64`, launched and driven through a private vesseld
# on the emulated RISC-V board: systemd boots to agent-ready, exec and files go through the baked-in
# vessel-agent, eth0 takes a DHCP lease on the bridge, limits.disk grows the root, and `vessel stop`
# is a clean systemd power-off. Not part of `make test` (`make test-slow` runs it): on a cold cache
# the build configures a whole riscv64 Debian under qemu-user (about 10 minutes on 2 cores), and
# systemd under the interpreter takes about a minute to boot; docs/vm-guests.md has the timings.
# Usage: debian_vm_boot.sh VESSEL VESSELD. Needs root and `make guest` (the riscv64 agent).
set -uo pipefail
vessel_bin=$1
vesseld_bin=$2
source "$(dirname "$0")/lib.sh"
guest_out=$(dirname "$0")/../../../guest/out.sh
riscv_agent=$("$guest_out" riscv64-rootfs vessel-agent 2>/dev/null) || {
  echo "FAIL: no riscv64 vessel-agent (make guest)"; exit 1; }
mkdir -p "$work/guests"
ln -s "$(dirname "$riscv_agent")" "$work/guests/riscv64-rootfs"
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

vmm=$(dirname "$vesseld_bin")/vessel-vmm guest_cache=$work/guests start_daemon

started=$(date +%s%N)
check "image build debian/13 --vm --arch riscv64" bash -c \
  "'$vessel_bin' image build debian/13 --vm --arch riscv64 >'$work/build-out' 2>&1"
echo "# image build: $(ms_since "$started") ms ($(grep -c '^cached: ' "$work/build-out") cache hit)"
check "it is a riscv64 VM image" bash -c \
  "'$vessel_bin' image list | grep -qE '^debian/13 +[0-9a-f]+ +VM +Debian GNU/Linux trixie riscv64 VM'"

started=$(date +%s%N)
check "launch debian/13 (ready once its agent answers)" "$vessel_bin" launch debian/13 d13 --vm
echo "# launch to agent-ready: $(ms_since "$started") ms"
check "the guest is Debian 13" bash -c \
  "'$vessel_bin' exec d13 -- cat /etc/os-release | grep -qx 'VERSION_ID=\"13\"'"
check "on riscv64" bash -c "[[ \$('$vessel_bin' exec d13 -- uname -m) == riscv64 ]]"
check "systemd is pid 1" bash -c "[[ \$('$vessel_bin' exec d13 -- cat /proc/1/comm) == systemd ]]"
check "the agent runs as its unit" bash -c \
  "[[ \$('$vessel_bin' exec d13 -- systemctl is-active vessel-agent.service) == active ]]"
check "boot finishes with no failed unit" bash -c \
  "[[ \$('$vessel_bin' exec d13 -- systemctl is-system-running --wait) == running ]]"
for _ in $(seq 300); do "$vessel_bin" list | grep -qE "^d13 +RUNNING +${gateway%.1}\." && break; sleep 0.2; done
check "eth0 took a DHCP lease on the bridge (in list)" bash -c \
  "'$vessel_bin' list | grep -qE '^d13 +RUNNING +${gateway%.1}\.[0-9]+ +VM'"
check "resolved took the bridge's DNS server from the lease" bash -c \
  "'$vessel_bin' exec d13 -- resolvectl dns eth0 | grep -q ': $gateway\$'"
head -c $((4 << 20)) /dev/urandom >"$work/payload"
check "file push into the VM" "$vessel_bin" file push "$work/payload" d13/root/payload
check "file pull gives the same bytes back" bash -c \
  "'$vessel_bin' file pull d13/root/payload '$work/payload.back' && cmp '$work/payload' '$work/payload.back'"
check "the machine id is the guest's own" bash -c \
  "[[ \$('$vessel_bin' exec d13 -- cat /etc/machine-id) =~ ^[0-9a-f]{32}$ ]]"

started=$(date +%s%N)
# A clean power-off is what is checked, not how soon: systemd's shutdown on a sanitizer build's
# interpreter takes longer than stop's default 30 s before it kills the VMM.
check "vessel stop" "$vessel_bin" stop --timeout 180 d13
echo "# stop to powered off: $(ms_since "$started") ms"
check "the guest powered off" bash -c "'$vessel_bin' info d13 | grep -q '^Last exit: powered off'"
check "systemd did it, asked by the agent" bash -c \
  "grep -aq 'vessel-agent: asking systemd to power off' '$state/instances/d13/console.log' &&
   grep -aq 'systemd-shutdown.*Powering off' '$state/instances/d13/console.log'"
check "the root disk is clean" e2fsck -fn "$state/instances/d13/root.img"

check "limits.disk grows the stopped VM's disk" "$vessel_bin" config set d13 limits.disk=3GiB
started=$(date +%s%N)
check "start again" "$vessel_bin" start d13
echo "# start to agent-ready: $(ms_since "$started") ms"
check "the guest's root filled the larger disk" bash -c \
  "(( \$('$vessel_bin' exec d13 -- df -B1M --output=size / | tail -1) > 2900 ))"
check "what was written before is there" bash -c \
  "'$vessel_bin' exec d13 -- sha256sum /root/payload | grep -q \$(sha256sum <'$work/payload' | cut -d' ' -f1)"
check "delete --force" "$vessel_bin" delete --force d13
check "and leaves nothing" nothing_left d13
check "delete the image" "$vessel_bin" image delete debian/13
finish
