#!/bin/bash
# Debian packages added to a cached guest root without touching it: an overlay upper directory
# made by apt-get in a chroot of ROOT (whose apt sources are the archive it was debootstrapped
# from, the host's own), kept under CACHE_DIR and keyed by a hash of the root's name, the package
# list and this script, so that it is built once (a minute or two) and reused by later runs.
# Prints the layer's directory, to be stacked as lowerdir=LAYER:ROOT.
#
# usage: guest_package_layer.sh ROOT CACHE_DIR PACKAGE...
set -euo pipefail
root=$(realpath "$1") cache=$2
shift 2
packages=("$@")
[[ -d $root/var/lib/dpkg ]] || { echo "guest_package_layer: $root is not a Debian root" >&2; exit 1; }

key=$({
    basename "$(dirname "$root")"
    printf '%s\n' "${packages[@]}"
    cat "$0"
} | sha256sum | cut -c1-16)
layer=$cache/guest-packages-$key
if [[ -d $layer ]]; then
    echo "$layer"
    exit 0
fi

mkdir -p "$cache"
scratch=$(mktemp -d "$cache/.guest-packages-$key.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
mkdir "$scratch/upper" "$scratch/work" "$scratch/merged"

# Everything mounted for apt (the overlay, /proc, /dev, a scratch /run and /tmp) lives in a mount
# namespace of its own, so that nothing is left mounted on the host whatever happens.
unshare -m --propagation private bash -euo pipefail -c '
    root=$1 scratch=$2
    shift 2
    merged=$scratch/merged
    mount -t overlay overlay -o "lowerdir=$root,upperdir=$scratch/upper,workdir=$scratch/work" "$merged"
    mount -t proc proc "$merged/proc"
    mount --rbind /dev "$merged/dev"
    mount -t tmpfs tmpfs "$merged/run"
    mount -t tmpfs tmpfs "$merged/tmp"
    # Name resolution as the host has it, wherever the guest s resolv.conf points (resolved s
    # stub under /run in a systemd image).
    resolv=$(chroot "$merged" readlink -m /etc/resolv.conf)
    mkdir -p "$merged$(dirname "$resolv")"
    touch "$merged$resolv"
    mount --bind /etc/resolv.conf "$merged$resolv"
    # No service starts in the chroot (the guest starts what its boot asks for).
    printf "#!/bin/sh\nexit 101\n" >"$merged/usr/sbin/policy-rc.d"
    chmod +x "$merged/usr/sbin/policy-rc.d"
    export DEBIAN_FRONTEND=noninteractive
    chroot "$merged" apt-get -q -o Acquire::Retries=3 update
    chroot "$merged" apt-get -q -o Acquire::Retries=3 install -y --no-install-recommends "$@"
    chroot "$merged" apt-get clean
    rm "$merged/usr/sbin/policy-rc.d"
' guest-package-layer "$root" "$scratch" "${packages[@]}" >"$scratch/apt.log" 2>&1 ||
    { tail -40 "$scratch/apt.log" >&2; echo "guest_package_layer: apt-get in a chroot of $root failed" >&2; exit 1; }

# apt's package lists are of no use in the guest (it has no network) and are the bulk of the layer.
rm -rf "$scratch/upper/var/lib/apt/lists"
mkdir -p "$scratch/upper/var/lib/apt/lists/partial"
# Older layers of the same root are of no further use.
rm -rf "$cache"/guest-packages-*
mv "$scratch/upper" "$layer"
echo "$layer"
