#!/bin/bash
# vessel-vmm: each bad input gives status 1 and exactly one line on stderr naming the problem; a
# guest still running at --timeout gives status 4. Every run is under `timeout`: an input that
# makes vessel-vmm hang (a FIFO) fails the case with status 137 instead of hanging the test.
# Usage: cli_test.sh [--engine jit|interp] VMM SPIN_ELF LOW_ELF (--engine goes to every run).
set -uo pipefail
engine=()
if [[ ${1:-} == --engine ]]; then engine=(--engine "$2"); shift 2; fi
vmm=$1 spin_elf=$(realpath "$2") low_elf=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

# expect STATUS PATTERN ARGS...: runs vessel-vmm ARGS, checks its status and that stderr is one
# line matching PATTERN.
expect() {
    local want=$1 pattern=$2
    shift 2
    timeout -s KILL 20 "$vmm" "${engine[@]}" "$@" </dev/null >"$work/out" 2>"$work/err"
    local status=$?
    local lines
    lines=$(wc -l <"$work/err")
    if [[ $status -ne $want ]] || { [[ -n $pattern ]] && { [[ $lines -ne 1 ]] || ! grep -Eq -- "$pattern" "$work/err"; }; }; then
        echo "FAIL: vessel-vmm $* -> status $status (want $want), stderr:"
        sed 's/^/  | /' "$work/err"
        failures=$((failures + 1))
    else
        echo "ok: vessel-vmm $* -> $status $(head -c 120 "$work/err")"
    fi
}

for i in 1 2 3 4; do echo 'not an ELF at all, just some text long enough for a header'; done >"$work/text"
head -c 10 "$spin_elf" >"$work/truncated"
cp "$spin_elf" "$work/bad-phoff"
# e_phoff (offset 32) far beyond the file.
printf '\xff\xff\xff\x00' | dd of="$work/bad-phoff" bs=1 seek=32 conv=notrunc status=none

expect 1 'missing.*No such file' --bios "$work/missing.elf"
expect 1 'not an ELF file' --bios "$work/text"
expect 1 'too short' --bios "$work/truncated"
expect 1 'x86-64 ELF goes in --kernel' --bios /bin/true
expect 1 'program headers lie outside the file' --bios "$work/bad-phoff"
expect 1 'outside guest RAM' --bios "$low_elf"
expect 1 'below the minimum' --bios "$spin_elf" --memory 4k
expect 1 'unknown-flag|not expected|extra' --bios "$spin_elf" --unknown-flag
# A RISC-V ELF is a valid --kernel (U-Boot's uboot.elf): checked like --bios, entered in S-mode.
expect 1 'kernel .*outside guest RAM' --kernel "$low_elf"
expect 1 'kernel .*program headers lie outside the file' --kernel "$work/bad-phoff"
expect 4 '' --kernel "$spin_elf" --timeout 0.5
expect 1 '--memory' --bios "$spin_elf" --memory lots
expect 1 '--timeout' --bios "$spin_elf" --timeout -3

# Files copied into guest RAM must be regular files that fit in it: a device would be read
# without end, a FIFO would block before --timeout starts counting.
mkfifo "$work/fifo"
truncate -s 17M "$work/big"
for flag in --bios --kernel; do
    expect 1 "^vessel-vmm: $flag: /dev/zero is a character device, not a regular file$" $flag /dev/zero
    expect 1 "^vessel-vmm: $flag: $work/fifo is a FIFO, not a regular file$" $flag "$work/fifo"
    expect 1 "^vessel-vmm: $flag: $work/big is 17825792 bytes, larger than guest RAM \(16777216 bytes\)$" \
        $flag "$work/big" --memory 16M
done
expect 1 '^vessel-vmm: --initrd: /dev/zero is a character device' --kernel "$spin_elf" --initrd /dev/zero
expect 1 "^vessel-vmm: --initrd: $work/fifo is a FIFO" --kernel "$spin_elf" --initrd "$work/fifo"
expect 1 "^vessel-vmm: --initrd: $work/big is 17825792 bytes, larger than guest RAM \(16777216 bytes\)$" \
    --kernel "$spin_elf" --initrd "$work/big" --memory 16M
