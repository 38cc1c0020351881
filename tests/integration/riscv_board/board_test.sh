#!/bin/bash
# One case of the RISC-V board tests: boots guest/'s riscv64 kernel + initramfs on vessel-vmm and
# checks the guest's output and vessel-vmm's exit status.
# Usage: board_test.sh [--engine jit|interp] VMM SOURCE_DIR CASE [CLOCK_PROBE] (the static riscv64
# program `clock` runs); --engine goes to every vessel-vmm run, so ctest runs each case on both.
set -uo pipefail
engine=()
if [[ ${1:-} == --engine ]]; then engine=(--engine "$2"); shift 2; fi
vmm=$1 src=$2 case=$3 clock_probe=${4:-}
kernel=$("$src/guest/out.sh" riscv64-kernel Image 2>/dev/null) || {
    echo "FAIL: no riscv64 guest kernel (run make guest)"; exit 1; }
initrd=$("$src/guest/out.sh" riscv64-initramfs initramfs.cpio.gz 2>/dev/null) || {
    echo "FAIL: no riscv64 initramfs (run make guest)"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Generous: the interpreter boots in ~5 s alone, but these machines are shared.
limit=240

fw=/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_jump.bin

# boot STATUS CMDS [vessel-vmm options...]: runs CMDS in the guest, expects STATUS; output in $work/out.
boot() {
    local want=$1 cmds=$2
    shift 2
    timeout -s KILL $limit "$vmm" "${engine[@]}" --kernel "$kernel" --initrd "$initrd" --memory 256M \
        --append "console=ttyS0 vessel.run=\"$cmds\"" "$@" </dev/null >"$work/out" 2>"$work/err"
    local status=$?
    tr -d '\r' <"$work/out" >"$work/clean" && mv "$work/clean" "$work/out"  # the tty's CR LF
    if [[ $status -ne $want ]]; then
        echo "FAIL: status $status, want $want"; tail -n 20 "$work/out" "$work/err"; exit 1
    fi
    grep -q '^vessel-guest: init started' "$work/out" || { echo "FAIL: no init marker"; exit 1; }
}
# expect REGEX: a line of the guest's output matches.
expect() {
    grep -Eq -- "$1" "$work/out" || { echo "FAIL: no line matching '$1'"; tail -n 20 "$work/out"; exit 1; }
    echo "ok: $1"
}

case $case in
boot)
    boot 0 'uname -m; echo sum=$((6*7))'
    expect '^riscv64$'
    expect '^sum=42$'
    expect '^vessel-guest: run exit=0'
    ;;
cpuinfo)
    boot 0 'grep -c ^processor /proc/cpuinfo; grep -m1 ^isa /proc/cpuinfo; grep -m1 ^mmu /proc/cpuinfo'
    expect '^1$'
    expect '^isa.*rv64imafdc'
    expect '^mmu.*sv48'
    ;;
arithmetic)
    boot 0 'i=0; s=0; while [ $i -lt 2000 ]; do s=$((s + i * i)); i=$((i + 1)); done; echo squares=$s'
    expect '^squares=2664667000$'
    ;;
tmpfs)
    boot 0 'mkdir -p /t && mount -t tmpfs none /t && seq 1 500 > /t/f && echo lines=$(wc -l < /t/f) last=$(tail -n1 /t/f) && grep -q tmpfs /proc/mounts && echo mounted'
    expect '^lines=500 last=500$'
    expect '^mounted$'
    ;;
poweroff)
    boot 0 'poweroff -f'
    ;;
reboot)
    boot 2 'reboot -f'
    ;;
smp2 | smp4)
    n=${case#smp}
    boot 0 'echo nproc=$(nproc) cpuinfo=$(grep -c ^processor /proc/cpuinfo)' --cpus "$n"
    expect "^nproc=$n cpuinfo=$n$"
    ;;
console-file)
    # --console file:PATH: the guest's console goes to the file, nothing to stdout.
    boot_out=$work/out
    timeout -s KILL $limit "$vmm" "${engine[@]}" --kernel "$kernel" --initrd "$initrd" --console "file:$work/console" \
        --append 'console=ttyS0 vessel.run="echo to-the-file"' </dev/null >"$boot_out" 2>&1
    status=$?
    [[ $status -eq 0 ]] || { echo "FAIL: status $status"; exit 1; }
    [[ ! -s $boot_out ]] || { echo "FAIL: stdout not empty"; head "$boot_out"; exit 1; }
    tr -d '\r' <"$work/console" >"$work/out"
    expect '^to-the-file$'
    ;;
