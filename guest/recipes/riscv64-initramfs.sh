# Recipe: a riscv64 initramfs: busybox cross-built static from Debian's busybox source package (the
# same source version as the installed busybox-static, with Debian's patches and its "static"
# flavour config) and guest/init.sh as /init. Output: initramfs.cpio.gz, busybox.

source "$GUEST_DIR/debsrc.sh"
source "$GUEST_DIR/initramfs.sh"

recipe_inputs() {
    echo "file init.sh"
    echo "file initramfs.sh"
    echo "file debsrc.sh"
    echo "pkg busybox-static"
    echo "pkg gcc-riscv64-linux-gnu"
    echo "pkg libc6-dev-riscv64-cross"
    echo "pkg linux-libc-dev-riscv64-cross"
    echo "pkg cpio"
    echo "pkg gzip"
}

recipe_build() {
    local out=$1 work=$2 version src
    local bbmake=(make CROSS_COMPILE=riscv64-linux-gnu- -j"$GUEST_JOBS")
    # Pinning the source to the installed binary's source version ties it to a dpkg-query input.
    version=$(dpkg-query -W -f='${source:Version}' busybox-static)

    if [[ ! -f "$work/fetch/.vessel-fetched" ]]; then
        guest_ensure_debsrc busybox
        guest_step "apt-get source busybox=$version"
        rm -rf "$work/fetch"
        mkdir -p "$work/fetch"
        (cd "$work/fetch" && apt-get source -qq "busybox=$version" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
        touch "$work/fetch/.vessel-fetched"
    else
        guest_step "reuse busybox source in $work/fetch"
    fi
    src=$(find "$work/fetch" -mindepth 1 -maxdepth 1 -type d -name 'busybox-*' | head -n1)
    [[ -n "$src" && -f "$src/debian/config/pkg/static" ]] || guest_die "apt-get source busybox=$version gave no usable tree"

    guest_step "configure: Debian's linux + static flavour config, oldconfig"
    cat "$src/debian/config/os/linux" "$src/debian/config/pkg/static" >"$src/.config"
    # yes dies of SIGPIPE when oldconfig stops reading; that is not a failure.
    (cd "$src" && { yes "" || true; } | "${bbmake[@]}" oldconfig >/dev/null)
    grep -qx 'CONFIG_STATIC=y' "$src/.config" || guest_die "busybox config lost CONFIG_STATIC=y"

    guest_step "compile busybox for riscv64 (make -j$GUEST_JOBS)"
    (cd "$src" && "${bbmake[@]}" busybox busybox.links >"$work/build.log" 2>&1) ||
        { tail -n 40 "$work/build.log" >&2; guest_die "busybox build failed (log: $work/build.log)"; }
    file -b "$src/busybox" | grep -q 'RISC-V.*statically linked' ||
        guest_die "busybox is not a static RISC-V binary: $(file -b "$src/busybox")"

    guest_step "lay out the root and pack initramfs.cpio.gz"
    guest_initramfs_root "$work/root" "$src/busybox" "$src/busybox.links"
    guest_initramfs_pack "$work/root" "$out/initramfs.cpio.gz"
    cp "$src/busybox" "$out/busybox"
}