expect 1 '^vessel-vmm: --config: /dev/zero is a character device' --config /dev/zero
expect 1 "^vessel-vmm: --config: $work/fifo is a FIFO" --config "$work/fifo"
# The same through --config, with paths relative to the file: the error names the file and key.
up=../../../../../../../../../..
config() { printf '%s\n' "$1" >"$work/vm.json"; }
config "{\"bios\": \"$up/dev/zero\"}"
expect 1 "^vessel-vmm: $work/vm.json: bios: $work/$up/dev/zero is a character device" --config "$work/vm.json"
config "{\"kernel\": \"$spin_elf\", \"initrd\": \"fifo\"}"
expect 1 "^vessel-vmm: $work/vm.json: initrd: $work/fifo is a FIFO" --config "$work/vm.json"
config '{"kernel": "big", "memory": "16M"}'
expect 1 "^vessel-vmm: $work/vm.json: kernel: $work/big is 17825792 bytes, larger than guest RAM" \
    --config "$work/vm.json"
# A flag overrides the file's value, and then errors name the flag.
config '{"bios": "big"}'
expect 1 "^vessel-vmm: --bios: $work/fifo is a FIFO" --config "$work/vm.json" --bios "$work/fifo"

# Guest RAM is capped at what the host could ever back (RAM + swap), with the flag or key named.
host_mib=$(awk '/^(MemTotal|SwapTotal):/ { kib += $2 } END { print int(kib / 1024) }' /proc/meminfo)
over=$(((host_mib / 2 + 1) * 2))M
expect 1 "^vessel-vmm: --memory: .* more than this host's RAM and swap" --bios "$spin_elf" --memory "$over"
config "{\"bios\": \"$spin_elf\", \"memory\": \"$over\"}"
expect 1 "^vessel-vmm: $work/vm.json: memory: .* more than this host's RAM and swap" --config "$work/vm.json"
config "{\"bios\": \"$spin_elf\", \"memory\": \"4k\"}"
expect 1 "^vessel-vmm: $work/vm.json: memory: 0 MiB is below the minimum" --config "$work/vm.json"
# Every number in vm.json is range-checked like its flag.
config "{\"bios\": \"$spin_elf\", \"timeout\": 9.3e15}"
expect 1 "^vessel-vmm: $work/vm.json: timeout: must be a positive number of seconds" --config "$work/vm.json"
expect 1 '^vessel-vmm: --timeout: must be a positive number of seconds' --bios "$spin_elf" --timeout 9.3e15
config "{\"bios\": \"$spin_elf\", \"memory\": 1e300}"
expect 1 "^vessel-vmm: $work/vm.json: memory: must be an integer" --config "$work/vm.json"
config "{\"bios\": \"$spin_elf\", \"cpus\": 4294967297}"
expect 1 "^vessel-vmm: $work/vm.json: cpus: must be" --config "$work/vm.json"
config "{\"bios\": \"$spin_elf\", \"timeout\": 0.5}"
expect 4 '' --config "$work/vm.json"

start=$(date +%s%N)
expect 4 '' --bios "$spin_elf" --timeout 0.5
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
if ((elapsed_ms > 5000)); then
    echo "FAIL: --timeout 0.5 took ${elapsed_ms} ms"
    failures=$((failures + 1))
fi

# --perf-map: the translator names its blocks (the spin loop's among them) by guest address in
# /tmp/perf-PID.map, for profiling guests with perf.
if [[ ${engine[1]:-} == jit ]]; then
    "$vmm" "${engine[@]}" --perf-map --bios "$spin_elf" --timeout 0.5 </dev/null >/dev/null 2>&1 &
    pid=$!
    wait "$pid"
    map=/tmp/perf-$pid.map
    if grep -Eq '^[0-9a-f]+ [0-9a-f]+ riscv-m:0x8[0-9a-f]{7}$' "$map" 2>/dev/null; then
        echo "ok: --perf-map named $(wc -l <"$map") blocks in $map"
    else
        echo "FAIL: --perf-map: no translated block named in $map"
        failures=$((failures + 1))
    fi
    rm -f "$map"
fi

exit $((failures > 0))
