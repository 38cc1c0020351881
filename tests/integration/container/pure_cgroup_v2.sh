#!/bin/sh
# vessel-runc on a pure cgroup v2 host. This machine's cgroups are hybrid (the v1 hierarchies own
# every controller), so the test boots Debian's amd64 kernel under `qemu-system-x86_64 -accel tcg`
# where nothing binds v1 (`cgroup_no_v1=all`), mounts cgroup2 as the only hierarchy, and runs real
# containers there: limits written as v2 files, OOM and pids limits enforced, device rules enforced
# by an eBPF program (and changed by update), cgroup.freeze for pause/resume, the controllers
# enabled down the path by the runtime itself, and nothing left after delete or after a failing
# create.
#
# usage: pure_cgroup_v2.sh VESSEL_RUNC
set -eu
here=$(cd "$(dirname "$0")" && pwd)
runc=$1
[ -x "$runc" ] || { echo "pure_cgroup_v2: $runc is not built" >&2; exit 1; }
command -v qemu-system-x86_64 >/dev/null || { echo "FAIL: qemu-system-x86_64 missing (make deps installs qemu-system-x86)" >&2; exit 1; }
kernel_dir=$("$here/../../../guest/out.sh" x86_64-kernel)
work=$(mktemp -d /tmp/vessel-cgroup-v2.XXXXXX)
trap 'rm -rf "$work"' EXIT