sbi-console)
    # console=hvc0: the guest's console is the SBI's (legacy getchar/putchar), and host input
    # reaches it. The line is sent only once the guest waits for it: the 8250 driver's probe
    # clears the UART FIFO the SBI console reads from.
    mkfifo "$work/in"
    timeout -s KILL $limit "$vmm" "${engine[@]}" --kernel "$kernel" --initrd "$initrd" \
        --append 'console=hvc0 vessel.run="echo waiting-for-input; read line; echo got=$line"' \
        <"$work/in" >"$work/out" 2>"$work/err" &
    pid=$!
    exec 3>"$work/in"
    for _ in $(seq 1 $((limit * 10))); do
        grep -q '^waiting-for-input' "$work/out" && break
        sleep 0.1
    done
    echo hello-over-sbi >&3
    wait $pid
    status=$?
    exec 3>&-
    tr -d '\r' <"$work/out" >"$work/clean" && mv "$work/clean" "$work/out"
    [[ $status -eq 0 ]] || { echo "FAIL: status $status"; tail -n 20 "$work/out" "$work/err"; exit 1; }
    expect '^vessel-guest: init started'
    expect '^got=hello-over-sbi$'
    ;;
opensbi | opensbi-smp2)
    # Debian's OpenSBI in emulated M-mode (CLINT, PLIC M contexts, sifive,test) starts the kernel;
    # with two harts its HSM (IPIs through the CLINT) brings the second one up.
    [[ -f $fw ]] || { echo "FAIL: $fw missing (make deps installs opensbi)"; exit 1; }
    n=1
    [[ $case == opensbi-smp2 ]] && n=2
    boot 0 'uname -m; echo harts=$(grep -c ^processor /proc/cpuinfo)' --bios "$fw" --cpus $n
    expect '^OpenSBI v'
    expect '^riscv64$'
    expect "^harts=$n$"
    ;;
u-boot)
    # Debian's U-Boot for S-mode (uboot.elf, loaded as an ELF) on the VMM's own SBI: it finds the
    # UART and the generated device tree, stops autoboot at a key press, runs commands at its
    # prompt and powers the machine off through SBI SRST.
    uboot=/usr/lib/u-boot/qemu-riscv64_smode/uboot.elf
    [[ -f $uboot ]] || { echo "FAIL: $uboot missing (make deps installs u-boot-qemu)"; exit 1; }
    mkfifo "$work/in"
    timeout -s KILL $limit "$vmm" "${engine[@]}" --kernel "$uboot" --memory 256M <"$work/in" >"$work/out" 2>"$work/err" &
    pid=$!
    exec 3>"$work/in"
    # await PATTERN: waits until a line of the output matches PATTERN.
    await() {
        for _ in $(seq 1 $((limit * 10))); do
            grep -Eq -- "$1" "$work/out" && return 0
            kill -0 $pid 2>/dev/null || break
            sleep 0.1
        done
        echo "FAIL: no '$1'"; tail -n 20 "$work/out" "$work/err"; kill -KILL $pid 2>/dev/null; exit 1
    }
    await 'Hit any key to stop autoboot'
    printf '\n' >&3
    await '^=> '
    printf 'fdt addr ${fdtcontroladdr}; fdt get value m / model; echo model=${m}\n' >&3
    await '^model='
    printf 'poweroff\n' >&3
    wait $pid
    status=$?
    exec 3>&-
    tr -d '\r' <"$work/out" >"$work/clean" && mv "$work/clean" "$work/out"
    [[ $status -eq 0 ]] || { echo "FAIL: status $status after poweroff"; tail -n 20 "$work/out"; exit 1; }
    expect '^U-Boot 20'
    expect '^In: +serial@10000000'
    expect '^model=vessel,riscv-virt$'
    ;;
clock)
    # A static glibc program reads the clock from U-mode: clock_gettime through the vDSO, and the
    # `time` CSR itself. It is added to the initramfs as a second cpio archive.
    [[ -x $clock_probe ]] || { echo "FAIL: no clock probe at '$clock_probe'"; exit 1; }
    mkdir "$work/extra" && cp "$clock_probe" "$work/extra/clock_probe"
    (cd "$work/extra" && echo clock_probe | cpio --quiet -o -H newc -R 0:0) | gzip -n >"$work/extra.cpio.gz"
    cat "$initrd" "$work/extra.cpio.gz" >"$work/initrd.gz"
    initrd=$work/initrd.gz
    boot 0 '/clock_probe; echo probe-exit=$?'
    expect '^clock-probe: vdso=yes rdtime=moves monotonic=[0-9]+\.[0-9]{9}$'
    expect '^probe-exit=0$'
    ;;
