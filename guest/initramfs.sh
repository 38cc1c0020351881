# Shared by the initramfs recipes: lays out a busybox root with guest/init.sh as /init and packs it
# reproducibly (sorted cpio newc, owner root, fixed mtimes, gzip without a timestamp).

# guest_initramfs_root ROOT BUSYBOX APPLETS_FILE
#   APPLETS_FILE lists applet paths (/bin/ls, /usr/sbin/chroot, ...), one a line: each becomes a
#   symlink to /bin/busybox.
guest_initramfs_root() {
    local root=$1 busybox=$2 applets=$3 applet
    rm -rf "$root"
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,root}
    chmod 1777 "$root/tmp"
    install -m 0755 "$busybox" "$root/bin/busybox"
    while IFS= read -r applet; do
        applet=${applet#/}
        [[ -z "$applet" || -e "$root/$applet" || -L "$root/$applet" ]] && continue
        [[ "$applet" == */* ]] && mkdir -p "$root/${applet%/*}"
        ln -s /bin/busybox "$root/$applet"
    done <"$applets"
    [[ -L "$root/bin/sh" ]] || guest_die "busybox applet list has no /bin/sh"
    install -m 0755 "$GUEST_DIR/init.sh" "$root/init"
    # The kernel opens /dev/console for init before /init can mount devtmpfs.
    mknod -m 0600 "$root/dev/console" c 5 1
    echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
    echo "root:x:0:" >"$root/etc/group"
}

# guest_initramfs_pack ROOT OUT_GZ
guest_initramfs_pack() {
    local root=$1 out=$2
    find "$root" -print0 | xargs -0 touch -h -d @0
    (cd "$root" && find . -mindepth 1 | LC_ALL=C sort |
        cpio --quiet -o -H newc -R 0:0 --reproducible) | gzip -9 -n >"$out"
}
