#!/bin/sh
# Prints a directory holding Debian's amd64 kernel (vmlinuz, and the ELF vmlinux inside it, stripped)
# and the modules /dev/kvm needs under nested SVM (irqbypass, ccp, kvm, kvm-amd), fetching them with apt-get once and caching them under
# /var/cache/vessel/kvm-test/<hash of the package name and version>.
set -eu
cache_root=${VESSEL_KVM_TEST_CACHE:-/var/cache/vessel/kvm-test}
package=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[ -n "$package" ] || { echo "fetch-kernel: apt-cache names no linux-image package" >&2; exit 1; }
version=$(apt-cache policy "$package" | awk '/Candidate:/ { print $2; exit }')
key=$(printf '%s %s\n' "$package" "$version" | sha256sum | cut -c1-32)
dir="$cache_root/$key"
if [ -f "$dir/complete" ] && [ -f "$dir/vmlinux" ]; then echo "$dir"; exit 0; fi

mkdir -p "$cache_root"
work=$(mktemp -d "$cache_root/.tmp-XXXXXX")
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download "$package" >/dev/null 2>&1) ||
    { echo "fetch-kernel: apt-get download $package failed" >&2; exit 1; }
dpkg-deb -x "$work"/*.deb "$work/root"
mkdir -p "$work/out/modules"
cp "$work"/root/boot/vmlinuz-* "$work/out/vmlinuz"
modules=$(echo "$work"/root/lib/modules/*/kernel)
for module in virt/lib/irqbypass drivers/crypto/ccp/ccp arch/x86/kvm/kvm arch/x86/kvm/kvm-amd; do
    found=""
    for suffix in .ko .ko.xz .ko.zst; do
        [ -f "$modules/$module$suffix" ] && found="$modules/$module$suffix"
    done
    [ -n "$found" ] || { echo "fetch-kernel: $module not in $package" >&2; exit 1; }
    case "$found" in
        *.xz) xz -dc "$found" >"$work/out/modules/$(basename "$module").ko" ;;
        *.zst) zstd -qdc "$found" >"$work/out/modules/$(basename "$module").ko" ;;
        *) cp "$found" "$work/out/modules/" ;;
    esac
done
# The bzImage's payload (setup header: payload_offset at 0x248, payload_length at 0x24c, relative to
# the protected-mode code after the (setup_sects + 1) * 512 setup bytes) is the compressed vmlinux.
u32() { od -An -tu4 -j "$1" -N4 "$work/out/vmlinuz" | tr -d ' '; }
setup_sects=$(od -An -tu1 -j 497 -N1 "$work/out/vmlinuz" | tr -d ' ')
[ "$setup_sects" -ne 0 ] || setup_sects=4
offset=$(((setup_sects + 1) * 512 + $(u32 584)))
tail -c +$((offset + 1)) "$work/out/vmlinuz" | head -c "$(u32 588)" >"$work/payload"
case "$(od -An -tx1 -N2 "$work/payload" | tr -d ' ')" in
    fd37) xz -dc <"$work/payload" >"$work/vmlinux.full" 2>/dev/null || true ;;
    1f8b) gzip -dc <"$work/payload" >"$work/vmlinux.full" 2>/dev/null || true ;;
    28b5) zstd -qdc <"$work/payload" >"$work/vmlinux.full" 2>/dev/null || true ;;
    *) echo "fetch-kernel: unknown bzImage payload compression" >&2; exit 1 ;;
esac
objcopy --strip-all "$work/vmlinux.full" "$work/out/vmlinux" ||
    { echo "fetch-kernel: could not extract vmlinux from the bzImage" >&2; exit 1; }
printf '%s %s\n' "$package" "$version" >"$work/out/complete"
rm -rf "$dir"
mv "$work/out" "$dir"
echo "$dir"
