#!/bin/bash
# Builds (or finds in the cache) the named guest images, default all four; prints one output
# directory per line on stdout, progress on stderr.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
names=("$@")
[[ ${#names[@]} -gt 0 ]] || names=("${GUEST_RECIPES[@]}")
for name in "${names[@]}"; do
    guest_ensure "$name"
done
