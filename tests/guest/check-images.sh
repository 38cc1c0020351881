#!/bin/bash
# Usage: check-images.sh REPO ARTEFACT — checks one guest artefact is what it claims to be.
REPO=$1
source "$(dirname "$0")/common.sh"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# The manifest stored with an entry must be the one its name's hash came from.
check_manifest() {
    local dir=$1 name=$2
    [[ -f "$dir/inputs.manifest" ]] || test_fail "$dir has no inputs.manifest"
    local expected="$name-$(sha256sum <"$dir/inputs.manifest" | cut -d' ' -f1)"
    [[ "$(basename "$dir")" == "$expected" ]] || test_fail "$dir: name does not match the hash of its inputs.manifest"
}

# check_initramfs DIR ARCH_PATTERN: /init is guest/init.sh, busybox is a static binary for ARCH.
check_initramfs() {
    local dir=$1 arch=$2 listing
    [[ -s "$dir/initramfs.cpio.gz" ]] || test_fail "$dir/initramfs.cpio.gz missing or empty"
    gzip -t "$dir/initramfs.cpio.gz" || test_fail "initramfs.cpio.gz is not valid gzip"
    [[ "$(bytes_at <(zcat "$dir/initramfs.cpio.gz") 0 6)" == "303730373031" ]] ||
        test_fail "initramfs is not a cpio newc archive (magic 070701)"
    listing=$(zcat "$dir/initramfs.cpio.gz" | cpio -t --quiet)
    for path in init bin/busybox bin/sh dev/console proc sys dev tmp sbin/poweroff; do
        grep -qx "$path" <<<"$listing" || test_fail "initramfs has no /$path"
    done
    (cd "$scratch" && zcat "$dir/initramfs.cpio.gz" | cpio -id --quiet init bin/busybox)
    cmp -s "$scratch/init" "$REPO/guest/init.sh" || test_fail "initramfs /init differs from guest/init.sh"
    [[ -x "$scratch/init" ]] || test_fail "initramfs /init is not executable"
    file -b "$scratch/bin/busybox" | grep -Eq "$arch.*statically linked" ||
        test_fail "initramfs /bin/busybox is not a static $arch binary: $(file -b "$scratch/bin/busybox")"
    echo "ok: $dir/initramfs.cpio.gz: cpio newc with /init and a static $arch busybox"
}

