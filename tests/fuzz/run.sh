#!/usr/bin/env bash
# Runs every fuzz target of a libFuzzer build (VESSEL_FUZZ=libfuzzer) for SECONDS each, one after
# the other, over its seed corpus and regressions. New inputs and crashes go to a scratch
# directory, never into the repository: a crash worth keeping is copied to
# tests/fuzz/regressions/<target>/ by hand, with a fix. Exits non-zero if any target crashed.
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
  "$binary" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix="$scratch/crashes/$target/" "$scratch/corpus/$target" \
    "$here/corpus/$target" "${regressions[@]}" 2>"$scratch/$target.log"
  rc=$?
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec)|^Done|cov: ' "$scratch/$target.log" |
    tail -3
  if [[ $rc -ne 0 ]]; then
    echo "== $target FAILED (exit $rc): $scratch/$target.log, inputs in $scratch/crashes/$target" >&2
    status=1
  fi
done
exit $status
