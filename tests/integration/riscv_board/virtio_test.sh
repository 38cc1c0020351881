#!/bin/bash
# One case of the virtio device tests on vessel-vmm's RISC-V board, with guest/'s riscv64 kernel
# and its ext4 root disk (riscv64-rootfs, which has vsockcat for vsock and TCP):
#   disk-root  root on virtio-blk: 8 MiB written with a checksum, synced; the host finds the same
#              bytes in the image and e2fsck finds it clean
#   disk-ro    a read-only disk refuses writes; its serial is the one given
#   disk-kill9 after sync, kill -9 of the VMM leaves a clean filesystem
#   disk-busy  a second VM opening the same writable image fails at once, one line, status 1
#   net-tap    a TAP on a bridge in a network namespace: a DHCP lease from dnsmasq, ping, and
#              8 MiB over TCP with a matching checksum
#   net-user   the user-mode network: DHCP, a TCP server on the host's loopback via 10.0.2.2,
#              and a host port forward to a server in the guest
#   vsock      8 MiB guest to host and host to guest with checksums, 64 concurrent connections,
#              a closed peer seen as end of file, no descriptor left open in the VMM
#   rng        /dev/hwrng is the virtio RNG and gives bytes
#   console    --console virtio: the guest's console is hvc0, input and output
#   bad-input  each mistake is one line naming it, status 1, nothing left behind
# Usage: virtio_test.sh [--engine jit|interp] VMM SOURCE_DIR HOST_VSOCKCAT CASE (vsockcat built
# for the host); --engine goes to every vessel-vmm run, so ctest runs each case on both.
set -uo pipefail
engine=()
if [[ ${1:-} == --engine ]]; then engine=(--engine "$2"); shift 2; fi
vmm=$1 src=$2 host_cat=$3 case=$4
kernel=$("$src/guest/out.sh" riscv64-kernel Image 2>/dev/null) || {
    echo "FAIL: no riscv64 guest kernel (run make guest)"; exit 1; }
rootfs=$("$src/guest/out.sh" riscv64-rootfs root.ext4 2>/dev/null) || {
    echo "FAIL: no riscv64 root disk (run make guest)"; exit 1; }
