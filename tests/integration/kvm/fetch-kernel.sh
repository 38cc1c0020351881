#!/bin/sh
# Prints a directory holding Debian's amd64 kernel (vmlinuz) and the modules /dev/kvm needs under
# nested SVM (irqbypass, ccp, kvm, kvm-amd), fetching them with apt-get once and caching them under
# /var/cache/vessel/kvm-test/<hash of the package name and version>.
set -eu
cache_root=${VESSEL_KVM_TEST_CACHE:-/var/cache/vessel/kvm-test}
package=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[ -n "$package" ] || { echo "fetch-kernel: apt-cache names no linux-image package" >&2; exit 1; }
version=$(apt-cache policy "$package" | awk '/Candidate:/ { print $2; exit }')
key=$(printf '%s %s\n' "$package" "$version" | sha256sum | cut -c1-32)
dir="$cache_root/$key"
if [ -f "$dir/complete" ]; then echo "$dir"; exit 0; fi

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
printf '%s %s\n' "$package" "$version" >"$work/out/complete"
rm -rf "$dir"
mv "$work/out" "$dir"
echo "$dir"
