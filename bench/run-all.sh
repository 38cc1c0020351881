#!/usr/bin/env bash
# Runs every benchmark: each bench/<name>/run, given the build directory. A benchmark is a
# directory with an executable `run` script; add yours and it is picked up.
set -uo pipefail
build=$(cd "${1:?usage: bench/run-all.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
status=0
for script in "$here"/*/run; do
  [[ -x "$script" ]] || continue
  name=$(basename "$(dirname "$script")")
  echo "== $name"
  "$script" "$build" || { echo "== $name failed" >&2; status=1; }
done
exit $status
