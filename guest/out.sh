#!/bin/bash
# Prints the path of a guest artefact, building it first if the cache has no entry for the current
# inputs. Usage: guest/out.sh NAME [FILE]
#   guest/out.sh riscv64-kernel          -> /var/cache/vessel/guest/riscv64-kernel-<hash>
#   guest/out.sh riscv64-kernel Image    -> /var/cache/vessel/guest/riscv64-kernel-<hash>/Image
# Build progress goes to stderr; stdout holds only the path.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[[ $# -ge 1 && $# -le 2 ]] || { echo "usage: guest/out.sh NAME [FILE]" >&2; exit 2; }
dir=$(guest_ensure "$1")
if [[ $# -eq 2 ]]; then
    [[ -e "$dir/$2" ]] || { echo "guest/out.sh: $1 has no file '$2' (in $dir)" >&2; exit 1; }
    echo "$dir/$2"
else
    echo "$dir"
fi
