# Recipe: a riscv64 root filesystem on an ext4 disk image, made without root privileges
# (mkfs.ext4 -d): the riscv64-initramfs userland (busybox, /init) with /sbin/init pointing at it,
# plus the guest tools the VM tests and benchmarks run (vsockcat, randread). 256 MiB, sparse.
# Boot it with: --disk root.ext4 --append 'root=/dev/vda rw console=ttyS0'. Output: root.ext4.

recipe_inputs() {
    echo "file tools/vsockcat.c"
    echo "file tools/randread.c"
    # The userland comes from the initramfs entry for the current inputs: a new busybox or init.sh
    # makes a new root filesystem.
    echo "text $(basename "$( (guest_entry riscv64-initramfs) 2>/dev/null)")"
    echo "pkg e2fsprogs"
    echo "pkg gcc-riscv64-linux-gnu"
    echo "pkg libc6-dev-riscv64-cross"
    echo "pkg cpio"
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
    ln -sfn /init "$work/root/sbin/init"
    for tool in vsockcat randread; do
        guest_step "cross-compile $tool (static riscv64)"
        riscv64-linux-gnu-gcc -static -O2 -Wall -Wextra -o "$work/root/usr/bin/$tool" \
            "$GUEST_DIR/tools/$tool.c" || guest_die "$tool did not build"
    done
    guest_step "mkfs.ext4 -d: root.ext4 (256 MiB, sparse)"
    rm -f "$out/root.ext4"
    truncate -s 256M "$out/root.ext4"
    # A fixed UUID and hash seed keep the image the same from one build to the next.
    mkfs.ext4 -q -F -b 4096 -L vessel-root -U 6f6c6573-7365-4c76-9573-726f6f746673 \
        -E root_owner=0:0,hash_seed=6f6c6573-7365-4c76-9573-726f6f746673 \
        -d "$work/root" "$out/root.ext4" || guest_die "mkfs.ext4 failed"
    e2fsck -fn "$out/root.ext4" >/dev/null || guest_die "the new image does not check clean"
}
