# Recipe: Debian's amd64 kernel (the package linux-image-amd64 depends on) for the KVM tests:
# vmlinuz (a bzImage), vmlinux (the stripped ELF kernel inside it, for ELF direct boot), the
# modules that give a TCG guest /dev/kvm, and those a guest of vessel-vmm needs for its virtio
# devices (Debian builds them as modules) and its host for a TAP. Output: vmlinuz, vmlinux, config,
# kernel-release, modules/*.ko, modules/load-order (the kvm modules, insmod them in that order) and
# modules/virtio-order (the virtio and TAP modules, likewise).

# The order insmod needs (no modules.dep in the package): each module after its dependencies.
X86_64_KVM_MODULES=(
    kernel/virt/lib/irqbypass.ko
    kernel/drivers/crypto/ccp/ccp.ko
    kernel/arch/x86/kvm/kvm.ko
    kernel/arch/x86/kvm/kvm-amd.ko
)
X86_64_VIRTIO_MODULES=(
    kernel/drivers/virtio/virtio_ring.ko
    kernel/drivers/virtio/virtio.ko
    kernel/drivers/virtio/virtio_mmio.ko
    kernel/drivers/block/virtio_blk.ko
    kernel/net/core/failover.ko
    kernel/drivers/net/net_failover.ko
    kernel/drivers/net/virtio_net.ko
    kernel/net/vmw_vsock/vsock.ko
    kernel/net/vmw_vsock/vmw_vsock_virtio_transport_common.ko
    kernel/net/vmw_vsock/vmw_vsock_virtio_transport.ko
    kernel/drivers/char/hw_random/virtio-rng.ko
    kernel/drivers/char/virtio_console.ko
    kernel/drivers/net/tun.ko
)