root="$work/root"
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/vessel"
cp /bin/busybox "$root/bin/busybox"
cp "$runc" "$root/vessel/vessel-runc"
# A sanitizer build's vessel-runc links dynamically (make test-sanitize): its shared libraries and
# the loader go along at their own paths. The plain build's is static and has none.
for lib in $(ldd "$runc" 2>/dev/null | awk '/=> \// { print $3 } /^\t\/.*ld-linux/ { print $1 }'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
done

# The bundle: busybox and its applets, and the runtime's own default config (seccomp, masked paths,
# capabilities) with the limits under test; @ARGS@ and @ID@ are filled in per case inside the guest.
rootfs="$root/bundle/rootfs"
mkdir -p "$rootfs/bin" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev" "$rootfs/tmp"
cp /bin/busybox "$rootfs/bin/busybox"
for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -s busybox "$rootfs/bin/$applet"
done
(cd "$root/bundle" && "$runc" spec)
perl -MJSON::PP -0777 -i -pe '
    my $c = JSON::PP->new->decode($_);
    $c->{process}{args} = ["sh", "-c", "\@ARGS\@"];
    $c->{linux}{cgroupsPath} = "/vessel-v2/\@ID\@";
    $c->{linux}{resources}{memory} = {limit => 33554432, swap => 33554432};
    $c->{linux}{resources}{pids} = {limit => 16};
    $c->{linux}{resources}{cpu} = {quota => 50000, period => 100000, shares => 512};
    $_ = JSON::PP->new->canonical->encode($c);
' "$root/bundle/config.json"
mv "$root/bundle/config.json" "$root/bundle/config.template"

cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t devtmpfs dev /dev
# pivot_root cannot move the initramfs root away: continue from a tmpfs copy of it.
mkdir /newroot
mount -t tmpfs -o size=200m tmpfs /newroot
cp -a /bin /bundle /vessel /tmp /init2 $(ls -d /lib /lib64 /usr 2>/dev/null) /newroot/
mkdir /newroot/proc /newroot/sys /newroot/dev
mount --move /dev /newroot/dev
umount /proc
exec switch_root /newroot /init2
INIT
cat >"$root/init2" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t cgroup2 cgroup2 /sys/fs/cgroup
echo "V2 mounts: $(grep -c ' cgroup ' /proc/mounts) v1, $(grep -c ' cgroup2 ' /proc/mounts) v2"
echo "V2 root controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
echo "V2 root subtree_control before: [$(cat /sys/fs/cgroup/cgroup.subtree_control)]"
runc="/vessel/vessel-runc --root /run/vessel-v2"
check() { if [ "$2" = "$3" ]; then echo "CHECK $1 ok"; else echo "CHECK $1 FAIL: got [$2] want [$3]"; fi; }
bundle() {  # id args
    sed -e "s|@ID@|$1|" -e "s|@ARGS@|$2|" /bundle/config.template >/bundle/config.json
}
cg=/sys/fs/cgroup/vessel-v2

# Limits as v2 files, the runtime having enabled the controllers down the path.
bundle c1 "sleep 60"
$runc create --bundle /bundle c1 >/tmp/create.out 2>&1 || { echo "CHECK create FAIL: $(cat /tmp/create.out)"; }
check memory.max "$(cat $cg/c1/memory.max 2>&1)" 33554432
check memory.swap.max "$(cat $cg/c1/memory.swap.max 2>&1)" 0
check pids.max "$(cat $cg/c1/pids.max 2>&1)" 16
check cpu.max "$(cat $cg/c1/cpu.max 2>&1)" "50000 100000"
check cpu.weight-set "$([ "$(cat $cg/c1/cpu.weight 2>&1)" != 100 ] && echo changed)" changed
pid=$($runc state c1 | sed -n 's/.*"pid": *\([0-9]*\).*/\1/p')
check init-in-cgroup "$(grep -cx "$pid" $cg/c1/cgroup.procs)" 1
$runc start c1
check state-running "$($runc state c1 | grep -o '"status": *"[a-z]*"' | grep -o '[a-z]*"$')" 'running"'
# Freezing is cgroup.freeze on v2.
$runc pause c1
check freeze-file "$(cat $cg/c1/cgroup.freeze)" 1
check frozen-event "$(grep frozen $cg/c1/cgroup.events)" "frozen 1"
check state-paused "$($runc state c1 | grep -o '"status": *"[a-z]*"' | grep -o '[a-z]*"$')" 'paused"'
$runc resume c1
check thawed "$(cat $cg/c1/cgroup.freeze)" 0
check ps "$($runc ps --format json c1)" "[$pid]"
$runc kill c1 KILL
for i in 1 2 3 4 5 6 7 8 9 10; do $runc state c1 | grep -q '"stopped"' && break; sleep 1; done
$runc delete c1
check cgroup-removed "$([ -d $cg/c1 ] && echo present || echo gone)" gone

# Inside, through the container's cgroup namespace: its own cgroup is the root.
bundle c2 "cat /proc/self/cgroup /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max"
check inside-view "$($runc run --bundle /bundle c2 2>&1 | tr '\n' ' ')" "0::/ 33554432 16 "
check c2-removed "$([ -d $cg/c2 ] && echo present || echo gone)" gone

# The memory limit kills an allocator (OOM) and the event is counted.
bundle c3 "awk 'BEGIN { s = 1; while (1) s = s s }'; echo status=\$?; grep oom_kill /sys/fs/cgroup/memory.events"
out=$($runc run --bundle /bundle c3 2>&1 | tr '\n' ' ')
check oom-killed "$(echo "$out" | grep -o 'status=[0-9]*')" status=137
check oom-event "$(echo "$out" | grep -o 'oom_kill [1-9]')" "oom_kill 1"

# The pids limit stops a fork bomb.
# (read and echo are shell builtins: a full cgroup has no pid left for cat.)
bundle c4 "for i in \$(seq 1 40); do (sleep 5 \&) 2>/dev/null; done; read n </sys/fs/cgroup/pids.current; echo pids=\$n"
n=$($runc run --bundle /bundle c4 2>&1 | sed -n 's/^pids=//p')
check pids-bomb "$([ "${n:-0}" -ge 15 ] && [ "${n:-0}" -le 16 ] && echo filled-to-limit || echo "pids.current=$n")" filled-to-limit

# Device rules are a BPF_PROG_TYPE_CGROUP_DEVICE program on the container's cgroup. A process
# with CAP_MKNOD may make any node (c/b *:* m), but opens only what the rules allow; `update` adds
# rules by replacing the program. /dev/kmsg (c 1:11) is not in the default set and, written to,
# opens without further privilege once allowed; b 8:0 is /dev/sda's number. The root is read-only:
# the nodes go to the container's /dev (a tmpfs without nodev) (the guest has no disk:
# past the filter, its open would fail with ENXIO, not EPERM).
bundle d1 "sleep 60"
# CAP_MKNOD through the config (exec's --cap would also add it to ambient, which the empty
# inheritable set then refuses).
sed -i 's/"CAP_KILL"/"CAP_KILL","CAP_MKNOD"/g' /bundle/config.json
$runc create --bundle /bundle d1 >/tmp/d1.out 2>&1 || echo "CHECK devices-create FAIL: $(cat /tmp/d1.out)"
$runc start d1
in_d1() { $runc exec d1 sh -c "$1" 2>&1 | tr '\n' ' ' | sed 's/ *$//'; }
eperm() { grep -o 'Operation not permitted' | head -n 1; }
check devices-null-allowed "$(in_d1 'echo x >/dev/null && echo wrote')" wrote
check devices-mknod-allowed "$(in_d1 'mknod /dev/vessel-sda b 8 0 && mknod /dev/vessel-kmsg c 1 11 && echo made')" made
check devices-sda-denied "$(in_d1 'head -c 1 /dev/vessel-sda >/dev/null' | eperm)" "Operation not permitted"
check devices-kmsg-denied "$(in_d1 'echo vessel-devices-before >/dev/vessel-kmsg' | eperm)" "Operation not permitted"
echo '{"devices":[{"allow":true,"type":"c","major":1,"minor":11,"access":"w"}]}' >/tmp/kmsg.json
$runc update --resources /tmp/kmsg.json d1 >/tmp/update.out 2>&1 || echo "CHECK devices-update FAIL: $(cat /tmp/update.out)"
check devices-kmsg-allowed-after-update "$(in_d1 'echo vessel-devices-after >/dev/vessel-kmsg && echo wrote')" wrote
check devices-kmsg-reached-the-kernel "$(dmesg | grep -c vessel-devices-after)" 1
check devices-kmsg-refused-before-update "$(dmesg | grep -c vessel-devices-before)" 0
check devices-sda-still-denied "$(in_d1 'head -c 1 /dev/vessel-sda >/dev/null' | eperm)" "Operation not permitted"
echo '{"devices":[{"allow":false,"type":"c","major":1,"minor":3,"access":"w"}]}' >/tmp/null.json
$runc update --resources /tmp/null.json d1 >/tmp/update.out 2>&1 || echo "CHECK devices-update-deny FAIL: $(cat /tmp/update.out)"
check devices-null-denied-after-update "$(in_d1 'echo x >/dev/null' | eperm)" "Operation not permitted"
check devices-null-read-still-allowed "$(in_d1 'head -c 1 /dev/null && echo read')" read
check devices-kmsg-kept-by-second-update "$(in_d1 'echo vessel-devices-kept >/dev/vessel-kmsg && echo wrote')" wrote
$runc kill d1 KILL
for i in 1 2 3 4 5 6 7 8 9 10; do $runc state d1 | grep -q '"stopped"' && break; sleep 1; done
$runc delete d1
check devices-cgroup-removed "$([ -d $cg/d1 ] && echo present || echo gone)" gone

# A limit the kernel refuses fails the create and leaves no cgroup, no state.
sed -e "s|@ID@|bad|" -e "s|@ARGS@|true|" -e 's|"cpu":{|"cpu":{"cpus":"4000",|' /bundle/config.template >/bundle/config.json
$runc create --bundle /bundle bad >/tmp/bad.out 2>&1 && echo "CHECK bad-cpuset FAIL: create succeeded" ||
    check bad-cpuset "$(grep -c 'linux.resources.cpu.cpus' /tmp/bad.out)" 1
check bad-no-cgroup "$([ -d $cg/bad ] && echo present || echo gone)" gone
check bad-no-state "$(ls /run/vessel-v2 2>/dev/null | wc -l)" 0
echo "=== DONE"
poweroff -f
INIT
chmod +x "$root/init" "$root/init2"
(cd "$root" && find . | cpio -H newc -o --quiet | gzip -1) >"$work/initrd.gz"

started=$(date +%s)
timeout "${VESSEL_NESTED_TIMEOUT:-240}" qemu-system-x86_64 -accel tcg -cpu max -m 512 -smp 1 \
    -nographic -no-reboot -kernel "$kernel_dir/vmlinuz" -initrd "$work/initrd.gz" \
    -append "console=ttyS0 quiet panic=-1 cgroup_no_v1=all" </dev/null >"$work/serial.log" 2>&1 || true
finished=$(date +%s)
tr -d '\r' <"$work/serial.log" >"$work/serial.txt"
grep -E '(V2|CHECK|===)' "$work/serial.txt" || true
echo "--- QEMU run took $((finished - started)) s"
if ! grep -q '=== DONE' "$work/serial.txt"; then
    echo "FAIL: the guest did not finish; its serial log:"
    cat "$work/serial.txt"
    exit 1
fi
grep -q 'V2 mounts: 0 v1, 1 v2' "$work/serial.txt" || { echo "FAIL: the guest's cgroups are not pure v2"; exit 1; }
checks=$(grep -c '^CHECK ' "$work/serial.txt")
failed=$(grep -c '^CHECK .* FAIL' "$work/serial.txt" || true)
[ "$checks" -ge 33 ] || { echo "FAIL: only $checks checks ran"; exit 1; }
[ "$failed" -eq 0 ] || { echo "FAIL: $failed of $checks checks failed"; exit 1; }
echo "ALL PASS ($checks checks, $((finished - started)) s)"
