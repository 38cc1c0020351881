#!/usr/bin/env bash
# The web UI (/ui/ on the HTTPS listener) in headless Chromium with a trusted client certificate:
# it lists the instance, starts it, opens its console and runs `echo hi-from-ui`, and the page
# shows the output (ui_browser.mjs). The screenshot stays as an artefact in the build tree
# (tests/integration/manager/ui-screenshot.png). Also: the files and their security policy, and
# a stranger's 403.
# usage: ui_e2e.sh VESSEL VESSELD NPM_DIR ARTEFACT_DIR
set -u
vessel_bin=$1 vesseld_bin=$2 npm_dir=$3 artefacts=$4
source "$(dirname "$0")/lib.sh"
for tool in node /usr/bin/chromium curl openssl; do
  command -v $tool >/dev/null || { echo "FAIL - $tool is not installed (make deps)"; exit 1; }
done
start_daemon
port=$(free_port)
url=https://127.0.0.1:$port
check "the HTTPS listener" "$vessel_bin" config set "core.https_address=127.0.0.1:$port"
token=$("$vessel_bin" config trust add --name browser 2>/dev/null)
check "a client certificate for the browser" \
  env VESSEL_CONFIG_DIR="$work/browser" "$vessel_bin" remote add here "$url" --token "$token"
curl_client=(curl -sS --max-time 10 -k --cert "$work/browser/client.crt" --key "$work/browser/client.key")
check "the page is served with its security policy" \
  bash -c "$(printf '%q ' "${curl_client[@]}") -D '$work/headers' -o '$work/page' '$url/ui/' && grep -q '<title>Vessel</title>' '$work/page' && grep -qi \"^content-security-policy: default-src 'self'\" '$work/headers'"
check "xterm.js from npm is served beside it" \
  bash -c "$(printf '%q ' "${curl_client[@]}") '$url/ui/xterm.js' | grep -q 'Terminal'"
check "a name outside the directory is 404" \
  bash -c "[[ \$($(printf '%q ' "${curl_client[@]}") -o /dev/null -w '%{http_code}' '$url/ui/..%2Fserver.key') == 404 ]]"
make_certificate stranger
check "a stranger gets 403 for the page" \
  bash -c "[[ \$(curl -sS --max-time 10 -k --cert '$work/stranger.crt' --key '$work/stranger.key' -o /dev/null -w '%{http_code}' '$url/ui/') == 403 ]]"

check "a stopped container u1" bash -c "'$vessel_bin' launch busybox u1 && '$vessel_bin' stop --force u1"
mkdir -p "$artefacts"
check "Chromium: list, start, console, echo" \
  timeout 120 node "$(dirname "$0")/ui_browser.mjs" "$npm_dir/node_modules" "$url" \
    "$work/browser/client.crt" "$work/browser/client.key" u1 "$artefacts/ui-screenshot.png"
check "the screenshot was saved" test -s "$artefacts/ui-screenshot.png"
check "u1 runs, as the page started it" bash -c "'$vessel_bin' list | grep -E '^u1 +RUNNING'"
check "delete u1" "$vessel_bin" delete --force u1
check "nothing of u1 is left" nothing_left u1
finish
