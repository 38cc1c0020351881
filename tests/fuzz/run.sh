#!/usr/bin/env bash
# Runs every fuzz target of a libFuzzer build (VESSEL_FUZZ=libfuzzer) for SECONDS each, one after
# the other, over its seed corpus and regressions. New inputs and crashes go to a scratch
# directory, never into the repository: a crash worth keeping is copied to
# tests/fuzz/regressions/<target>/ by hand, with a fix. Exits non-zero if any target crashed.
# SECONDS is wall-clock time, or CPU time with FUZZ_CPU_TIME=1: the fuzzer then runs until it has
# used that much CPU, however busy the machine (run it under nice beside other work; where the
# kernel groups each session's processes, sched_autogroup, a fuzzer started in a session of its
# own, as by setsid, competes as an equal whatever its nice value unless its group is lowered too:
# echo 19 > /proc/<its pid>/autogroup).
# usage: tests/fuzz/run.sh BUILD_DIR SECONDS [SCRATCH_DIR] [TARGET...]
set -uo pipefail
build=$(cd "${1:?usage: run.sh BUILD_DIR SECONDS [SCRATCH_DIR] [TARGET...]}" && pwd)
seconds=${2:?seconds per target}
scratch=${3:-$build/fuzz-scratch}
shift 3 2>/dev/null || shift $#
here=$(cd "$(dirname "$0")" && pwd)
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for dir in "$here"/corpus/*/; do targets+=("$(basename "$dir")"); done
fi
status=0
for target in "${targets[@]}"; do
  binary="$build/tests/fuzz/${target}_fuzz"
  [[ -x "$binary" ]] || { echo "fuzz: $binary is not built" >&2; status=1; continue; }
  mkdir -p "$scratch/corpus/$target" "$scratch/crashes/$target"
  regressions=()
  [[ -d "$here/regressions/$target" ]] && regressions=("$here/regressions/$target")
  echo "== $target: ${seconds}s"
  # -rss_limit_mb: the targets map guest RAM with MAP_NORESERVE and stay small; more is a leak.
  # -timeout is libFuzzer's per-input limit, in wall-clock seconds: a fuzzer under nice beside a
  # build can wait longer than 10 s for a core in the middle of an input, which libFuzzer then
  # reports as a hang (both such "timeouts" of the first campaign ran in a millisecond alone). With
  # a CPU-time budget the limit is 5 minutes, still finite for a real endless loop.
  limit=(-max_total_time="$seconds")
  unit_timeout=10
  [[ ${FUZZ_CPU_TIME:-0} = 1 ]] && { limit=(); unit_timeout=300; }
  "$binary" "${limit[@]}" -print_final_stats=1 -rss_limit_mb=2048 -timeout="$unit_timeout" \
    -artifact_prefix="$scratch/crashes/$target/" "$scratch/corpus/$target" \
    "$here/corpus/$target" "${regressions[@]}" 2>"$scratch/$target.log" &
  fuzzer=$!
  if [[ ${FUZZ_CPU_TIME:-0} = 1 ]]; then
    # utime + stime (fields 14 and 15 of /proc/PID/stat, in clock ticks) against the budget.
    # SIGUSR1 asks libFuzzer to stop after the input it is running, print its final stats and
    # exit 0. Not SIGINT: its handler allocates, and deadlocks when the signal lands while the
    # fuzzer holds the allocator's lock.
    ticks=$(getconf CLK_TCK)
    while kill -0 "$fuzzer" 2>/dev/null; do
      used=$(awk '{ print $14 + $15 }' "/proc/$fuzzer/stat" 2>/dev/null || echo 0)
      (( used >= seconds * ticks )) && { kill -USR1 "$fuzzer"; break; }
      sleep 2
    done
  fi
  wait "$fuzzer"
  rc=$?
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec)|^Done|cov: ' "$scratch/$target.log" |
    tail -3
  if [[ $rc -ne 0 ]]; then
    echo "== $target FAILED (exit $rc): $scratch/$target.log, inputs in $scratch/crashes/$target" >&2
    status=1
  fi
done
exit $status