initrd=$("$src/guest/out.sh" riscv64-initramfs initramfs.cpio.gz 2>/dev/null)
work=$(mktemp -d)
netns=
cleanup() {
    [[ -n $netns ]] && { ip netns pids "$netns" 2>/dev/null | xargs -r kill -9; ip netns del "$netns"; }
    jobs -p | xargs -r kill 2>/dev/null
    wait 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
limit=240
cp --sparse=always "$rootfs" "$work/root.ext4"
[[ -x $host_cat ]] || { echo "FAIL: no host vsockcat at $host_cat"; exit 1; }

fail() { echo "FAIL: $*"; [[ -f $work/out ]] && tail -n 25 "$work/out"; [[ -f $work/err ]] && cat "$work/err"; exit 1; }
ok() { echo "ok: $*"; }
# run_guest STATUS CMDS [vessel-vmm options...]: boots from the disk copy, runs CMDS (base64 on the
# command line, so they may hold quotes), expects STATUS; output in $work/out.
run_guest() {
    local want=$1 cmds=$2
    shift 2
    local encoded
    encoded=$(printf '%s' "$cmds" | base64 -w0)
    ${netns:+ip netns exec $netns} timeout -s KILL $limit "$vmm" "${engine[@]}" --kernel "$kernel" --memory 256M \
        --disk "$work/root.ext4" \
        --append "root=/dev/vda rw console=ttyS0 vessel.run64=$encoded" "$@" \
        </dev/null >"$work/out" 2>"$work/err"
    local status=$?
    tr -d '\r' <"$work/out" >"$work/clean" && mv "$work/clean" "$work/out"
    [[ $status -eq $want ]] || fail "status $status, want $want"
}
# start_guest OUT MARKER CMDS: boots from the disk copy in the background running CMDS (output in
# OUT) and waits until it prints a line starting with MARKER; the VMM's pid in $guest_pid.
start_guest() {
    local out=$1 marker=$2 encoded
    encoded=$(printf '%s' "$3" | base64 -w0)
    "$vmm" "${engine[@]}" --kernel "$kernel" --memory 256M --disk "$work/root.ext4" \
        --append "root=/dev/vda rw console=ttyS0 vessel.run64=$encoded" </dev/null >"$out" 2>&1 &
    guest_pid=$!
    for _ in $(seq 600); do grep -q "^$marker" "$out" && break; sleep 0.2; done
}
expect() { grep -Eq -- "$1" "$work/out" || fail "no line matching '$1'"; ok "$1"; }
# A line "sum=<sha256>" the guest printed.
guest_sum() { sed -n 's/^sum=\([0-9a-f]*\).*/\1/p' "$work/out" | head -n1; }
# A host-side pattern file, the same bytes the guest makes with the same command.
pattern() { head -c "$1" /dev/zero | tr '\0' 'v'; }

case $case in
disk-root)
    run_guest 0 'grep " / " /proc/mounts; head -c 8388608 /dev/urandom > /data; sync; echo sum=$(sha256sum < /data | cut -d" " -f1)'
    expect '^/dev/root / ext4 rw'
    want=$(guest_sum)
    [[ -n $want ]] || fail "the guest printed no checksum"
    got=$(debugfs -R 'cat /data' "$work/root.ext4" 2>/dev/null | sha256sum | cut -d' ' -f1)
    [[ $got == "$want" ]] || fail "the image holds other bytes than the guest wrote ($got, $want)"
    ok "the 8 MiB the guest wrote are in the image"
    e2fsck -fn "$work/root.ext4" >/dev/null 2>&1 || fail "the image does not check clean"
    ok "e2fsck -n: clean"
    ;;
disk-ro)
    truncate -s 16M "$work/data.img"
    run_guest 0 'cat /sys/block/vdb/ro /sys/block/vdb/serial; echo; dd if=/dev/zero of=/dev/vdb bs=4096 count=1 2>/dev/null; echo dd=$?; head -c 4096 /dev/vdb | wc -c' \
        --disk "$work/data.img,ro,serial=archive-7"
    expect '^1$'
    expect '^archive-7$'
    expect '^dd=1$'
    expect '^4096$'
    [[ $(tr -d '\0' <"$work/data.img" | wc -c) -eq 0 ]] || fail "the read-only image was written"
    ok "the read-only image is unchanged"
    ;;
disk-kill9)
    start_guest "$work/out" synced 'head -c 4194304 /dev/urandom > /after-sync; sync; echo synced; sleep 600'
    grep -q '^synced' "$work/out" || fail "the guest never synced"
    kill -9 $guest_pid
    wait $guest_pid 2>/dev/null
    e2fsck -fn "$work/root.ext4" >/dev/null 2>&1 || fail "the image is not clean after kill -9"
    ok "kill -9 after sync: e2fsck -n finds the image clean"
    ;;
disk-busy)
    start_guest "$work/first" up 'echo up; sleep 600'
    first=$guest_pid
    timeout 20 "$vmm" "${engine[@]}" --kernel "$kernel" --disk "$work/root.ext4" </dev/null >"$work/out" 2>"$work/err"
    status=$?
    kill $first; wait $first 2>/dev/null
    [[ $status -eq 1 ]] || fail "second VM: status $status, want 1"
    [[ $(wc -l <"$work/err") -eq 1 ]] || fail "not one line of error"
    grep -q "in use by another VM" "$work/err" || fail "the error does not say the disk is in use"
    ok "$(cat "$work/err")"
    ;;