case "$2" in
riscv64-kernel)
    dir=$(guest_dir riscv64-kernel)
    check_manifest "$dir" riscv64-kernel
    image=$dir/Image
    [[ -f "$image" ]] || test_fail "$image missing"
    size=$(stat -c %s "$image")
    ((size > 1000000 && size < 30000000)) || test_fail "$image is $size bytes: not a plausible kernel"
    # RISC-V Linux Image header: magic2 "RSC\x05" at 0x38.
    [[ "$(bytes_at "$image" 56 4)" == "52534305" ]] || test_fail "$image has no RISC-V Image magic RSC\\x05 at 0x38"
    # Every fragment option is in the config the Image was built from.
    while IFS= read -r line; do
        [[ -z "$line" || "$line" == \#* ]] && continue
        grep -qxF "$line" "$dir/config" || test_fail "$dir/config lacks $line from guest/riscv64/kernel.config"
    done <"$REPO/guest/riscv64/kernel.config"
    grep -qx 'CONFIG_NR_CPUS=8' "$dir/config" || test_fail "kernel not built for 8 harts"
    echo "ok: $image: RISC-V Image, $size bytes, every fragment option set"
    ;;
x86_64-kernel)
    dir=$(guest_dir x86_64-kernel)
    check_manifest "$dir" x86_64-kernel
    [[ "$(bytes_at "$dir/vmlinuz" 514 4)" == "48647253" ]] || test_fail "$dir/vmlinuz has no bzImage HdrS at 0x202"
    release=$(cat "$dir/kernel-release")
    file -b "$dir/vmlinuz" | grep -q "bzImage, version $release " ||
        test_fail "$dir/vmlinuz is not the bzImage of $release: $(file -b "$dir/vmlinuz")"
    mapfile -t order <"$dir/modules/load-order"
    [[ "${order[*]}" == "irqbypass.ko ccp.ko kvm.ko kvm-amd.ko" ]] ||
        test_fail "modules/load-order is '${order[*]}'"
    # check_order FILE: each module is for this release and its dependencies come earlier.
    check_order() {
        local loaded=" " module ko deps dep
        mapfile -t order <"$1"
        for module in "${order[@]}"; do
            ko=$dir/modules/$module
            file -b "$ko" | grep -q 'ELF 64-bit LSB relocatable, x86-64' || test_fail "$ko is not an x86-64 module"
            grep -qaF "vermagic=$release " "$ko" || test_fail "$ko was not built for $release"
            # awk reads to the end: an early exit would SIGPIPE strings and trip pipefail.
            deps=$(strings "$ko" | awk -F= '$1 == "depends" && !seen { print $2; seen = 1 }')
            for dep in ${deps//,/ }; do
                [[ "$loaded" == *" ${dep//_/-}.ko "* || "$loaded" == *" $dep.ko "* ]] ||
                    test_fail "$module depends on $dep, which $(basename "$1") puts later or omits"
            done
            loaded+="$module "
        done
    }
    check_order "$dir/modules/load-order"
    check_order "$dir/modules/virtio-order"
    for module in virtio_mmio.ko virtio_blk.ko virtio_net.ko vmw_vsock_virtio_transport.ko tun.ko; do
        grep -qx "$module" "$dir/modules/virtio-order" || test_fail "virtio-order lacks $module"
    done
    echo "ok: $dir/vmlinuz: bzImage $release; kvm and virtio modules in dependency order"
    ;;
riscv64-initramfs)
    dir=$(guest_dir riscv64-initramfs)
    check_manifest "$dir" riscv64-initramfs
    check_initramfs "$dir" "UCB RISC-V"
    ;;
riscv64-rootfs)
    dir=$(guest_dir riscv64-rootfs)
    check_manifest "$dir" riscv64-rootfs
    image=$dir/root.ext4
    [[ $(stat -c %s "$image") -eq $((256 << 20)) ]] || test_fail "$image is not 256 MiB"
    # Sparse: the blocks in use, not the size, are what the cache holds.
    (($(stat -c %b "$image") * 512 < 64 << 20)) || test_fail "$image is not sparse"
    e2fsck -fn "$image" >/dev/null 2>&1 || test_fail "$image does not check clean"
    for path in /init /sbin/init /bin/busybox /usr/bin/vsockcat /usr/bin/randread /usr/bin/vessel-agent; do
        debugfs -R "stat $path" "$image" 2>/dev/null | grep -q 'Type: regular' ||
            test_fail "$image has no file $path"
    done
    [[ "$(debugfs -R 'cat /init' "$image" 2>/dev/null)" == "$(cat "$REPO/guest/init.sh")" ]] ||
        test_fail "$image: /init is not guest/init.sh"
    sbin_init=$(debugfs -R 'cat /sbin/init' "$image" 2>/dev/null)
    grep -q '&& /usr/bin/vessel-agent &$' <<<"$sbin_init" ||
        test_fail "$image: /sbin/init does not start vessel-agent"
    grep -q '^/init "\$@" <&0 &$' <<<"$sbin_init" || test_fail "$image: /sbin/init does not run /init"
    grep -q "^trap 'exec /usr/bin/vessel-agent --end reboot' TERM$" <<<"$sbin_init" ||
        test_fail "$image: /sbin/init does not turn the guest's reboot command into the agent's"
    for tool in vsockcat vessel-agent; do
        debugfs -R "dump /usr/bin/$tool $scratch/$tool" "$image" >/dev/null 2>&1
        file -b "$scratch/$tool" | grep -Eq 'RISC-V.*statically linked' ||
            test_fail "$tool is not a static RISC-V binary: $(file -b "$scratch/$tool")"
    done
    # The agent on its own, for the Debian VM images vesseld builds, is the disk's.
    cmp -s "$dir/vessel-agent" "$scratch/vessel-agent" ||
        test_fail "$dir/vessel-agent is not $image's /usr/bin/vessel-agent"
    echo "ok: $image: clean sparse ext4 with /sbin/init, vessel-agent and the guest tools"
    ;;
x86_64-initramfs)
    dir=$(guest_dir x86_64-initramfs)
    check_manifest "$dir" x86_64-initramfs
    check_initramfs "$dir" "x86-64"
    ;;
cache-hit)
    # With every image built, the whole recipe run must only hash and find the cache entries.
    names=(riscv64-kernel riscv64-initramfs riscv64-rootfs x86_64-kernel x86_64-initramfs)
    for name in "${names[@]}"; do guest_dir "$name" >/dev/null; done
    start=$(date +%s%N)
    "$REPO/guest/build.sh" >"$scratch/out" 2>"$scratch/err" || test_fail "guest/build.sh failed: $(cat "$scratch/err")"
    elapsed_ms=$((($(date +%s%N) - start) / 1000000))
    [[ $(grep -c '^guest\[.*\]: cache hit ' "$scratch/err") -eq ${#names[@]} ]] ||
        test_fail "not ${#names[@]} cache hits: $(cat "$scratch/err")"
    grep -q 'building' "$scratch/err" && test_fail "a cached recipe rebuilt: $(cat "$scratch/err")"
    ((elapsed_ms < 6000)) || test_fail "cached run took $elapsed_ms ms (limit 6000)"
    mapfile -t printed <"$scratch/out"
    for i in "${!names[@]}"; do
        name=${names[$i]}
        entry=$(guest_dir "$name")
        [[ "${printed[$i]}" == "$entry" ]] || test_fail "guest/build.sh printed '${printed[$i]}' for $name, not $entry"
        [[ "$(readlink -f "/var/cache/vessel/guest/$name")" == "$entry" ]] ||
            test_fail "/var/cache/vessel/guest/$name does not point at the current entry"
    done
    [[ "$("$REPO/guest/out.sh" riscv64-kernel Image 2>/dev/null)" == "$(guest_dir riscv64-kernel)/Image" ]] ||
        test_fail "guest/out.sh riscv64-kernel Image does not print the Image in the current entry"
    echo "ok: all ${#names[@]} recipes were cache hits in $elapsed_ms ms"
    ;;
*)
    test_fail "unknown artefact '$2'"
    ;;
esac
