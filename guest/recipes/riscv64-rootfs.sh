# Recipe: a riscv64 root filesystem on an ext4 disk image, made without root privileges
# (mkfs.ext4 -d): the riscv64-initramfs userland (busybox, /init), plus the guest tools the VM
# tests and benchmarks run (vsockcat, randread) and vessel-agent (src/agent, the host's way into a
# Vessel VM over vsock port 7700). /sbin/init starts the agent, then runs /init. 256 MiB, sparse.
# Boot it with: --disk root.ext4 --append 'root=/dev/vda rw console=ttyS0'. Output: root.ext4, and
# vessel-agent on its own: `vessel image build debian/13 --vm --arch riscv64` bakes it into the
# Debian riscv64 VM images (src/manager/image/debian_build.cpp).

# The sources of vessel-agent, relative to the repository root, sorted: the agent and what it links
# (src/base, the protocol), not the host-side client. $1: "cpp" for the translation units only.
agent_sources() {
    (
        cd "$GUEST_DIR/.."
        if [[ "${1:-}" == cpp ]]; then
            ls src/base/*.cpp src/agent/*.cpp
        else
            ls src/base/*.h src/base/*.cpp src/agent/*.h src/agent/*.cpp
        fi
    ) | grep -v '^src/agent/client\.' | LC_ALL=C sort
}

recipe_inputs() {
    echo "file tools/vsockcat.c"
    echo "file tools/randread.c"
    echo "file tools/udhcpc.script"
    # The userland comes from the initramfs entry for the current inputs: a new busybox or init.sh
    # makes a new root filesystem.
    echo "text $(basename "$( (guest_entry riscv64-initramfs) 2>/dev/null)")"
    echo "pkg e2fsprogs"
    echo "pkg gcc-riscv64-linux-gnu"
    echo "pkg libc6-dev-riscv64-cross"
    echo "pkg cpio"
    # vessel-agent: a new source file, an edit or a renamed file makes a new image.
    echo "text agent-sources $(cd "$GUEST_DIR/.." && agent_sources | xargs sha256sum | sha256sum | cut -d' ' -f1)"
    echo "pkg g++-riscv64-linux-gnu"
    echo "pkg nlohmann-json3-dev"
    echo "pkg libfmt-dev"
}

# Cross-compiles vessel-agent, static, into $2 (the image's /usr/bin/vessel-agent); $1 is scratch.
build_agent() {
    local work=$1 binary=$2 repo objects=()
    repo=$(cd "$GUEST_DIR/.." && pwd)
    # Only fmt and nlohmann from the host's /usr/include: -I/usr/include would put the host's
    # glibc headers before the riscv64 ones.
    rm -rf "$work/agent"
    mkdir -p "$work/agent/include" "$work/agent/obj/src/base" "$work/agent/obj/src/agent"
    ln -s /usr/include/fmt "$work/agent/include/fmt"
    ln -s /usr/include/nlohmann "$work/agent/include/nlohmann"
    local flags=(-O2 -std=gnu++2b -Wall -Wextra -DFMT_HEADER_ONLY -I "$repo/src" -I "$work/agent/include")
    (cd "$repo" && agent_sources cpp | xargs -P "$GUEST_JOBS" -I{} \
        riscv64-linux-gnu-g++ "${flags[@]}" -c {} -o "$work/agent/obj/{}.o") ||
        guest_die "vessel-agent did not compile"
    mapfile -t objects < <(agent_sources cpp | sed "s|^|$work/agent/obj/|; s|\$|.o|")
    riscv64-linux-gnu-g++ -static -s -o "$binary" "${objects[@]}" || guest_die "vessel-agent did not link"
}

recipe_build() {
    local out=$1 work=$2 initramfs tool
    initramfs=$( (guest_ensure riscv64-initramfs) )/initramfs.cpio.gz
    [[ -f "$initramfs" ]] || guest_die "no riscv64 initramfs at $initramfs"
    guest_step "unpack the riscv64 initramfs userland"
    rm -rf "$work/root"
    mkdir -p "$work/root"
    # --no-absolute-filenames: nothing in the archive may land outside the root.
    (cd "$work/root" && gzip -dc "$initramfs" | cpio -idm --quiet --no-absolute-filenames)
    [[ -x "$work/root/init" ]] || guest_die "the initramfs has no /init"
    rm -f "$work/root/dev/console"  # made by the kernel's devtmpfs on a disk root
    mkdir -p "$work/root/sbin" "$work/root/usr/bin"
    # The kernel runs /sbin/init of the disk; the agent starts here rather than in init.sh, which
    # the initramfs images share. The kernel already opened the console on 0, 1 and 2.
    rm -f "$work/root/sbin/init"
    cat >"$work/root/sbin/init" <<'INIT'
#!/bin/sh
# pid 1 of the disk image. Starts vessel-agent (the host's way into the guest, vsock port 7700)
# and runs /init as its child instead of becoming it: a shutdown through the agent ends every
# process but pid 1, and /init must not then go on to power off (or reboot) by itself while the
# agent unmounts and does what the host asked. Once /init is gone this waits, starting no process,
# for the agent to finish.
# busybox's reboot, poweroff and halt signal pid 1 (TERM, USR2, USR1): the agent, exec'd as pid 1,
# brings the guest down as the host's `vessel stop` does (sync, end every process, unmount, then
# the reboot or power-off call). The traps run while this waits for /init (`wait`, not a
# foreground child, lets them run at once).
trap 'exec /usr/bin/vessel-agent --end reboot' TERM
trap 'exec /usr/bin/vessel-agent --end poweroff' USR1 USR2
[ -x /usr/bin/vessel-agent ] && /usr/bin/vessel-agent &
# VESSEL_DHCP=eth0 on the kernel command line (the kernel hands undotted name=value parameters to
# init as environment; vesseld adds it when it plugs the VM into its bridge): eth0 takes its
# address by DHCP, in the background, so boot does not wait. Without it eth0 is left alone for the
# guest to configure.
if [ "${VESSEL_DHCP:-}" = eth0 ] && ip link show eth0 >/dev/null 2>&1; then
    udhcpc -f -i eth0 -s /usr/share/udhcpc/default.script >/dev/null 2>&1 &
fi
/init "$@" <&0 &
wait $!
mkfifo /run/vessel-init.hold 2>/dev/null
read -r _ 0<>/run/vessel-init.hold
while :; do sleep 3600; done
INIT
    chmod 0755 "$work/root/sbin/init"
    install -D -m 0755 "$GUEST_DIR/tools/udhcpc.script" "$work/root/usr/share/udhcpc/default.script"
    for tool in vsockcat randread; do
        guest_step "cross-compile $tool (static riscv64)"
        riscv64-linux-gnu-gcc -static -O2 -Wall -Wextra -o "$work/root/usr/bin/$tool" \
            "$GUEST_DIR/tools/$tool.c" || guest_die "$tool did not build"
    done
    guest_step "cross-compile vessel-agent (static riscv64)"
    build_agent "$work" "$work/root/usr/bin/vessel-agent"
    install -m 0755 "$work/root/usr/bin/vessel-agent" "$out/vessel-agent"
    guest_step "mkfs.ext4 -d: root.ext4 (256 MiB, sparse)"
    rm -f "$out/root.ext4"
    truncate -s 256M "$out/root.ext4"
    # A fixed UUID and hash seed keep the image the same from one build to the next.
    mkfs.ext4 -q -F -b 4096 -L vessel-root -U 6f6c6573-7365-4c76-9573-726f6f746673 \
        -E root_owner=0:0,hash_seed=6f6c6573-7365-4c76-9573-726f6f746673 \
        -d "$work/root" "$out/root.ext4" || guest_die "mkfs.ext4 failed"
    e2fsck -fn "$out/root.ext4" >/dev/null || guest_die "the new image does not check clean"
}
