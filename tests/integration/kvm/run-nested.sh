#!/bin/sh
# Runs vessel-vmm's KVM engine inside QEMU's emulated AMD SVM (this host has no /dev/kvm): boots
# Debian's amd64 kernel under `qemu-system-x86_64 -accel tcg -cpu max` with an initramfs holding the
# kvm modules, vessel-vmm with its shared libraries, and the inner guests; the initramfs runs each
# requested case and prints its output and exit status on the serial line; this script checks them.
#
# usage: run-nested.sh VESSEL_VMM CASE...
# cases: realmode elf-poweroff elf-reset elf-triple elf-timeout linux linux-smp linux-elf linux-virtio
#        manager (vesseld and vessel, found beside VESSEL_VMM, launch a KVM VM whose guest runs
#        vessel-agent, found where vesseld looks for it: beside it or in ../agent/)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
vmm=$1
shift
cases="$*"
kernel_dir=$("$here/../../../guest/out.sh" x86_64-kernel)
work=$(mktemp -d /tmp/vessel-kvm-nested.XXXXXX)
trap 'rm -rf "$work"' EXIT

# --- inner guests ---------------------------------------------------------------------------------
mkdir -p "$work/root/g"
gcc -c -o "$work/real_to_long.o" "$here/guests/real_to_long.S"
ld -Ttext=0 --oformat binary -o "$work/root/g/real_to_long.bin" "$work/real_to_long.o"
gcc -O2 -ffreestanding -fno-pic -no-pie -nostdlib -static -mno-red-zone -mgeneral-regs-only \
    -fno-stack-protector -fcf-protection=none -Wall -Wextra -Werror -Wl,--build-id=none \
    -T "$here/guests/elf_guest.ld" -o "$work/root/g/elf_guest.elf" "$here/guests/elf_guest.c"
cp "$kernel_dir/vmlinuz" "$work/root/g/bzImage"
# vsockcat (guest/tools) for both levels: the inner guest's vsock client, the outer host's
# unix-socket echo server.
gcc -static -O2 -Wall -Wextra -Werror -o "$work/vsockcat" "$here/../../../guest/tools/vsockcat.c"
case " $cases " in *" linux-elf "*) cp "$kernel_dir/vmlinux" "$work/root/g/vmlinux" ;; esac

# Inner Linux: busybox and an /init that prints a marker with the number of online CPUs and powers
# off (ACPI S5 -> vessel-vmm exit 0), or with vessel.reboot on its command line reboots (exit 2).
inner="$work/inner"
mkdir -p "$inner/bin" "$inner/proc" "$inner/sys" "$inner/dev" "$inner/modules" "$inner/tmp"
cp /bin/busybox "$inner/bin/busybox"
ln -s busybox "$inner/bin/sh"
cp "$work/vsockcat" "$inner/bin/vsockcat"
grep -vx tun.ko "$kernel_dir/modules/virtio-order" >"$inner/modules/order"
for m in $(cat "$inner/modules/order"); do cp "$kernel_dir/modules/$m" "$inner/modules/"; done
cat >"$inner/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
echo "VESSEL-INIT-MARKER cpus=$(/bin/busybox grep -c ^processor /proc/cpuinfo) online=$(/bin/busybox cat /sys/devices/system/cpu/online 2>/dev/null)"
if /bin/busybox grep -q vessel.rx /proc/cmdline; then
    # Serial input: the host types a line once the guest is listening.
    echo VESSEL-RX-READY
    read -t 60 line
    echo "VESSEL-RX-GOT:$line"
fi
if /bin/busybox grep -q vessel.virtio /proc/cmdline; then
    # The virtio devices the outer host gave: a disk written and read back past the page cache,
    # a NIC on its TAP, and vsock to its unix-socket echo server.
    /bin/busybox --install -s /bin
    mount -t devtmpfs dev /dev
    for m in $(cat /modules/order); do insmod /modules/$m || echo "INSMOD-FAILED $m"; done
    echo "VIRTIO-DEVICES $(ls /sys/bus/virtio/devices | wc -l)"
    yes vessel-disk-pattern | head -c 1048576 >/tmp/pattern
    dd if=/tmp/pattern of=/dev/vda bs=65536 conv=fsync 2>/dev/null
    echo 3 >/proc/sys/vm/drop_caches
    echo "DISK-GUEST $(head -c 1048576 /dev/vda | md5sum | cut -d' ' -f1) $(md5sum </tmp/pattern | cut -d' ' -f1) writes=$(cut -c 33-48 /sys/block/vda/stat | tr -d ' ')"
    ip link set eth0 up
    ip addr add 10.0.3.2/24 dev eth0
    echo "PING-REPLIES $(ping -c 2 -W 5 10.0.3.1 | grep -c 'bytes from')"
    echo "VSOCK-ECHO $(echo hello-vsock | vsockcat 2 5000)"
