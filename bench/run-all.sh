#!/bin/bash
# make bench: runs every bench/*/run with the build directory.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/.."
status=0
for runner in bench/*/run; do
    echo "== ${runner%/run}"
    nice -n 10 "$runner" "$build" || status=1
done
exit $status