net-tap)
    command -v dnsmasq >/dev/null || fail "dnsmasq missing (make deps)"
    netns=vessel-vt-$$
    ip netns add $netns || fail "ip netns add"
    ip netns exec $netns sh -c 'ip link set lo up && ip link add br0 type bridge && ip addr add 10.77.0.1/24 dev br0 && ip link set br0 up' || fail "bridge"
    ip netns exec $netns dnsmasq --keep-in-foreground --no-resolv --no-hosts --bind-interfaces \
        --interface=br0 --dhcp-range=10.77.0.10,10.77.0.50,1h --dhcp-leasefile="$work/leases" \
        --pid-file="$work/dnsmasq.pid" 2>"$work/dnsmasq.log" &
    ip netns exec $netns sh -c "'$host_cat' -l -t 7000 </dev/null | sha256sum > '$work/received'" &
    sleep 0.5
    run_guest 0 'ip link set eth0 up; ip=$(udhcpc -i eth0 -n -q -t 10 -T 2 -s /bin/true 2>&1 | sed -n "s/.*lease of \([0-9.]*\) obtained.*/\1/p"); echo lease=$ip; ip addr add $ip/24 dev eth0; ping -c 2 10.77.0.1 | grep -c "bytes from"; head -c 8388608 /dev/urandom > /tmp/d; echo sum=$(sha256sum < /tmp/d | cut -d" " -f1); vsockcat -t 10.77.0.1 7000 < /tmp/d; echo sent=$?' \
        --net bridge=br0,mac=52:54:00:aa:bb:01
    expect '^lease=10\.77\.0\.'
    grep -qi '52:54:00:aa:bb:01' "$work/leases" || fail "dnsmasq has no lease for the NIC's MAC"
    ok "dnsmasq leased an address to 52:54:00:aa:bb:01"
    expect '^2$'
    expect '^sent=0$'
    for _ in $(seq 50); do [[ -s $work/received ]] && break; sleep 0.1; done
    [[ $(cut -d' ' -f1 "$work/received") == "$(guest_sum)" ]] || fail "the host received other bytes"
    ok "8 MiB over TCP arrived with the guest's checksum"
    ;;
net-user)
    python3 -m http.server 0 --bind 127.0.0.1 --directory "$work" >"$work/http.log" 2>&1 &
    for _ in $(seq 50); do port=$(grep -o 'port [0-9]*' "$work/http.log" | cut -d' ' -f2) && [[ -n $port ]] && break; sleep 0.1; done
    echo "served by the host" >"$work/hello"
    fwd=$((20000 + $$ % 20000))
    (for _ in $(seq 600); do
        sleep 0.2
        grep -q '^listening' "$work/out" 2>/dev/null || continue
        # The guest prints "listening" once its listener is bound; a refused try is retried
        # all the same.
        echo "through the forward" | timeout 10 "$host_cat" -t 127.0.0.1 $fwd >"$work/forwarded" \
            2>/dev/null && break
    done) &
    run_guest 0 "ip link set eth0 up; udhcpc -i eth0 -n -q -t 10 -T 2 -s /bin/true 2>&1 | grep -o 'lease of [0-9.]*'; ip addr add 10.0.2.15/24 dev eth0; ip route add default via 10.0.2.2; wget -q -O- http://10.0.2.2:$port/hello; vsockcat -l -t 8022 > /tmp/got & for i in \$(seq 200); do grep -q ':1F56 00000000:0000 0A' /proc/net/tcp && break; sleep 0.05; done; echo listening; for i in \$(seq 300); do [ -s /tmp/got ] && break; sleep 0.1; done; sleep 0.5; cat /tmp/got" \
        --net "user,hostfwd=tcp:$fwd-8022"
    expect '^lease of 10\.0\.2\.15'
    expect '^served by the host$'
    expect '^through the forward$'
    pgrep -f "vessel-slirp --fd" >/dev/null && fail "vessel-slirp outlived the VM"
    ok "vessel-slirp ended with the VM"
    ;;
vsock)
    sock=$work/v.sock
    # Guest to host: 8 MiB to a listener at <socket>_5000; host to guest: 8 MiB to the guest's
    # echo server on port 1234, 64 connections at once, then a connection the host closes at once.
    python3 - "$sock" "$work" <<'PY' &
