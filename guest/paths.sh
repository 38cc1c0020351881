#!/bin/bash
# Prints where each guest artefact for the current inputs lives, without building anything:
# "<name> <directory>" or "<name> <directory> (not built: make guest)".
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
for name in "${GUEST_RECIPES[@]}"; do
    entry=$(guest_entry "$name")
    if [[ -d "$entry" ]]; then
        echo "$name $entry"
    else
        echo "$name $entry (not built: make guest)"
    fi
done