# Prints "PACKAGE VERSION": the versioned kernel package the linux-image-amd64 metapackage depends
# on (the same name `apt-cache depends linux-image-amd64` gives) and the exact version it pins.
# apt-cache costs a CPU-second here (the machine's apt config disables apt's own binary cache), which
# would make every cache hit slow, so the answer is remembered until apt's lists or preferences change.
x86_64_kernel_package() {
    local key memo answer
    key=$(stat -c '%n %s %Y' /var/lib/apt/lists/*Packages* /etc/apt/preferences* /etc/apt/preferences.d/* \
        2>/dev/null | sha256sum | cut -d' ' -f1)
    memo=$GUEST_CACHE/.apt-linux-image-amd64-$key
    if [[ -f "$memo" ]]; then
        cat "$memo"
        return
    fi
    answer=$(apt-cache show --no-all-versions linux-image-amd64 2>/dev/null | awk '
        $1 == "Depends:" && !seen {
            for (i = 2; i <= NF; i++) if ($i ~ /^linux-image-[0-9]/ && $(i + 1) == "(=") {
                version = $(i + 2); sub(/[),]+$/, "", version); print $i, version; seen = 1; break
            }
        }')
    [[ "$answer" =~ ^linux-image-[0-9][^\ ]*\ [^\ ]+$ ]] ||
        guest_die "apt-cache show linux-image-amd64 names no versioned kernel package (got '$answer')"
    mkdir -p "$GUEST_CACHE"
    echo "$answer" >"$memo.$$" && mv "$memo.$$" "$memo"
    echo "$answer"
}

recipe_inputs() {
    local package
    package=$(x86_64_kernel_package)
    echo "text kernel-package $package"
    echo "text modules ${X86_64_KVM_MODULES[*]}"
    echo "text virtio-modules ${X86_64_VIRTIO_MODULES[*]}"
}

# Writes the ELF vmlinux that a bzImage carries: the setup header gives the protected-mode code's
# start ((setup_sects + 1) * 512, setup_sects 0 meaning 4) and, relative to it, the compressed
# payload's offset (0x248) and length (0x24c); the payload's magic says how it is compressed.
x86_64_extract_vmlinux() {
    local bzimage=$1 out=$2 work=$3 setup_sects offset length
    u32() { od -An -tu4 -j "$1" -N4 "$bzimage" | tr -d ' '; }
    setup_sects=$(od -An -tu1 -j 497 -N1 "$bzimage" | tr -d ' ')
    [[ "$setup_sects" -ne 0 ]] || setup_sects=4
    offset=$(((setup_sects + 1) * 512 + $(u32 584)))
    length=$(u32 588)
    dd if="$bzimage" of="$work/payload" iflag=skip_bytes,count_bytes skip="$offset" count="$length" status=none
    case "$(od -An -tx1 -N2 "$work/payload" | tr -d ' ')" in
        fd37) xz -dc <"$work/payload" >"$work/vmlinux.full" 2>/dev/null || true ;;
        1f8b) gzip -dc <"$work/payload" >"$work/vmlinux.full" 2>/dev/null || true ;;
        28b5) zstd -qdc <"$work/payload" >"$work/vmlinux.full" 2>/dev/null || true ;;
        *) guest_die "$bzimage: unknown bzImage payload compression" ;;
    esac
    objcopy --strip-all "$work/vmlinux.full" "$out" || guest_die "could not extract vmlinux from $bzimage"
    rm -f "$work/payload" "$work/vmlinux.full"
}

recipe_build() {
    local out=$1 work=$2 pkg version deb release module name
    pkg=$(x86_64_kernel_package)
    read -r pkg version <<<"$pkg"

    # The .deb (70 MB) is kept across recipe changes; apt-get download checked its hash.
    local downloads=${VESSEL_DOWNLOADS:-/var/cache/vessel/downloads}
    mkdir -p "$downloads"
    deb=$downloads/${pkg}_${version//:/%3a}_amd64.deb
    if [[ ! -f "$deb" ]]; then
        guest_step "apt-get download $pkg"
        rm -rf "$work/download"
        mkdir -p "$work/download"
        (cd "$work/download" && apt-get download -qq "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
        [[ -f "$work/download/$(basename "$deb")" ]] || guest_die "apt-get download $pkg produced no $(basename "$deb")"
        mv "$work/download/$(basename "$deb")" "$deb"
    else
        guest_step "reuse $deb"
    fi

    guest_step "dpkg-deb -x $(basename "$deb")"
    rm -rf "$work/x"
    dpkg-deb -x "$deb" "$work/x"
    release=$(basename "$(find "$work/x/lib/modules" -mindepth 1 -maxdepth 1 -type d | head -n1)")
    [[ -n "$release" && -f "$work/x/boot/vmlinuz-$release" ]] || guest_die "$pkg holds no boot/vmlinuz-<release>"

    guest_step "collect vmlinuz $release and the kvm modules"
    cp "$work/x/boot/vmlinuz-$release" "$out/vmlinuz"
    guest_step "extract the ELF vmlinux from the bzImage"
    x86_64_extract_vmlinux "$out/vmlinuz" "$out/vmlinux" "$work"
    cp "$work/x/boot/config-$release" "$out/config"
    echo "$release" >"$out/kernel-release"
    mkdir "$out/modules"
    : >"$out/modules/load-order"
    : >"$out/modules/virtio-order"
    for module in "${X86_64_KVM_MODULES[@]}" "${X86_64_VIRTIO_MODULES[@]}"; do
        name=$(basename "$module")
        if [[ -f "$work/x/lib/modules/$release/$module" ]]; then
            cp "$work/x/lib/modules/$release/$module" "$out/modules/$name"
        elif [[ -f "$work/x/lib/modules/$release/$module.xz" ]]; then
            xz -dc "$work/x/lib/modules/$release/$module.xz" >"$out/modules/$name"
        else
            guest_die "$pkg has no $module"
        fi
        if [[ " ${X86_64_KVM_MODULES[*]} " == *" $module "* ]]; then
            echo "$name" >>"$out/modules/load-order"
        else
            echo "$name" >>"$out/modules/virtio-order"
        fi
    done
    rm -rf "$work/x"
}