import os, socket, sys, hashlib, threading, time
sock, work = sys.argv[1], sys.argv[2]
listener = socket.socket(socket.AF_UNIX); listener.bind(sock + "_5000"); listener.listen(4)
conn, _ = listener.accept(); h = hashlib.sha256()
while True:
    data = conn.recv(1 << 16)
    if not data: break
    h.update(data)
conn.close()
open(work + "/from-guest", "w").write(h.hexdigest())
def echo_round(payload):
    # The guest says echo-ready as it starts its listener in the background: until it listens, the
    # guest refuses the connection and the VMM closes ours, and we try again, as a client would.
    for attempt in range(100):
        s = socket.socket(socket.AF_UNIX); s.connect(sock)
        s.sendall(b"CONNECT 1234\n")
        line = b""
        while not line.endswith(b"\n"):
            byte = s.recv(1)
            if not byte: break
            line += byte
        if line.startswith(b"OK "): break
        s.close(); time.sleep(0.1)
    assert line.startswith(b"OK "), line
    sender = threading.Thread(target=lambda: (s.sendall(payload), s.shutdown(socket.SHUT_WR)))
    sender.start(); got = b""
    while True:
        data = s.recv(1 << 16)
        if not data: break
        got += data
    sender.join(); s.close(); return got
for _ in range(200):
    if os.path.exists(work + "/echo-ready"): break
    time.sleep(0.1)
big = os.urandom(8 << 20)
ok = echo_round(big) == big
results = [None] * 64
def small(i): results[i] = echo_round(b"connection %d\n" % i) == b"connection %d\n" % i
threads = [threading.Thread(target=small, args=(i,)) for i in range(64)]
[t.start() for t in threads]; [t.join() for t in threads]
s = socket.socket(socket.AF_UNIX); s.connect(sock); s.sendall(b"CONNECT 1235\n"); s.recv(64); s.close()
open(work + "/to-guest", "w").write("%s %d" % (ok, sum(1 for r in results if r)))
PY
    for _ in $(seq 50); do [[ -S ${sock}_5000 ]] && break; sleep 0.1; done
    (for _ in $(seq 600); do grep -q '^echo-ready' "$work/out" 2>/dev/null && { touch "$work/echo-ready"; break; }; sleep 0.2; done) &
    run_guest 0 'head -c 8388608 /dev/urandom > /tmp/d; echo sum=$(sha256sum < /tmp/d | cut -d" " -f1); vsockcat 2 5000 < /tmp/d; vsockcat -l -e 1234 & echo echo-ready; vsockcat -l 1235 </dev/null >/dev/null; echo eof-seen=$?; vsockcat -l 1236 </dev/null >/dev/null' \
        --vsock 3,"$sock" &
    vm=$!
    for _ in $(seq 1200); do [[ -s $work/to-guest ]] && break; sleep 0.1; done
    [[ -s $work/to-guest ]] || { kill $vm; fail "the host side did not finish"; }
    # Every connection is closed now; the guest waits for one more to end its run.
    for _ in $(seq 100); do grep -q '^eof-seen' "$work/out" && break; sleep 0.1; done
    vmm_pid=$(pgrep -f -- "^$vmm .*--vsock 3,$sock" | head -n1)
    fds_during=$(ls "/proc/$vmm_pid/fd" | wc -l)
    python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"CONNECT 1236\n"); s.recv(64); s.close()' "$sock"
    wait $vm || exit 1
    [[ $(cat "$work/from-guest") == "$(guest_sum)" ]] || fail "guest to host: other bytes arrived"
    ok "8 MiB guest to host with the guest's checksum"
    read -r big small <"$work/to-guest"
    [[ $big == True ]] || fail "host to guest: the echo of 8 MiB differs"
    ok "8 MiB host to guest and back"
    [[ $small -eq 64 ]] || fail "only $small of 64 concurrent connections echoed"
    ok "64 concurrent connections"
    expect '^eof-seen=0$'
    [[ -n $vmm_pid && $fds_during -gt 0 && $fds_during -lt 40 ]] ||
        fail "the VMM holds $fds_during descriptors after 66 connections closed"
    ok "no descriptors left open in the VMM ($fds_during)"
    ;;
