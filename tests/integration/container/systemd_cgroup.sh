#!/bin/bash
# vessel-runc --systemd-cgroup against a real systemd. This host's PID 1 is not systemd, so the
# test boots the Debian 12 VM image (`vessel image build debian/12 --vm`: systemd, dbus, udev)
# under `qemu-system-x86_64 -accel tcg` with a oneshot unit that runs the checks below as soon as
# systemd is up, and reads their CHECK lines from the serial console: the scope started with the
# container's init and limits (systemctl show and the cgroup files agree), the container seeing
# the scope as its cgroup, update changing the unit and the files, delete leaving no unit and no
# directory, and bad paths refused with nothing left. The guest boots twice: on cgroup v2 (systemd's
# default) and on v1 (systemd.unified_cgroup_hierarchy=0), where the properties and files differ.
# On v2 the engines that use the driver on real hosts run too (systemd_engines_checks.sh): Podman
# with --cgroup-manager systemd, and containerd's CRI plugin with SystemdCgroup = true driven by
# vessel-cri. They come from Debian's archive into a cached layer over the image's root
# (guest_package_layer.sh), with vessel-cri's shared libraries.
#
# usage: systemd_cgroup.sh VESSEL_RUNC VESSEL_CRI VESSEL_PAUSE [VESSEL VESSELD]
# The image's root filesystem comes from vessel's image cache; when it is not there it is built
# through a private vesseld (VESSEL and VESSELD, as debian_vm_image_e2e.sh does: ~4 min cold).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runc=$(realpath "$1") vessel_cri=$(realpath "$2") vessel_pause=$(realpath "$3")
shift 2
fail() { echo "FAIL: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || fail "needs root (mounts the image's root read-only under an overlay)"
[[ -x $runc ]] || fail "$runc is not built"
[[ -x $vessel_cri && -x $vessel_pause ]] || fail "$vessel_cri or $vessel_pause is not built"
command -v jq >/dev/null || fail "jq missing (make deps installs it)"
command -v qemu-system-x86_64 >/dev/null || fail "qemu-system-x86_64 missing (make deps installs qemu-system-x86)"
command -v mke2fs >/dev/null || fail "mke2fs missing (e2fsprogs)"
command -v cpio >/dev/null || fail "cpio missing (make deps installs it)"
[[ -x /bin/busybox ]] || fail "/bin/busybox missing (make deps installs busybox-static)"

# Without systemd (this host), --systemd-cgroup says so and leaves nothing.
if [[ ! -S /run/systemd/private && ! -S /run/dbus/system_bus_socket ]]; then
    state=$(mktemp -d /tmp/vessel-systemd-cgroup-host.XXXXXX)
    mkdir -p "$state/bundle/rootfs/bin" && cp /bin/busybox "$state/bundle/rootfs/bin/"
    (cd "$state/bundle" && "$runc" spec)
    if "$runc" --root "$state/run" --systemd-cgroup create --bundle "$state/bundle" h1 >"$state/out" 2>&1; then
        rm -rf "$state"; fail "--systemd-cgroup create succeeded without systemd"
    fi
    grep -q '^vessel-runc: --systemd-cgroup: cannot reach systemd over D-Bus (/run/systemd/private: No such file or directory; ' "$state/out" ||
        { cat "$state/out"; rm -rf "$state"; fail "--systemd-cgroup without systemd: unclear error"; }
    left=$(ls "$state/run" 2>/dev/null | wc -l)
    rm -rf "$state"
    [[ $left -eq 0 ]] || fail "--systemd-cgroup without systemd left a container state behind"
    echo "CHECK host-without-systemd-refused ok"
fi

image_cache=/var/cache/vessel/images
cached_root() { ls -d "$image_cache"/debian-bookworm-amd64-vm-*/rootfs 2>/dev/null | head -1; }
if [[ -z $(cached_root) ]]; then
    [[ $# -ge 3 ]] || fail "no Debian 12 VM image in $image_cache; build it with 'vessel image build debian/12 --vm' or pass VESSEL and VESSELD"
    echo "# building the Debian 12 VM image through a private vesseld (not cached)"
    (
        # lib.sh's exit trap tidies up what may not be there (rmdir of absent cgroups): under -e
        # that would fail a build that worked.
        set +eu
        vessel_bin=$2 vesseld_bin=$3
        # shellcheck source=../manager/lib.sh
        source "$here/../manager/lib.sh"
        start_daemon --agent "$(dirname "$vesseld_bin")/../agent/vessel-agent"
        "$vessel_bin" image build debian/12 --vm >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
        "$vessel_bin" image delete debian/12 >/dev/null || exit 1
    ) || fail "building the Debian 12 VM image failed"
fi
root=$(cached_root)
[[ -n $root ]] || fail "no Debian 12 VM root in $image_cache after the build"
kernel=$(ls "$root"/boot/vmlinuz-* | head -1)
initrd=$(ls "$root"/boot/initrd.img-* | head -1)
release=${kernel##*/vmlinuz-}

# Podman, containerd, jq and the packages of vessel-cri's shared libraries (what the guest already
# has, libc and libstdc++, apt leaves as it is), and of vessel-runc's where it has any: it is static
# but in a sanitizer build (make test-sanitize), which needs the sanitizers' runtimes.
cri_packages=$({ ldd "$vessel_cri"; ldd "$runc" || true; } | awk '$3 ~ /^\// {print $3}' | while read -r lib; do
    dpkg -S "$lib" 2>/dev/null || dpkg -S "$(realpath "$lib")" 2>/dev/null || dpkg -S "/usr$lib"
done | cut -d: -f1 | sort -u)
[[ -n $cri_packages ]] || fail "no Debian package found for vessel-cri's libraries"
# shellcheck disable=SC2086
layer=$("$here/guest_package_layer.sh" "$root" /var/cache/vessel/test-layers podman containerd jq $cri_packages) ||
    fail "could not add Podman and containerd to the guest's root"

work=$(mktemp -d /tmp/vessel-systemd-cgroup.XXXXXX)
cleanup() {
    mountpoint -q "$work/merged" && umount "$work/merged"
    rm -rf "$work"
}
trap cleanup EXIT

# The image's initramfs loads the virtio-mmio transport vessel-vmm uses; QEMU's pc machine has
# virtio-pci. The same initramfs plus virtio_pci and the root's full module index does it.
mkdir "$work/initrd"
(cd "$work/initrd" && zcat "$initrd" | cpio -id --quiet)
modules=$work/initrd/usr/lib/modules/$release
for module in virtio_pci virtio_pci_modern_dev virtio_pci_legacy_dev; do
    cp "$root/usr/lib/modules/$release/kernel/drivers/virtio/$module.ko" "$modules/kernel/drivers/virtio/"
done
cp "$root/usr/lib/modules/$release"/modules.* "$modules/"
printf 'virtio_pci\nvirtio_blk\next4\n' >"$work/initrd/conf/modules"
(cd "$work/initrd" && find . | cpio -H newc -o --quiet | gzip -1) >"$work/initrd.gz"
rm -rf "$work/initrd"

# What the test adds to the image, as the upper layer of an overlay over the cached root (which
# stays untouched): vessel-runc, a busybox bundle, the checks and the unit that runs them.
upper=$work/upper
opt=$upper/opt/vessel
mkdir -p "$opt/bundle/rootfs/bin" "$opt/bundle/rootfs/proc" "$opt/bundle/rootfs/sys" \
    "$opt/bundle/rootfs/dev" "$opt/bundle/rootfs/tmp" "$upper/etc/systemd/system"
cp "$runc" "$opt/vessel-runc"
cp "$vessel_cri" "$opt/vessel-cri"
cp "$here/systemd_engines_checks.sh" "$opt/engines.sh"
cp /bin/busybox "$opt/bundle/rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do
    [[ $applet == busybox ]] || ln -s busybox "$opt/bundle/rootfs/bin/$applet"
done
(cd "$opt/bundle" && "$runc" spec)
# No cgroup namespace: the container's /proc/self/cgroup then names the scope itself.
perl -MJSON::PP -0777 -i -pe '
    my $c = JSON::PP->new->decode($_);
    $c->{process}{args} = ["sh", "-c", "\@ARGS\@"];
    $c->{linux}{cgroupsPath} = "\@CGPATH\@";
    $c->{linux}{namespaces} = [grep { $_->{type} ne "cgroup" } @{$c->{linux}{namespaces}}];
    # CAP_MKNOD: a device node the rules do not allow can be made ("m" is allowed) but not opened.
    push @{$c->{process}{capabilities}{$_}}, "CAP_MKNOD" for qw(bounding effective permitted);
    $c->{linux}{resources}{memory} = {limit => 33554432, swap => 33554432};
    $c->{linux}{resources}{pids} = {limit => 16};
    $c->{linux}{resources}{cpu} = {quota => 50000, period => 100000, shares => 512};
    $_ = JSON::PP->new->canonical->encode($c);
' "$opt/bundle/config.json"
mv "$opt/bundle/config.json" "$opt/bundle/config.template"
# The CRI pod's images as OCI archives (containerd imports them; nothing comes from a registry).
mkdir -p "$work/pause/dev" "$work/pause/proc" "$work/pause/sys" "$work/pause/etc"
cp "$vessel_pause" "$work/pause/pause"
"$here/../cri/oci_image.sh" "$work/pause" localhost/vessel-pause:test "$opt/pause.tar" /pause
cp -a "$opt/bundle/rootfs" "$work/busybox"
mkdir -p "$work/busybox/etc" "$work/busybox/root"
touch "$work/busybox/etc/hosts" "$work/busybox/etc/hostname" "$work/busybox/etc/resolv.conf"
echo 'root:x:0:0:root:/root:/bin/sh' >"$work/busybox/etc/passwd"
echo 'root:x:0:' >"$work/busybox/etc/group"
"$here/../cri/oci_image.sh" "$work/busybox" localhost/vessel-busybox:test "$opt/busybox.tar" /bin/sh

cat >"$opt/checks.sh" <<'CHECKS'
#!/bin/sh
exec >/dev/ttyS0 2>&1
runc="/opt/vessel/vessel-runc --root /run/vessel-sd"
sd="$runc --systemd-cgroup"
B=/opt/vessel/bundle
check() { if [ "$2" = "$3" ]; then echo "CHECK $1 ok"; else echo "CHECK $1 FAIL: got [$2] want [$3]"; fi; }
bundle() {  # id args cgroupsPath
    sed -e "s|@ID@|$1|" -e "s|@ARGS@|$2|" -e "s|@CGPATH@|$3|" $B/config.template >$B/config.json
}
status() { $runc state "$1" 2>&1 | sed -n 's/.*"status": *"\([a-z]*\)".*/\1/p'; }
loaded() { systemctl list-units --all --plain --no-legend "$1" | grep -c "^$1" || true; }
# A line of its own: the console may be in the middle of one of systemd's.
echo
echo "SD $(systemctl --version | head -1), cgroup fs $(stat -fc %T /sys/fs/cgroup), $(cat /proc/1/comm) is PID 1"
# The same checks on cgroup v2 and on v1 (systemd.unified_cgroup_hierarchy=0): the files and the
# property names differ.
if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
    v2=true mem=MemoryMax weight=CPUWeight weight_value=20
    mem_file=memory.max swap_file=memory.swap.max swap_value=0 quota_file=cpu.max quota_value="50000 100000"
else
    v2=false mem=MemoryLimit weight=CPUShares weight_value=512
    mem_file=memory.limit_in_bytes swap_file=memory.memsw.limit_in_bytes swap_value=33554432
    quota_file=cpu.cfs_quota_us quota_value=50000
fi
dir() { if $v2; then echo "/sys/fs/cgroup$2"; else echo "/sys/fs/cgroup/$1$2"; fi; }  # controller path
# The memory controller's cgroup in a /proc/<pid>/cgroup text.
memory_cgroup() { if $v2; then sed -n 's/^0:://p'; else sed -n 's/^[0-9]*:memory://p'; fi; }
dirs_left() { ls -d "/sys/fs/cgroup$1" /sys/fs/cgroup/*"$1" 2>/dev/null | wc -l; }

# A scope in system.slice with the container's init and its limits.
bundle t1 "sleep 300" "system.slice:vessel:t1"
start=$(date +%s%N)
$sd create --bundle $B t1 >/run/t1.out 2>&1 || echo "CHECK create FAIL: $(cat /run/t1.out)"
echo "SD create took $((($(date +%s%N) - start) / 1000000)) ms"
unit=/system.slice/vessel-t1.scope
check unit-active "$(systemctl is-active vessel-t1.scope)" active
check unit-slice "$(systemctl show -P Slice vessel-t1.scope)" system.slice
check unit-delegate "$(systemctl show -P Delegate vessel-t1.scope)" yes
check unit-description "$(systemctl show -P Description vessel-t1.scope)" "vessel container t1"
check unit-$mem "$(systemctl show -P $mem vessel-t1.scope)" 33554432
if $v2; then
    check unit-MemorySwapMax "$(systemctl show -P MemorySwapMax vessel-t1.scope)" 0
else
    check unit-v1-MemoryMax-unset "$(systemctl show -P MemoryMax vessel-t1.scope)" infinity
fi
check unit-TasksMax "$(systemctl show -P TasksMax vessel-t1.scope)" 16
check unit-CPUQuota "$(systemctl show -P CPUQuotaPerSecUSec vessel-t1.scope)" 500ms
check unit-$weight "$(systemctl show -P $weight vessel-t1.scope)" $weight_value
check file-$mem_file "$(cat $(dir memory $unit)/$mem_file 2>&1)" 33554432
check file-$swap_file "$(cat $(dir memory $unit)/$swap_file 2>&1)" $swap_value
check file-pids.max "$(cat $(dir pids $unit)/pids.max 2>&1)" 16
check file-$quota_file "$(cat $(dir cpu $unit)/$quota_file 2>&1)" "$quota_value"
pid=$($runc state t1 | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
check init-in-scope "$(grep -cx "$pid" $(dir memory $unit)/cgroup.procs 2>&1)" 1
check init-cgroup "$(memory_cgroup </proc/$pid/cgroup)" $unit
check init-in-every-hierarchy "$(grep -cv ":$unit\$" /proc/$pid/cgroup)" 0
check unit-knows-pid "$(systemctl status vessel-t1.scope 2>/dev/null | grep -qw "$pid" && echo yes)" yes
$runc start t1
check running "$(status t1)" running
check exec-sees-scope "$($runc exec t1 cat /proc/self/cgroup 2>&1 | memory_cgroup)" $unit
check ps "$($runc ps --format json t1)" "[$pid]"
$runc pause t1
check paused "$(status t1)" paused
$runc resume t1
check resumed "$(status t1)" running

# update: the unit's properties and the files (raising memory and swap together: on v1 the
# kernel takes them only swap first).
$runc update --memory 67108864 --memory-swap 67108864 --pids-limit 32 t1 >/run/u.out 2>&1 ||
    echo "CHECK update FAIL: $(cat /run/u.out)"
check update-unit-$mem "$(systemctl show -P $mem vessel-t1.scope)" 67108864
check update-unit-TasksMax "$(systemctl show -P TasksMax vessel-t1.scope)" 32
check update-file-$mem_file "$(cat $(dir memory $unit)/$mem_file)" 67108864
check update-file-pids.max "$(cat $(dir pids $unit)/pids.max)" 32
# A daemon-reload makes systemd write its cgroup settings again: the limits hold.
systemctl daemon-reload
check after-reload-$mem_file "$(cat $(dir memory $unit)/$mem_file)" 67108864
check after-reload-pids.max "$(cat $(dir pids $unit)/pids.max)" 32
# Device access holds too: systemd knows the rules (DevicePolicy=strict and the allow list), so
# its rewrite after the reload keeps them (on v1 it would open every device otherwise).
check unit-DevicePolicy "$(systemctl show -P DevicePolicy vessel-t1.scope)" strict
check unit-DeviceAllow-null "$(systemctl show -P DeviceAllow vessel-t1.scope | grep -c '/dev/char/1:3 rwm')" 1
if ! $v2; then
    check after-reload-devices-list "$(grep -c '^a ' $(dir devices $unit)/devices.list)" 0
fi
check after-reload-dev-null "$($runc exec t1 sh -c 'echo x >/dev/null && echo usable' 2>&1)" usable
check after-reload-device-denied "$($runc exec t1 sh -c 'mknod /dev/vtest b 7 0 && head -c1 /dev/vtest' 2>&1 | grep -c 'Operation not permitted')" 1

# delete (of a running container, --force): no unit, no directory, no state.
$runc delete --force t1 >/run/d.out 2>&1 || echo "CHECK delete FAIL: $(cat /run/d.out)"
check unit-gone "$(loaded vessel-t1.scope)" 0
check status-fails "$(systemctl status vessel-t1.scope >/dev/null 2>&1; echo $?)" 4
check dirs-gone "$(dirs_left $unit)" 0
check state-gone "$(ls /run/vessel-sd | wc -l)" 0

# run in the foreground, with the default placement (empty cgroupsPath): system.slice:vessel:<id>.
bundle t2 "cat /proc/self/cgroup" ""
check run-default-path "$($sd run --bundle $B t2 2>&1 | memory_cgroup)" /system.slice/vessel-t2.scope
check t2-unit-gone "$(loaded vessel-t2.scope)" 0
check t2-dirs-gone "$(dirs_left /system.slice/vessel-t2.scope)" 0

# A name ending in .slice makes a slice unit where its name says.
bundle t3 "cat /proc/self/cgroup" "::vesseltest-t3.slice"
check slice-unit "$($sd run --bundle $B t3 2>&1 | memory_cgroup)" /vesseltest.slice/vesseltest-t3.slice
check slice-gone "$(loaded vesseltest-t3.slice)" 0
check slice-dirs-gone "$(dirs_left /vesseltest.slice/vesseltest-t3.slice)" 0

# The container exits by itself first (the empty scope stops on its own): delete still works.
bundle t4 "true" "system.slice:vessel:t4"
$sd create --bundle $B t4 && $runc start t4
for i in 1 2 3 4 5 6 7 8 9 10; do [ "$(status t4)" = stopped ] && break; sleep 0.5; done
check exited-delete "$($runc delete t4 2>&1; echo rc=$?)" "rc=0"
check t4-unit-gone "$(loaded vessel-t4.scope)" 0

# Refusals: nothing is left, no unit, no state.
bundle bad "true" "system.slice:vessel"
out=$($sd create --bundle $B bad 2>&1; echo "rc=$?")
check bad-path-refused "$(echo "$out" | grep -c 'linux.cgroupsPath: "system.slice:vessel": the systemd cgroup driver takes "slice:prefix:name"')" 1
check bad-path-rc "$(echo "$out" | tail -1)" rc=1
check bad-slice-refused "$(bundle bad true 'a--b.slice:vessel:bad'; $sd create --bundle $B bad 2>&1 | grep -c 'empty part between dashes')" 1
check colon-needs-flag "$(bundle bad true 'system.slice:vessel:bad'; $runc create --bundle $B bad 2>&1 | grep -c 'needs --systemd-cgroup')" 1
check bad-no-unit "$(loaded vessel-bad.scope)" 0
# A unit of that name exists already (not the container's): refused, and left running.
systemd-run --quiet --scope --unit=vessel-taken.scope sleep 300 &
for i in 1 2 3 4 5 6 7 8 9 10; do [ "$(systemctl is-active vessel-taken.scope)" = active ] && break; sleep 0.5; done
check taken-refused "$(bundle taken true 'system.slice:vessel:taken'; $sd create --bundle $B taken 2>&1)" \
    "vessel-runc: systemd unit vessel-taken.scope already exists (another container's?); a container needs a unit of its own"
check taken-untouched "$(systemctl is-active vessel-taken.scope)" active
systemctl stop vessel-taken.scope
check bad-no-state "$(ls /run/vessel-sd | wc -l)" 0
# A limit the kernel refuses (cpuset beyond the guest's CPUs) fails the create: unit stopped.
sed -e "s|@ID@|bad|" -e "s|@ARGS@|true|" -e "s|@CGPATH@|system.slice:vessel:bad|" \
    -e 's|"cpu":{|"cpu":{"cpus":"0-63",|' $B/config.template >$B/config.json
out=$($sd create --bundle $B bad 2>&1; echo "rc=$?")
check bad-limit-refused "$(echo "$out" | tail -1)" rc=1
check bad-limit-says "$(echo "$out" | grep -c '^vessel-runc: config.json: systemd unit vessel-bad.scope: linux.resources.cpu.cpus: write 0-63 to ')" 1
check bad-limit-no-unit "$(loaded vessel-bad.scope)" 0
check bad-limit-no-dirs "$(dirs_left /system.slice/vessel-bad.scope)" 0
check bad-limit-no-state "$(ls /run/vessel-sd | wc -l)" 0
if $v2; then
    /opt/vessel/engines.sh
fi
echo "=== DONE"
systemctl poweroff --force --force
CHECKS
chmod +x "$opt/checks.sh"
cat >"$upper/etc/systemd/system/vessel-systemd-checks.service" <<'UNIT'
[Unit]
Description=vessel-runc --systemd-cgroup checks
# Started as the boot's only goal (systemd.unit=): it needs systemd itself, nothing else.
DefaultDependencies=no
[Service]
Type=oneshot
ExecStart=/opt/vessel/checks.sh
UNIT

# A sparse ext4 disk of the overlay: the cached root with the additions.
mkdir "$work/lower-work" "$work/merged"
mount -t overlay overlay -o "lowerdir=$layer:$root,upperdir=$upper,workdir=$work/lower-work" "$work/merged"
truncate -s 3G "$work/disk.img"
mke2fs -q -t ext4 -d "$work/merged" -F "$work/disk.img"
umount "$work/merged"

# Two boots of the same disk: systemd's default, cgroup v2 alone, then the v1 controller
# hierarchies.
total=0
for layout in v2 v1; do
    extra=
    [[ $layout == v1 ]] && extra=systemd.unified_cgroup_hierarchy=0
    started=$(date +%s)
    limit=150
    [[ $layout == v2 ]] && limit=420  # Podman and containerd too
    timeout "${VESSEL_NESTED_TIMEOUT:-$limit}" qemu-system-x86_64 -accel tcg -cpu max -m 1024 -smp 1 \
        -nographic -no-reboot -kernel "$kernel" -initrd "$work/initrd.gz" \
        -drive "file=$work/disk.img,format=raw,if=virtio" \
        -append "root=/dev/vda rw console=ttyS0 quiet systemd.show_status=false systemd.unit=vessel-systemd-checks.service $extra" \
        </dev/null >"$work/serial.log" 2>&1 || true
    finished=$(date +%s)
    log=$work/serial-$layout.txt
    tr -d '\r' <"$work/serial.log" >"$log"
    echo "--- cgroup $layout"
    grep -E '^(SD|CHECK|===)' "$log" || true
    echo "--- QEMU run ($layout) took $((finished - started)) s"
    if ! grep -q '^=== DONE' "$log"; then
        echo "FAIL: the guest ($layout) did not finish; its serial log:"
        cat "$log"
        exit 1
    fi
    fs=cgroup2fs
    [[ $layout == v1 ]] && fs=tmpfs
    grep -q "^SD systemd 252.*cgroup fs $fs, systemd is PID 1" "$log" ||
        fail "the guest did not run systemd as PID 1 on cgroup $layout"
    checks=$(grep -c '^CHECK ' "$log")
    failed=$(grep -c '^CHECK .* FAIL' "$log" || true)
    expected=57
    [[ $layout == v2 ]] && expected=$((57 + 38))
    [[ $checks -ge $expected ]] || fail "only $checks checks ran on cgroup $layout"
    [[ $failed -eq 0 ]] || fail "$failed of $checks checks failed on cgroup $layout"
    total=$((total + checks))
done
echo "ALL PASS ($total checks in the guests)"
