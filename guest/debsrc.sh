# Makes `apt-get source` work against the archive this machine already uses: derives deb-src
# stanzas from /etc/apt/sources.list.d/debian.sources at run time (no host name lives in the repo)
# and writes them to /etc/apt/sources.list.d/vessel-deb-src.sources. Idempotent: apt-get update runs
# only when the file changed or apt has no source index yet. Sourced by recipes that need sources.

GUEST_APT_SOURCES=${VESSEL_APT_SOURCES:-/etc/apt/sources.list.d/debian.sources}
GUEST_DEBSRC_FILE=/etc/apt/sources.list.d/vessel-deb-src.sources

guest_debsrc_stanzas() {
    # deb822: stanzas split by blank lines; copy URIs/Suites/Components/Signed-By of every stanza
    # whose Types include "deb", with Types: deb-src.
    awk '
        function flush() {
            if (is_deb && uris != "") {
                printf "%sTypes: deb-src\nURIs: %s\nSuites: %s\nComponents: %s\n", sep, uris, suites, comps
                if (signed != "") printf "Signed-By: %s\n", signed
                sep = "\n"
            }
            is_deb = 0; uris = suites = comps = signed = ""
        }
        /^[ \t]*#/ { next }
        /^[ \t]*$/ { flush(); next }
        {
            key = $1; sub(/:$/, "", key); value = $0; sub(/^[^:]*:[ \t]*/, "", value)
            if (key == "Types") { n = split(value, t, /[ \t]+/); for (i = 1; i <= n; i++) if (t[i] == "deb") is_deb = 1 }
            else if (key == "URIs") uris = value
            else if (key == "Suites") suites = value
            else if (key == "Components") comps = value
            else if (key == "Signed-By") signed = value
        }
        END { flush() }
    ' "$GUEST_APT_SOURCES"
}

guest_ensure_debsrc() {
    local wanted
    [[ -r "$GUEST_APT_SOURCES" ]] || guest_die "$GUEST_APT_SOURCES is missing: cannot derive a deb-src entry"
    wanted="# Written by Vessel's guest/debsrc.sh from $(basename "$GUEST_APT_SOURCES"): source packages from the same archive.
$(guest_debsrc_stanzas)"
    [[ "$wanted" == *"Types: deb-src"* ]] || guest_die "$GUEST_APT_SOURCES has no deb stanza to derive deb-src from"
    if [[ ! -f "$GUEST_DEBSRC_FILE" ]] || [[ "$(cat "$GUEST_DEBSRC_FILE")" != "$wanted" ]]; then
        guest_step "write $GUEST_DEBSRC_FILE and apt-get update"
        printf '%s\n' "$wanted" >"$GUEST_DEBSRC_FILE.tmp"
        mv "$GUEST_DEBSRC_FILE.tmp" "$GUEST_DEBSRC_FILE"
        apt-get update -qq
    elif ! apt-cache showsrc "$1" >/dev/null 2>&1 || [[ -z "$(apt-cache showsrc "$1" 2>/dev/null)" ]]; then
        guest_step "apt-get update (no source index for $1 yet)"
        apt-get update -qq
    fi
}