rng)
    run_guest 0 'cat /sys/devices/virtual/misc/hw_random/rng_current; head -c 4096 /dev/hwrng | wc -c; head -c 64 /dev/hwrng | od -An -tx1 | tr -d " \n"; echo' --rng
    expect '^virtio_rng'
    expect '^4096$'
    grep -Eq '^(00)+$' "$work/out" && fail "the RNG gave zeroes"
    ok "random bytes"
    ;;
console)
    # The riscv64 kernel's SBI console driver is hvc0, so virtio-console is hvc1 here (as on QEMU's
    # virt board with the same kernel); an x86 guest has it as hvc0.
    [[ -n $initrd ]] || fail "no riscv64 initramfs"
    encoded=$(printf '%s' 'echo waiting-for-input; read -r line; echo "got=$line"' | base64 -w0)
    out=$( (for _ in $(seq 600); do grep -q '^waiting-for-input' "$work/console" 2>/dev/null && break; sleep 0.2; done
            printf 'typed-on-hvc1\n') | timeout -s KILL $limit "$vmm" "${engine[@]}" --kernel "$kernel" \
        --initrd "$initrd" --memory 256M --console virtio \
        --append "console=hvc1 vessel.run64=$encoded" 2>&1 | tee "$work/console" | tr -d '\r')
    grep -q 'vessel-guest: init started' <<<"$out" || { echo "$out" | tail; fail "no init marker on hvc1"; }
    grep -qx 'got=typed-on-hvc1' <<<"$out" || { echo "$out" | tail; fail "input on hvc1 did not reach the guest"; }
    ok "the guest read from hvc1 what was typed and answered there"
    ;;
bad-input)
    # expect_refusal TEXT vessel-vmm options...: status 1, one line containing TEXT, nothing left.
    expect_refusal() {
        local text=$1
        shift
        timeout 30 "$vmm" "${engine[@]}" --kernel "$kernel" "$@" </dev/null >"$work/out" 2>"$work/err"
        local status=$?
        [[ $status -eq 1 ]] || fail "$*: status $status, want 1"
        [[ $(wc -l <"$work/err") -eq 1 ]] || fail "$*: not one line"
        grep -qF -- "$text" "$work/err" || fail "$*: '$(cat "$work/err")' does not say '$text'"
        ok "$(cat "$work/err")"
    }
    before_taps=$(ls /sys/class/net | grep -c '^vtap' || true)
    expect_refusal "disk $work/missing.img: No such file or directory" --disk "$work/missing.img"
    expect_refusal "not a regular file" --disk /dev/zero
    expect_refusal "unknown backend 'wire'" --net wire
    expect_refusal "tap vessel-notap: no such network interface" --net tap=vessel-notap
    expect_refusal "bridge vessel-nobr: no such bridge" --net bridge=vessel-nobr
    expect_refusal "CID 2 is reserved" --vsock "2,$work/v.sock"
    expect_refusal "unknown disk option 'rw'" --disk "$work/root.ext4,rw"
    expect_refusal "hostfwd 'udp:1-2'" --net user,hostfwd=udp:1-2
    expect_refusal "is a multicast address" --net user,mac=01:00:5e:00:00:01
    [[ -e $work/v.sock ]] && fail "a refused vsock left its socket"
    [[ $(ls /sys/class/net | grep -c '^vtap' || true) -eq $before_taps ]] || fail "a TAP was left behind"
    pgrep -f "vessel-slirp --fd" >/dev/null && fail "a vessel-slirp was left running"
    ok "nothing left behind"
    ;;
*)
    fail "unknown case '$case'"
    ;;
esac