rng-seed | rng-seed-opensbi)
    # The device tree's /chosen/rng-seed seeds the guest's RNG before anything runs, whether the
    # kernel gets the tree from the VMM or through OpenSBI (the guest kernel credits it:
    # CONFIG_RANDOM_TRUST_BOOTLOADER).
    [[ -f $fw ]] || { echo "FAIL: $fw missing (make deps installs opensbi)"; exit 1; }
    opts=()
    [[ $case == rng-seed-opensbi ]] && opts=(--bios "$fw")
    boot 0 'cat /proc/sys/kernel/random/entropy_avail' "${opts[@]}"
    expect 'random: crng init done'
    seeded=$(grep -n 'random: crng init done' "$work/out" | head -n1 | cut -d: -f1)
    init=$(grep -n '^vessel-guest: init started' "$work/out" | head -n1 | cut -d: -f1)
    if ((seeded > init)); then
        echo "FAIL: crng init done (line $seeded) only after /init started (line $init)"
        exit 1
    fi
    echo "ok: crng init done at line $seeded, /init at line $init"
    ;;
bad-input)
    fails=0
    # one STATUS PATTERN ARGS...: status 1 and exactly one stderr line matching PATTERN.
    one() {
        local pattern=$1
        shift
        "$vmm" "${engine[@]}" "$@" </dev/null >"$work/out" 2>"$work/err"
        local status=$?
        if [[ $status -ne 1 || $(wc -l <"$work/err") -ne 1 ]] || ! grep -Eq -- "$pattern" "$work/err"; then
            echo "FAIL: vessel-vmm $* -> $status:"; cat "$work/err"; fails=$((fails + 1))
        else
            echo "ok: $(cat "$work/err")"
        fi
    }
    head -c 8192 /dev/urandom >"$work/random"
    # A file with the RISC-V magic but a misaligned text_offset.
    cp "$work/random" "$work/bad-offset"
    printf 'RSC\x05' | dd of="$work/bad-offset" bs=1 seek=56 conv=notrunc status=none
    printf '\x00\x10\x00\x00\x00\x00\x00\x00' | dd of="$work/bad-offset" bs=1 seek=8 conv=notrunc status=none
    one 'missing.*No such file' --kernel "$work/missing"
    one 'neither an x86-64 bzImage/ELF nor a RISC-V Image' --kernel "$work/random"
    one 'text_offset' --kernel "$work/bad-offset"
    truncate -s 14M "$work/big-initrd"
    one 'too small for the kernel .* and initrd' --kernel "$kernel" --initrd "$work/big-initrd" --memory 16M
    one 'unrecognised|not expected|unknown|--frobnicate' --kernel "$kernel" --frobnicate
    one 'initrd.*No such file' --kernel "$kernel" --initrd "$work/missing"
    [[ $fails -eq 0 ]] || exit 1
    ;;
sigterm)
    "$vmm" "${engine[@]}" --kernel "$kernel" --initrd "$initrd" --append 'console=ttyS0 vessel.run="while :; do :; done"' \
        </dev/null >"$work/out" 2>"$work/err" &
    pid=$!
    for _ in $(seq 1 $((limit * 10))); do
        grep -q 'init started' "$work/out" && break
        sleep 0.1
    done
    grep -q 'init started' "$work/out" || { echo "FAIL: guest never reached /init"; kill -KILL $pid; exit 1; }
    sleep 0.5
    start=$(date +%s%N)
    kill -TERM $pid
    for _ in $(seq 1 50); do kill -0 $pid 2>/dev/null || break; sleep 0.05; done
    if kill -0 $pid 2>/dev/null; then echo "FAIL: still running 2.5 s after SIGTERM"; kill -KILL $pid; exit 1; fi
    wait $pid
    status=$?
    ms=$((($(date +%s%N) - start) / 1000000))
    echo "ok: stopped ${ms} ms after SIGTERM, status $status"
    [[ $status -eq 5 ]] || { echo "FAIL: SIGTERM should end with status 5 (stopped by the host), not $status"; exit 1; }
    ;;
*)
    echo "unknown case $case"; exit 1
    ;;
esac
