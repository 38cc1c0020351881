#!/bin/bash
# Podman drives vessel-runc as its OCI runtime (--runtime): an image imported from a busybox
# rootfs tarball; run with output and exit status, run -d, exec (output, exit status), stop, rm,
# --memory reaching the container's cgroup, and run -t / exec -t (a pty through conmon's
# --console-socket). Podman keeps everything under a temporary --root/--runroot (vfs storage, so it
# mounts nothing there) and uses cgroupfs (vessel-runc has no systemd cgroup manager).
# Usage: podman.sh VESSEL_RUNC
set -uo pipefail
runtime=$(readlink -f "$1")
command -v podman >/dev/null || { echo "FAIL: podman missing (make deps installs it)"; exit 1; }
work=$(mktemp -d /tmp/vessel-podman-XXXXXX)
podman_() {
    podman --root "$work/storage" --runroot "$work/run" --storage-driver vfs \
        --cgroup-manager cgroupfs --events-backend none --runtime "$runtime" "$@"
}
# Podman's cgroupfs manager puts containers under libpod_parent and leaves it; ours to remove
# when it did not exist before.
had_libpod_parent=$([[ -e /sys/fs/cgroup/cpu/libpod_parent || -e /sys/fs/cgroup/libpod_parent ]] && echo yes)
cleanup() {
    podman_ rm -af -t 0 >/dev/null 2>&1
    rm -rf "$work"
    if [[ -z $had_libpod_parent ]]; then
        for dir in /sys/fs/cgroup/*/libpod_parent /sys/fs/cgroup/libpod_parent; do
            [[ -d $dir ]] && find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null
        done
    fi
    return 0
}
trap cleanup EXIT
failures=0
check() {  # check DESCRIPTION WANT GOT
    if [[ "$2" == "$3" ]]; then echo "ok: $1"; else echo "FAIL: $1: want '$2', got '$3'"; failures=$((failures + 1)); fi
}
# This host lacks CAP_SYS_RESOURCE: Podman's default RLIMIT_NOFILE (above the host's hard limit)
# fails in every runtime (crun and runc too), so the containers ask for what the host allows.
# --network none: the test is about the runtime; Podman's default network would leave its bridge
# (cni-podman0) and firewall chains on the host.
limits=(--ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=4096:4096 --network none)

mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/rootfs/tmp"
cp /bin/busybox "$work/rootfs/bin/"
for applet in sh echo cat id sleep grep; do ln -s busybox "$work/rootfs/bin/$applet"; done
tar -C "$work/rootfs" -czf "$work/busybox.tar.gz" .
podman_ import "$work/busybox.tar.gz" localhost/vessel-busybox:test >/dev/null ||
    { echo "FAIL: podman import"; exit 1; }
image=localhost/vessel-busybox:test

out=$(podman_ run --rm "${limits[@]}" "$image" sh -c 'echo hello from $(id -u); exit 3' 2>"$work/err")
check "run: exit status" 3 "$?"
check "run: output" "hello from 0" "$out"

name=vessel-podman-$$
podman_ run -d --name "$name" "${limits[@]}" "$image" sleep 1000 >/dev/null 2>"$work/err"
check "run -d" 0 "$?"
out=$(podman_ exec "$name" sh -c 'echo exec in $(cat /proc/1/cmdline | grep -c sleep)' 2>>"$work/err")
check "exec: output (pid 1 is the container's sleep)" "exec in 1" "$out"
podman_ exec "$name" sh -c 'exit 5' 2>>"$work/err"
check "exec: exit status" 5 "$?"
state=$(podman_ inspect -f '{{.State.Status}}' "$name")
check "inspect while running" running "$state"
podman_ stop -t 2 "$name" >/dev/null 2>&1
check "stop" 0 "$?"
state=$(podman_ inspect -f '{{.State.Status}}' "$name")
check "inspect after stop" exited "$state"
podman_ rm "$name" >/dev/null 2>&1
check "rm" 0 "$?"

out=$(podman_ run --rm "${limits[@]}" --memory 64m "$image" sh -c \
    'line=$(grep :memory: /proc/self/cgroup); p=${line##*:}; cat /sys/fs/cgroup/memory$p/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max' 2>>"$work/err")
check "--memory 64m reaches the cgroup" 67108864 "$out"

# -t: conmon takes the pty master through --console-socket.
out=$(podman_ run --rm -t "${limits[@]}" "$image" sh -c 'tty; exit 2' </dev/null 2>>"$work/err" | tr -d '\r')
check "run -t: exit status" 2 "${PIPESTATUS[0]}"
check "run -t: a pty" /dev/pts/0 "$out"
podman_ run -d --name "$name-tty" "${limits[@]}" "$image" sleep 1000 >/dev/null 2>>"$work/err"
out=$(podman_ exec -t "$name-tty" sh -c 'tty' </dev/null 2>>"$work/err" | tr -d '\r')
check "exec -t: a pty" /dev/pts/0 "$out"
podman_ rm -f -t 0 "$name-tty" >/dev/null 2>&1

if ((failures)); then echo "--- podman stderr:"; cat "$work/err"; fi
podman_ rm -af -t 0 >/dev/null 2>&1
if grep -q "$work" /proc/self/mountinfo; then echo "FAIL: mounts left under $work"; failures=$((failures + 1)); fi
# Podman's cgroupfs parent holds one directory per container while it exists.
left=$(find /sys/fs/cgroup -maxdepth 3 -path '*libpod_parent/libpod-*' -type d 2>/dev/null | head -3)
if [[ -n $left ]]; then echo "FAIL: container cgroups left: $left"; failures=$((failures + 1)); fi
exit $((failures > 0))
