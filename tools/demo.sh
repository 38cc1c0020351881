#!/usr/bin/env bash
# make demo: one container and one virtual machine, each with the embedded defaults, then cleanup.
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
top=$(cd "$(dirname "$0")/.." && pwd)
runc="$build/src/cli/vessel-runc"
vmm="$build/src/cli/vessel-vmm"
work=$(mktemp -d /tmp/vessel-demo.XXXXXX)
root="$work/state"
cleanup() {
  "$runc" --root "$root" delete --force vessel-demo >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== A container: vessel-runc runs busybox with the default spec (namespaces, cgroups, masked /proc)"
mkdir -p "$work/bundle/rootfs/bin"
cp /bin/busybox "$work/bundle/rootfs/bin/busybox"
for applet in sh echo hostname id cat ps; do ln -s busybox "$work/bundle/rootfs/bin/$applet"; done
(cd "$work/bundle" && "$runc" spec)
# The default spec runs `sh`; make it say hello and show what it sees.
python3 - "$work/bundle/config.json" <<'PY'
import json, sys
path = sys.argv[1]
spec = json.load(open(path))
spec["process"]["terminal"] = False
spec["process"]["args"] = ["sh", "-c",
    "echo hello from a Vessel container; echo hostname: $(hostname); echo pid: $$; id"]
json.dump(spec, open(path, "w"), indent=2)
PY
"$runc" --root "$root" run --bundle "$work/bundle" vessel-demo

echo
echo "== A virtual machine: vessel-vmm boots Linux on the emulated RISC-V board"
kernel=$("$top/guest/out.sh" riscv64-kernel Image)
initrd=$("$top/guest/out.sh" riscv64-initramfs initramfs.cpio.gz)
"$vmm" --kernel "$kernel" --initrd "$initrd" --memory 256M --cpus 2 --timeout 300 \
  --append 'console=ttyS0 quiet vessel.run="echo hello from a Vessel VM; uname -sm; grep -c ^processor /proc/cpuinfo"'
echo
echo "== Done: both exited cleanly."
