#!/bin/bash
# vessel-vmm: guest RAM costs the host only what the guest touches. A guest as large as the host
# allows (its RAM + swap) starts as quickly as a small one and peaks at the same resident size:
# nothing the VMM keeps per page of guest RAM may be allocated up front.
# Usage: memory_test.sh [--engine jit|interp] VMM SPIN_ELF (--engine goes to every run).
set -uo pipefail
engine=()
if [[ ${1:-} == --engine ]]; then engine=(--engine "$2"); shift 2; fi
vmm=$1 spin_elf=$2
failures=0
err=$(mktemp)
trap 'rm -f "$err"' EXIT

host_mib=$(awk '/^(MemTotal|SwapTotal):/ { kib += $2 } END { print int(kib / 1024) }' /proc/meminfo)
large_mib=$((host_mib / 2 * 2))  # the largest 2 MiB multiple under the cap

# run MIB: runs the spinning bare-metal guest with MIB of RAM until its 1 s --timeout; sets peak_kib
# (the last VmHWM seen: it only grows), elapsed_ms and status. Killed after 60 s.
run() {
    local start pid hwm
    start=$(date +%s%N)
    "$vmm" "${engine[@]}" --bios "$spin_elf" --memory "$1M" --timeout 1 </dev/null >/dev/null 2>"$err" &
    pid=$!
    peak_kib=0
    while kill -0 $pid 2>/dev/null; do
        hwm=$(awk '/^VmHWM:/ { print $2 }' /proc/$pid/status 2>/dev/null)
        [[ -n $hwm ]] && ((hwm > peak_kib)) && peak_kib=$hwm
        if (($(date +%s%N) - start > 60000000000)); then kill -KILL $pid; fi
        sleep 0.05
    done
    wait $pid
    status=$?
    elapsed_ms=$((($(date +%s%N) - start) / 1000000))
    echo "--memory $1M: status $status, ${elapsed_ms} ms, peak RSS ${peak_kib} KiB"
    if [[ $status -ne 4 ]]; then
        echo "FAIL: status $status, want 4 (timed out)"; cat "$err"; failures=$((failures + 1))
    fi
}

# Per-page bookkeeping of even one byte per 4 KiB page would add large_mib / 4 KiB; allow half of
# that (and at least 2 MiB of noise between two runs).
allowed_kib=$((large_mib / 8 > 2048 ? large_mib / 8 : 2048))
# Each size's smallest peak of up to three runs: a sanitizer build's peak moves by megabytes from
# run to run, whichever the size (its leak check at exit is seen or not); a cost that grows with
# guest RAM is there in every run.
small_kib= large_kib=
for attempt in 1 2 3; do
    run 256
    ((${small_kib:-peak_kib} >= peak_kib)) && small_kib=$peak_kib
    run $large_mib
    ((${large_kib:-peak_kib} >= peak_kib)) && large_kib=$peak_kib
    ((large_kib - small_kib <= allowed_kib)) && break
done
peak_kib=$large_kib
if ((peak_kib - small_kib > allowed_kib)); then
    echo "FAIL: --memory ${large_mib}M peaks at ${peak_kib} KiB, ${small_kib} KiB with 256M:" \
        "more than ${allowed_kib} KiB grows with guest RAM"
    failures=$((failures + 1))
fi
# The plain build's whole footprint; a sanitizer build's runtime adds its own (CMake says how much).
ceiling_mib=${VESSEL_VMM_RSS_CEILING_MIB:-48}
if ((peak_kib > ceiling_mib * 1024)); then
    echo "FAIL: --memory ${large_mib}M peaks at ${peak_kib} KiB (over ${ceiling_mib} MiB)"
    failures=$((failures + 1))
fi
# 1 s of --timeout plus start-up and tear-down, which must not grow with guest RAM either.
if ((elapsed_ms > 5000)); then
    echo "FAIL: --memory ${large_mib}M with --timeout 1 took ${elapsed_ms} ms"
    failures=$((failures + 1))
fi
exit $((failures > 0))
