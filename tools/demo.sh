#!/usr/bin/env bash
# make demo: the manager's front door. A private vesseld launches a busybox container (on its own
# managed network) and a riscv64 VM with the embedded defaults, runs a command in the container,
# shows `vessel list`, and removes everything it made.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$build/src/cli
work=$(mktemp -d /tmp/vessel-demo.XXXXXX)
export VESSEL_SOCKET=$work/vessel.sock
bridge=vdemo$$
gateway=10.214.$(($$ % 250)).1
cgroup_parent=vessel-demo-$$
daemon=
vessel() { "$bin/vessel" "$@"; }
cleanup() {
  vessel delete --force demo-c1 >/dev/null 2>&1 || true
  vessel delete --force demo-vm >/dev/null 2>&1 || true
  vessel network delete "$bridge" >/dev/null 2>&1 || true
  [[ -n $daemon ]] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
  for dir in /sys/fs/cgroup/*/"$cgroup_parent"; do rmdir "$dir" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

# The VM image is built by `make guest` (the demo target depends on it).
"$top/guest/out.sh" riscv64-kernel Image >/dev/null
"$top/guest/out.sh" riscv64-rootfs root.ext4 >/dev/null

echo "== vesseld: state in $work, network $bridge ($gateway/24)"
"$bin/vesseld" --socket "$VESSEL_SOCKET" --state-dir "$work/state" --cgroup-parent "$cgroup_parent" \
  --bridge "$bridge" --bridge-address "$gateway" >"$work/vesseld.log" 2>&1 &
daemon=$!
for _ in $(seq 100); do vessel list >/dev/null 2>&1 && break; sleep 0.05; done

echo "== vessel launch busybox demo-c1"
vessel launch busybox demo-c1
for _ in $(seq 100); do vessel list | grep -qE "^demo-c1 +RUNNING +[0-9]" && break; sleep 0.1; done
vessel exec demo-c1 -- sh -c \
  'echo "hello from a Vessel container: $(hostname), pid $$, $(ip -4 -o addr show eth0 | awk "{print \$4}")"; grep ^Seccomp: /proc/self/status'

echo
echo "== vessel launch riscv64/busybox demo-vm --vm -c limits.cpu=2"
# The launch returns once the guest's agent answers: exec works from then on.
vessel launch riscv64/busybox demo-vm --vm -c limits.cpu=2 -c limits.memory=256MiB
vessel console --show-log demo-vm | grep -E 'Linux version|smp: Brought up' | cut -c1-100
vessel exec demo-vm -- sh -c \
  'echo "hello from a Vessel VM: $(uname -m), kernel $(uname -r), root on $(grep " / " /proc/mounts | cut -d" " -f1)"' 

echo
echo "== vessel list"
vessel list
echo
echo "== Cleaning up"
vessel delete --force demo-c1
vessel delete --force demo-vm
vessel network delete "$bridge"
echo "== Done: a container and a VM, one manager."
