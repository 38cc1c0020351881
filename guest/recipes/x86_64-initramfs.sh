# Recipe: an x86_64 initramfs for the inner KVM guest: Debian's busybox-static binary and
# guest/init.sh as /init. Output: initramfs.cpio.gz, busybox.

source "$GUEST_DIR/initramfs.sh"

recipe_inputs() {
    echo "file init.sh"
    echo "file initramfs.sh"
    echo "pkg busybox-static"
    echo "pkg cpio"
    echo "pkg gzip"
}

recipe_build() {
    local out=$1 work=$2 busybox
    busybox=$(dpkg -L busybox-static | grep -m1 '/bin/busybox$') ||
        guest_die "busybox-static has no /bin/busybox (run make deps)"
    file -b "$busybox" | grep -q 'x86-64.*statically linked' ||
        guest_die "$busybox is not a static x86-64 binary: $(file -b "$busybox")"

    guest_step "list busybox applets"
    "$busybox" --list-full >"$work/applets"

    guest_step "lay out the root and pack initramfs.cpio.gz"
    guest_initramfs_root "$work/root" "$busybox" "$work/applets"
    guest_initramfs_pack "$work/root" "$out/initramfs.cpio.gz"
    cp "$busybox" "$out/busybox"
}