fi
if /bin/busybox grep -q vessel.reboot /proc/cmdline; then
    /bin/busybox reboot -f
fi
/bin/busybox poweroff -f
INIT
chmod +x "$inner/init"
(cd "$inner" && find . | cpio -H newc -o --quiet | gzip -1) >"$work/root/g/inner.gz"

# The manager's guest: busybox, the virtio modules and the static x86-64 vessel-agent, which its
# init starts, then waits: the agent's shutdown is what powers it off.
manager=0
case " $cases " in *" manager "*) manager=1 ;; esac
bin_dir=$(dirname "$vmm")
agent=$bin_dir/vessel-agent
[ -x "$agent" ] || agent=$bin_dir/../agent/vessel-agent
if [ "$manager" -eq 1 ]; then
    for tool in vesseld vessel; do
        [ -x "$bin_dir/$tool" ] || { echo "FAIL manager: no $tool beside $vmm"; exit 1; }
    done
    [ -x "$agent" ] || { echo "FAIL manager: no vessel-agent beside $vmm or in ../agent"; exit 1; }
    file -b "$agent" | grep -q 'x86-64.*statically linked' ||
        { echo "FAIL manager: $agent is not a static x86-64 binary: $(file -b "$agent")"; exit 1; }
    guest="$work/agent-guest"
    mkdir -p "$guest/bin" "$guest/usr/bin" "$guest/proc" "$guest/sys" "$guest/dev" "$guest/root" \
        "$guest/tmp" "$guest/modules"
    cp /bin/busybox "$guest/bin/busybox"
    ln -s busybox "$guest/bin/sh"
    strip -o "$guest/usr/bin/vessel-agent" "$agent"
    grep -vx tun.ko "$kernel_dir/modules/virtio-order" >"$guest/modules/order"
    for m in $(cat "$guest/modules/order"); do cp "$kernel_dir/modules/$m" "$guest/modules/"; done
    cat >"$guest/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /modules/order); do insmod /modules/$m || echo "INSMOD-FAILED $m"; done
echo "AGENT-GUEST-UP"
/usr/bin/vessel-agent &
while :; do sleep 3600; done
INIT
    chmod +x "$guest/init"
    (cd "$guest" && find . | cpio -H newc -o --quiet | gzip -1) >"$work/root/g/agent-guest.gz"
fi

