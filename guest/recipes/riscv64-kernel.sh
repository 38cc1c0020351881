# Recipe: a small RISC-V Linux `Image` cross-built from Debian's linux-source-6.1: tinyconfig plus
# guest/riscv64/kernel.config (serial + SBI console, initramfs, virtio-mmio blk/net/console/rng/vsock,
# SMP up to 8 harts). Output: Image, config.

recipe_inputs() {
    echo "file riscv64/kernel.config"
    echo "pkg linux-source-6.1"
    echo "pkg gcc-riscv64-linux-gnu"
    echo "pkg binutils-riscv64-linux-gnu"
}

recipe_build() {
    local out=$1 work=$2 src fragment=$GUEST_DIR/riscv64/kernel.config line option
    local kmake=(make -C "$work/src" ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu- -j"$GUEST_JOBS")
    src=$(ls /usr/src/linux-source-6.1.tar.* 2>/dev/null | head -n1)
    [[ -n "$src" ]] || guest_die "/usr/src/linux-source-6.1.tar.* is missing (install linux-source-6.1)"

    if [[ ! -f "$work/src/.vessel-extracted" ]]; then
        guest_step "extract $src"
        rm -rf "$work/src"
        mkdir -p "$work/src"
        tar -xf "$src" -C "$work/src" --strip-components=1
        touch "$work/src/.vessel-extracted"
    else
        guest_step "reuse extracted source in $work/src"
    fi

    guest_step "configure: tinyconfig + riscv64/kernel.config + olddefconfig"
    "${kmake[@]}" -s tinyconfig >/dev/null
    (cd "$work/src" && ARCH=riscv CROSS_COMPILE=riscv64-linux-gnu- \
        scripts/kconfig/merge_config.sh -m -O . .config "$fragment" >/dev/null)
    "${kmake[@]}" -s olddefconfig >/dev/null

    guest_step "verify every fragment option survived olddefconfig"
    local dropped=0
    while IFS= read -r line; do
        [[ -z "$line" || "$line" == \#* ]] && continue
        option=${line%%=*}
        if [[ "$line" == *=n ]]; then
            grep -qx "# $option is not set" "$work/src/.config" && continue
        else
            grep -qxF "$line" "$work/src/.config" && continue
        fi
        echo "guest[riscv64-kernel]: error: $line was dropped; .config has: $(grep -E "(^| )$option[= ]" "$work/src/.config" || echo nothing)" >&2
        dropped=1
    done <"$fragment"
    [[ $dropped -eq 0 ]] || guest_die "kernel config fragment options were dropped (missing dependency or unknown option)"

    guest_step "compile Image (make -j$GUEST_JOBS, several minutes)"
    "${kmake[@]}" Image >"$work/build.log" 2>&1 ||
        { tail -n 40 "$work/build.log" >&2; guest_die "kernel build failed (log: $work/build.log)"; }

    guest_step "collect Image and config"
    cp "$work/src/arch/riscv/boot/Image" "$out/Image"
    cp "$work/src/.config" "$out/config"
}
