# Shared machinery for the guest image recipes: input hash, cache lookup, locked build into a temp
# dir, atomic rename. Sourced by guest/build.sh; recipes never repeat it.
#
# A recipe (guest/recipes/<name>.sh) defines:
#   recipe_inputs   prints the inputs that decide its output, one per line:
#                     "file <path relative to guest/>"  (content hashed)
#                     "pkg <debian package>"            (installed version from dpkg-query)
#                     "text <anything>"                 (hashed as is)
#   recipe_build OUT WORK   builds into OUT (empty temp dir) using WORK (scratch, kept on failure
#                           so an interrupted build can resume where make allows)
# The cache entry is /var/cache/vessel/guest/<name>-<hash>/ and /var/cache/vessel/guest/<name> is a
# symlink to the newest one.

GUEST_DIR=${GUEST_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)}
GUEST_CACHE=${VESSEL_GUEST_CACHE:-/var/cache/vessel/guest}
GUEST_BUILD_ROOT=${VESSEL_GUEST_BUILD_ROOT:-/var/cache/vessel/build}
GUEST_JOBS=${VESSEL_GUEST_JOBS:-2}

guest_step() { printf 'guest[%s]: %s\n' "${GUEST_NAME:-?}" "$*" >&2; }
guest_die() { printf 'guest[%s]: error: %s\n' "${GUEST_NAME:-?}" "$*" >&2; exit 1; }

# The manifest is what gets hashed; its format is part of every cache key, so it stays stable.
guest_manifest() {
    local name=$1 kind arg sum version inputs packages=() line
    local -A versions=()
    inputs=$(echo "file recipes/$name.sh"; recipe_inputs) || guest_die "recipe $name: recipe_inputs failed"
    while read -r kind arg; do
        [[ "$kind" == pkg ]] && packages+=("$arg")
    done <<<"$inputs"
    # One dpkg-query for all packages: a cache hit must stay fast on a loaded machine.
    if [[ ${#packages[@]} -gt 0 ]]; then
        while read -r line; do
            versions[${line%% *}]=${line#* }
        done < <(dpkg-query -W -f='${db:Status-Status} ${Package} ${Version}\n' "${packages[@]}" 2>/dev/null |
            awk '$1 == "installed" { print $2, $3 }')
    fi
    echo "vessel-guest-manifest v1"
    echo "recipe $name"
    while read -r kind arg; do
        [[ -z "$kind" ]] && continue
        case "$kind" in
        file)
            [[ -f "$GUEST_DIR/$arg" ]] || guest_die "input file guest/$arg is missing"
            sum=$(sha256sum "$GUEST_DIR/$arg" | cut -d' ' -f1)
            echo "file $arg $sum"
            ;;
        pkg)
            version=${versions[$arg]:-}
            [[ -n "$version" ]] || guest_die "package $arg is not installed (run make deps)"
            echo "pkg $arg $version"
            ;;
        text) echo "text $arg" ;;
        *) guest_die "recipe input kind '$kind' is unknown" ;;
        esac
    done <<<"$inputs"
}

guest_load_recipe() {
    local name=$1
    [[ "$name" =~ ^[a-z0-9_-]+$ && -f "$GUEST_DIR/recipes/$name.sh" ]] ||
        guest_die "no recipe named '$name' (see guest/recipes/)"
    unset -f recipe_inputs recipe_build
    # shellcheck source=/dev/null
    source "$GUEST_DIR/recipes/$name.sh"
}

# Prints the output directory of recipe NAME, building it first when the cache has no entry for the
# current inputs. Concurrent callers for the same entry wait on one lock instead of building twice.
guest_ensure() {
    local name=$1 hash final tmp lockfd work
    GUEST_NAME=$name
    guest_load_recipe "$name"
    hash=$(guest_manifest "$name" | sha256sum | cut -d' ' -f1)
    final="$GUEST_CACHE/$name-$hash"
    if [[ -d "$final" ]]; then
        guest_step "cache hit $final"
    else
        mkdir -p "$GUEST_CACHE" "$GUEST_BUILD_ROOT"
        exec {lockfd}>"$GUEST_CACHE/.lock-$name-$hash"
        if ! flock -n "$lockfd"; then
            guest_step "another build of $name-$hash is running; waiting for it"
            flock "$lockfd"
        fi
        if [[ -d "$final" ]]; then
            guest_step "cache hit $final (built by another process)"
        else
            guest_step "cache miss: building $name-$hash"
            guest_manifest "$name" | sed 's/^/guest['"$name"']:   input /' >&2
            work="$GUEST_BUILD_ROOT/$name-$hash"
            mkdir -p "$work"
            rm -rf "$GUEST_CACHE/.tmp-$name-$hash"
            tmp="$GUEST_CACHE/.tmp-$name-$hash"
            mkdir "$tmp"
            local started=$SECONDS
            # Not `( ... ) || handler`: bash ignores errexit inside a subshell tested by ||.
            local status=0
            set +e
            (
                set -euo pipefail
                recipe_build "$tmp" "$work"
            ) >&2
            status=$?
            set -e
            if [[ $status -ne 0 ]]; then
                rm -rf "$tmp"
                guest_die "build failed (scratch kept in $work)"
            fi
            guest_manifest "$name" >"$tmp/inputs.manifest"
            sync -f "$tmp" 2>/dev/null || true
            mv -T "$tmp" "$final"
            rm -rf "$work"
            guest_step "built $final in $((SECONDS - started)) s"
        fi
        exec {lockfd}>&-
        rm -f "$GUEST_CACHE/.lock-$name-$hash"
    fi
    # The stable name: a symlink swapped atomically (rename over the old link).
    ln -sfn "$name-$hash" "$GUEST_CACHE/.link-$name.$$"
    mv -T "$GUEST_CACHE/.link-$name.$$" "$GUEST_CACHE/$name"
    echo "$final"
}

# Prints the cache entry recipe NAME would have for the current inputs, whether built or not.
guest_entry() {
    local name=$1 hash
    GUEST_NAME=$name
    guest_load_recipe "$name"
    hash=$(guest_manifest "$name" | sha256sum | cut -d' ' -f1)
    echo "$GUEST_CACHE/$name-$hash"
}

GUEST_RECIPES=(riscv64-kernel riscv64-initramfs riscv64-rootfs x86_64-kernel x86_64-initramfs)