# --- outer initramfs ------------------------------------------------------------------------------
root="$work/root"
mkdir -p "$root/bin" "$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/modules" "$root/vessel"
cp /bin/busybox "$root/bin/busybox"
cp "$kernel_dir"/modules/*.ko "$root/modules/"
cp "$vmm" "$root/vessel/vessel-vmm"
cp "$work/vsockcat" "$root/vessel/vsockcat"
# A developer's extra program to run first (debugging the harness itself).
[ -z "${VESSEL_NESTED_EXTRA:-}" ] || cp "$VESSEL_NESTED_EXTRA" "$root/vessel/extra"
# The manager's programs, stripped: the outer guest unpacks its initramfs under emulation.
if [ "$manager" -eq 1 ]; then
    strip -o "$root/vessel/vesseld" "$bin_dir/vesseld"
    strip -o "$root/vessel/vessel" "$bin_dir/vessel"
fi
# The shared libraries of vessel-vmm (and the manager's) at their own paths, the dynamic loader
# included.
for program in "$vmm" $([ "$manager" -eq 0 ] || echo "$bin_dir/vesseld $bin_dir/vessel"); do
    for lib in $(ldd "$program" | awk '/=> \// { print $3 } /^\t\/.*ld-linux/ { print $1 }'); do
        mkdir -p "$root$(dirname "$lib")"
        cp -L "$lib" "$root$lib"
    done
done
cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in irqbypass ccp kvm kvm-amd; do insmod /modules/$m.ko >/dev/null 2>&1 || echo "INSMOD-FAILED $m"; done
[ -c /dev/kvm ] || echo "NO-DEV-KVM"
echo
[ -x /vessel/extra ] && { /vessel/extra; dmesg | tail -20; }
run() {
    name=$1
    shift
    echo "=== CASE $name"
    start=$(cut -d' ' -f1 /proc/uptime)
    /vessel/vessel-vmm "$@" </dev/null 2>&1 &
    pid=$!
    # A hung VMM is a failure to report, not a reason to lose the other cases: after the case's
    # budget, show where its threads are stuck and kill it.
    (sleep 120; if kill -0 $pid 2>/dev/null; then
        for t in /proc/$pid/task/*; do echo "HUNG thread $t: $(cat $t/wchan)"; cat $t/stack; done
        kill -9 $pid; fi) &
    watchdog=$!
    wait $pid
    rc=$?
    kill $watchdog 2>/dev/null
    end=$(cut -d' ' -f1 /proc/uptime)
    echo "=== RC $name $rc $start $end"
}
# Like run, but types a line into the guest's serial console once it prints VESSEL-RX-READY.
run_rx() {
    name=$1
    shift
    echo "=== CASE $name"
    start=$(cut -d' ' -f1 /proc/uptime)
    mkfifo /tmp/rx
    /vessel/vessel-vmm "$@" </tmp/rx >/tmp/rx.out 2>&1 &
    pid=$!
    exec 3>/tmp/rx
    for i in $(seq 1 240); do
        grep -q VESSEL-RX-READY /tmp/rx.out && break
        kill -0 $pid 2>/dev/null || break
        sleep 1
    done
    echo hello-vessel-rx >&3
    (sleep 120; kill -9 $pid 2>/dev/null) &
    watchdog=$!
    wait $pid
    rc=$?
    kill $watchdog 2>/dev/null
    exec 3>&-
    cat /tmp/rx.out
    end=$(cut -d' ' -f1 /proc/uptime)
    echo "=== RC $name $rc $start $end"
}
linux_append="console=ttyS0 reboot=k panic=-1 quiet"
for c in $(cat /proc/cmdline); do
    case $c in
    vessel.case=realmode) run realmode --accel kvm --bios /g/real_to_long.bin --timeout 60 ;;
    vessel.case=elf-poweroff) run elf-poweroff --kernel /g/elf_guest.elf --append poweroff --timeout 60 ;;
    vessel.case=elf-reset) run elf-reset --kernel /g/elf_guest.elf --append reset --timeout 60 ;;
    vessel.case=elf-triple) run elf-triple --kernel /g/elf_guest.elf --append triple --timeout 60 ;;
    vessel.case=elf-timeout) run elf-timeout --kernel /g/elf_guest.elf --append spin --timeout 2 ;;
    vessel.case=linux) run_rx linux --kernel /g/bzImage --initrd /g/inner.gz --memory 256M --append "$linux_append vessel.rx" --timeout 240 ;;
    # Two vCPUs, and a reboot through Linux's default path (no reboot=k): ACPI reset is not
    # offered, so the kernel falls back to the i8042.
    vessel.case=linux-smp) run linux-smp --kernel /g/bzImage --initrd /g/inner.gz --memory 256M --cpus 2 --append "console=ttyS0 panic=-1 quiet vessel.reboot" --timeout 240 ;;
    vessel.case=linux-elf) run linux-elf --kernel /g/vmlinux --initrd /g/inner.gz --memory 256M --append "$linux_append" --timeout 240 ;;
    vessel.case=linux-virtio)
        insmod /modules/tun.ko
        tunctl -t tap0 >/dev/null && ip addr add 10.0.3.1/24 dev tap0 && ip link set tap0 up
        /vessel/vsockcat -l -e -u /tmp/v.sock_5000 &
        dd if=/dev/zero of=/tmp/disk.img bs=1M count=4 2>/dev/null
        run linux-virtio --kernel /g/bzImage --initrd /g/inner.gz --memory 256M --disk /tmp/disk.img --net tap=tap0 --vsock 3,/tmp/v.sock --append "$linux_append vessel.virtio" --timeout 240
        echo "DISK-HOST $(head -c 1048576 /tmp/disk.img | md5sum | cut -d' ' -f1)" ;;
    vessel.case=manager)
        # vesseld and vessel as on a KVM host: a VM with a disk and vsock whose guest runs the
        # agent; exec, a file push, and a stop that the agent turns into a guest power-off.
        mkdir -p /dev/pts /sys/fs/cgroup /run /tmp/state
        mount -t devpts devpts /dev/pts
        mount -t cgroup2 cgroup2 /sys/fs/cgroup
        export VESSEL_SOCKET=/tmp/vessel.sock
        /vessel/vesseld --state-dir /tmp/state --bridge "" --vmm /vessel/vessel-vmm \
            --busybox /bin/busybox >/tmp/vesseld.log 2>&1 &
        for i in $(seq 1 120); do /vessel/vessel list >/dev/null 2>&1 && break; sleep 1; done
        echo "=== CASE manager"
        start=$(cut -d' ' -f1 /proc/uptime)
        failed=0
        # step NAME COMMAND...: one line with its exit status and its output, newlines as spaces.
        step() {
            name=$1
            shift
            out=$("$@" 2>&1)
            rc=$?
            [ $rc -eq 0 ] || failed=$((failed + 1))
            echo "MANAGER-STEP $name rc=$rc: $(echo "$out" | tr '\n' ' ')"
        }
        dd if=/dev/zero of=/tmp/data.img bs=1M count=8 2>/dev/null
        step import /vessel/vessel image import --vm --kernel /g/bzImage --initrd /g/agent-guest.gz \
            --disk /tmp/data.img --agent --append "$linux_append" --alias kvm-agent
        # The guest boots in 30-60 s under nested emulation: a wait far past the 90 s default.
        step launch /vessel/vessel launch kvm-agent k1 --vm -c boot.agent_timeout=400 \
            -c limits.memory=256MiB
        step uname /vessel/vessel exec k1 -- uname -m
        step disk /vessel/vessel exec k1 -- cat /sys/block/vda/size
        echo vessel-pushed-file >/tmp/pushed
        step push /vessel/vessel file push /tmp/pushed k1/root/pushed
        step pushed /vessel/vessel exec k1 -- cat /root/pushed
        step stop /vessel/vessel stop --timeout 120 k1
        step info /vessel/vessel info k1
        step console /vessel/vessel console --show-log k1
        [ $failed -eq 0 ] || { echo "--- vesseld log"; cat /tmp/vesseld.log; }
        end=$(cut -d' ' -f1 /proc/uptime)
        echo "=== RC manager $failed $start $end" ;;
    esac
done
echo "=== DONE"
poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -H newc -o --quiet | gzip -1) >"$work/outer.gz"

append="console=ttyS0 quiet panic=-1"
for c in $cases; do append="$append vessel.case=$c"; done
# One emulated CPU unless a case needs two: with two, QEMU runs them on two threads (TCG's
# single-threaded round robin leaves an inner two-vCPU guest halted for good), and that is where
# the outer kernel froze (below) in about one run in three on a busy host.
smp=1
case " $cases " in *" linux-smp "*) smp=2 ;; esac

# boot_outer: one run of the outer QEMU; its serial output in $work/serial.txt. The outer kernel
# itself has frozen under TCG's emulated SVM, as the first inner VM started (soft lockups on every
# emulated CPU, nothing progressing); that is the emulator failing, not vessel-vmm, whose own hangs
# the in-guest watchdog reports (HUNG). A frozen run is cut short as soon as the outer kernel says
# so, and tried once more.
boot_outer() {
    timeout "${VESSEL_NESTED_TIMEOUT:-280}" qemu-system-x86_64 -accel tcg -cpu max -m 1024 \
        -smp "$smp" -nographic -no-reboot -kernel "$kernel_dir/vmlinuz" -initrd "$work/outer.gz" \
        -append "$append" </dev/null >"$work/serial.log" 2>&1 &
    qemu=$!
    frozen=0
    while kill -0 "$qemu" 2>/dev/null; do
        if grep -qE 'soft lockup - CPU#|rcu_preempt self-detected stall' "$work/serial.log"; then
            frozen=1
            kill "$qemu" 2>/dev/null
            break
        fi
        sleep 1
    done
    wait "$qemu" 2>/dev/null || true
    tr -d '\r' <"$work/serial.log" >"$work/serial.txt"
}
started=$(date +%s)
boot_outer
if [ "$frozen" -eq 1 ]; then
    cat "$work/serial.txt"
    echo "--- the outer kernel froze under QEMU's emulated SVM (soft lockup): once more"
    boot_outer
fi
finished=$(date +%s)
cat "$work/serial.txt"
echo "--- nested run took $((finished - started)) s"
[ "$frozen" -eq 0 ] || { echo "FAIL: the outer kernel froze twice under QEMU's emulated SVM"; exit 1; }

# --- checks ---------------------------------------------------------------------------------------
failures=0
section() { awk -v n="=== CASE $1" 'substr($0, length($0) - length(n) + 1) == n { on = 1; next } /^=== RC / { on = 0 } on' "$work/serial.txt"; }
expect() {  # case rc pattern...
    name=$1 want=$2
    shift 2
    line=$(grep "^=== RC $name " "$work/serial.txt" || true)
    if [ -z "$line" ]; then echo "FAIL $name: never finished"; failures=$((failures + 1)); return; fi
    rc=$(echo "$line" | cut -d' ' -f4)
    took=$(echo "$line" | awk '{ printf "%.1f", $6 - $5 }')
    if [ "$rc" != "$want" ]; then
        echo "FAIL $name: exit status $rc, want $want"; failures=$((failures + 1)); return
    fi
    for pattern in "$@"; do
        if ! section "$name" | grep -q -- "$pattern"; then
            echo "FAIL $name: output lacks '$pattern'"; failures=$((failures + 1)); return
        fi
    done
    echo "PASS $name (exit $rc, ${took} s inside the nested guest)"
}
grep -q NO-DEV-KVM "$work/serial.txt" && { echo "FAIL: /dev/kvm did not appear in the QEMU guest"; exit 1; }
for c in $cases; do
    case $c in
    realmode) expect realmode 0 REAL-MODE-OK LONG-MODE-OK MMIO-EXIT-OK ;;
    elf-poweroff) expect elf-poweroff 0 "ELF-GUEST long mode, boot_params ok" "ELF-GUEST mmio ok" ;;
    elf-reset) expect elf-reset 2 "ELF-GUEST resetting" "i8042" ;;
    elf-triple) expect elf-triple 3 "ELF-GUEST triple fault" "triple-faulted" ;;
    elf-timeout) expect elf-timeout 4 "ELF-GUEST spinning" "time-out" ;;
    linux) expect linux 0 "VESSEL-INIT-MARKER cpus=1" "VESSEL-RX-GOT:hello-vessel-rx" ;;
    linux-smp) expect linux-smp 2 "VESSEL-INIT-MARKER cpus=2 online=0-1" "i8042" ;;
    linux-elf) expect linux-elf 0 "VESSEL-INIT-MARKER cpus=1" ;;
    linux-virtio)
        # (expect's own loop variable is called pattern: sh has no locals)
        disk_sum=$(yes vessel-disk-pattern | head -c 1048576 | md5sum | cut -d' ' -f1)
        expect linux-virtio 0 "VIRTIO-DEVICES 3" "DISK-GUEST $disk_sum $disk_sum writes=[1-9]" \
            "PING-REPLIES 2" "VSOCK-ECHO hello-vsock"
        grep -q "^DISK-HOST $disk_sum" "$work/serial.txt" ||
            { echo "FAIL linux-virtio: the host's image does not hold what the guest wrote"; failures=$((failures + 1)); } ;;
    manager)
        # 8 MiB of disk is 16384 sectors; the last exit is the guest's own power-off (vessel-vmm 0).
        expect manager 0 "MANAGER-STEP launch rc=0" "MANAGER-STEP uname rc=0: x86_64" \
            "MANAGER-STEP disk rc=0: 16384" "MANAGER-STEP pushed rc=0: vessel-pushed-file" \
            "MANAGER-STEP stop rc=0" "MANAGER-STEP info rc=0: .*Last exit: powered off" \
            "MANAGER-STEP console rc=0: .*vessel-agent: powering off" ;;
    *) echo "FAIL: unknown case $c"; failures=$((failures + 1)) ;;
    esac
done
[ "$failures" -eq 0 ] || exit 1
echo "ALL PASS ($((finished - started)) s)"
