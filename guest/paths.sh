#!/bin/bash
# Prints where each guest artefact for the current inputs lives, without building anything:
# "<name> <directory>" or "<name> <directory> (not built: make guest)". Usage: paths.sh [NAME...]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
names=("$@")
[[ ${#names[@]} -gt 0 ]] || names=("${GUEST_RECIPES[@]}")
for name in "${names[@]}"; do
    entry=$(guest_entry "$name")
    if [[ -d "$entry" ]]; then
        echo "$name $entry"
    else
        echo "$name $entry (not built: make guest)"
    fi
done
