#!/usr/bin/env bash
# vessel against a vesseld over HTTPS (docs/remote.md): a client that is trusted with a one-time
# token and then launches, lists, runs programs in and deletes a container as REMOTE:NAME; and
# everything that must be refused: an untrusted certificate, no certificate, TLS 1.2, plain HTTP,
# a token used twice or expired, a server whose certificate is not the pinned one, a certificate
# removed from the trust store.
# usage: remote_e2e.sh VESSEL VESSELD
set -u
vessel_bin=$1 vesseld_bin=$2
source "$(dirname "$0")/lib.sh"
use_riscv64_guests
start_daemon

port=$(free_port)
url=https://127.0.0.1:$port
client() { VESSEL_CONFIG_DIR=$work/client "$vessel_bin" "$@"; }

expect_error "the listener is off by default" "Failed to connect" \
  curl -sS --max-time 5 -k "$url/1.0"
expect_error "a server key that does not exist is refused" "unknown server key" \
  "$vessel_bin" config set core.nonsense=1
expect_error "an address that is not one is refused" "core.https_address" \
  "$vessel_bin" config set core.https_address=localhost
check "core.https_address turns the listener on" \
  "$vessel_bin" config set core.https_address "127.0.0.1:$port"
check "config get reads it back" test "$("$vessel_bin" config get core.https_address)" = "127.0.0.1:$port"
check "the server certificate was made at the first start" \
  bash -c "[[ \$(stat -c %a '$state/server.key') == 600 ]] && openssl x509 -noout -in '$state/server.crt'"
server_fingerprint=$(openssl x509 -noout -fingerprint -sha256 -in "$state/server.crt" | cut -d= -f2 | tr -d : | tr A-F a-f)

# --- Clients that get nothing.
make_certificate stranger
stranger=(curl -sS --max-time 10 -k --cert "$work/stranger.crt" --key "$work/stranger.key")
check "an untrusted client may see whom it talks to" \
  bash -c "$(printf '%q ' "${stranger[@]}") '$url/1.0' | grep -q '\"auth\":\"untrusted\"'"
check "... and the server's fingerprint is the one on disk" \
  bash -c "$(printf '%q ' "${stranger[@]}") '$url/1.0' | grep -q '$server_fingerprint'"
check "an untrusted client gets 403 on the instances" \
  bash -c "[[ \$($(printf '%q ' "${stranger[@]}") -o '$work/body' -w '%{http_code}' '$url/1.0/instances') == 403 ]] && grep -q 'is not trusted' '$work/body'"
check "... and on the metrics" \
  bash -c "[[ \$($(printf '%q ' "${stranger[@]}") -o /dev/null -w '%{http_code}' '$url/1.0/metrics') == 403 ]]"
check "... and cannot ask for a token" \
  bash -c "[[ \$($(printf '%q ' "${stranger[@]}") -o /dev/null -w '%{http_code}' -X POST -d '{\"token\":true}' '$url/1.0/certificates') == 403 ]]"
expect_error "a client without a certificate is refused in the handshake" "curl:" \
  curl -sS --max-time 10 -k "$url/1.0"
expect_error "TLS 1.2 is refused" "curl:" \
  curl -sS --max-time 10 -k --tls-max 1.2 --cert "$work/stranger.crt" --key "$work/stranger.key" "$url/1.0"
check "plain HTTP gets no HTTP answer" \
  bash -c "! curl -s --max-time 10 -o /dev/null -w '%{http_code}' 'http://127.0.0.1:$port/1.0' | grep -q '^[1-5]'"

# --- A client trusted with a token.
token=$("$vessel_bin" config trust add --name laptop 2>"$work/token-hint")
check "a token is printed, with a hint on stderr" \
  bash -c "[[ -n '$token' ]] && grep -q 'vessel remote add' '$work/token-hint'"
expect_error "a malformed token is refused before anything is sent" "not a vessel trust token" \
  client remote add r1 "$url" --token garbage
expect_error "a URL that is not https is refused" "https://" \
  client remote add r1 "http://127.0.0.1:$port" --token "$token"
check "remote add with the token" client remote add r1 "$url" --token "$token"
check "the client's key is private" bash -c "[[ \$(stat -c %a '$work/client/client.key') == 600 ]]"
check "remote list shows it with the pinned fingerprint" \
  bash -c "VESSEL_CONFIG_DIR='$work/client' '$vessel_bin' remote list | grep 'r1' | grep -q '${server_fingerprint:0:12}'"
check "the server lists the client as laptop" bash -c "'$vessel_bin' config trust list | grep -q laptop"
check "launch r1:c1" client launch busybox r1:c1
check "list r1: shows it running" bash -c "VESSEL_CONFIG_DIR='$work/client' '$vessel_bin' list r1: | grep c1 | grep -q RUNNING"
check "exec r1:c1 runs in the container" \
  bash -c "[[ \$(VESSEL_CONFIG_DIR='$work/client' '$vessel_bin' exec r1:c1 -- sh -c 'echo hi-\$(hostname)') == hi-c1 ]]"
check "exec r1:c1 passes standard input and the exit status" \
  bash -c "echo abc | VESSEL_CONFIG_DIR='$work/client' '$vessel_bin' exec -i r1:c1 -- sh -c 'read x; echo \$x; exit 3'; [[ \$? == 3 ]]"
echo remote-file >"$work/pushed"
check "file push and pull over HTTPS" \
  bash -c "VESSEL_CONFIG_DIR='$work/client' '$vessel_bin' file push '$work/pushed' r1:c1/root/pushed && [[ \$(VESSEL_CONFIG_DIR='$work/client' '$vessel_bin' file pull r1:c1/root/pushed -) == remote-file ]]"
# WebSocket: exec on a terminal as a browser asks for it, over HTTPS and over the unix socket.
ws=$(dirname "$0")/ws_client.py
exec_path='/1.0/instances/c1/exec?command=%5B%22sh%22%5D&interactive=1&width=100&height=30'
check "exec over a WebSocket on HTTPS: a shell on a terminal of the asked size" bash -c "
  '$ws' --https 127.0.0.1:$port --cert '$work/client/client.crt' --key '$work/client/client.key' \
    --ca '$state/server.crt' --resize 120 40 --send 'stty size; echo hi-\$((6*7)); exit 5'\$'\\n' \
    '$exec_path' >'$work/ws-out'; status=\$?
  tr -d '\\r' <'$work/ws-out' | grep -qx '40 120' && grep -q hi-42 '$work/ws-out' && [[ \$status == 5 ]] ||
    { cat '$work/ws-out'; echo status \$status; false; }"
check "exec over a WebSocket on the unix socket" bash -c "
  [[ \$('$ws' --unix '$socket' --send \$'echo via-unix\\nexit\\n' '$exec_path' | tr -d '\\r' | grep -x via-unix) == via-unix ]]"
check "a stranger gets 403 for a WebSocket too" bash -c "
  '$ws' --https 127.0.0.1:$port --cert '$work/stranger.crt' --key '$work/stranger.key' \
    --ca '$state/server.crt' '$exec_path' 2>&1 | grep -q '403'"
check "a GET of exec without the upgrade is refused by name" bash -c \
  "curl -sS --unix-socket '$socket' 'http://vessel/1.0/instances/c1/exec?command=%5B%22true%22%5D' | grep -q 'exec over WebSocket'"
check "launch the riscv64 VM r1:v1" client launch riscv64/busybox r1:v1 --vm
expect_error "a remote console of a missing instance is refused with the server's message" \
  "instance nope not found" client console r1:nope
expect_error "... and of a container too" "is a container" client console r1:c1
check "vessel console r1:v1 goes through the WebSocket: a shell on the VM's serial line" bash -c "
  { sleep 2; printf 'echo hi-\$((6*7))-console\\n'; sleep 4; printf '\\001q'; } |
    VESSEL_CONFIG_DIR='$work/client' timeout 60 '$vessel_bin' console r1:v1 >'$work/console-out' 2>&1
  grep -q hi-42-console '$work/console-out' && grep -q 'Detached from v1' '$work/console-out' ||
    { cat -v '$work/console-out'; false; }"
check "delete r1:v1" client delete --force r1:v1
check "info r1:c1" bash -c "VESSEL_CONFIG_DIR='$work/client' '$vessel_bin' info r1:c1 | grep -q 'Status: RUNNING'"
check "metrics over HTTPS for a trusted client" \
  bash -c "curl -sS --max-time 10 -k --cert '$work/client/client.crt' --key '$work/client/client.key' '$url/1.0/metrics' | grep -q 'vessel_instance_running{name=\"c1\",type=\"container\"} 1'"
expect_error "names on two remotes in one command are refused" "in one command" \
  client delete r1:c1 local:c2
check "remote switch makes r1 the default" \
  bash -c "VESSEL_CONFIG_DIR='$work/client' '$vessel_bin' remote switch r1 && VESSEL_CONFIG_DIR='$work/client' '$vessel_bin' list | grep -q c1"
check "delete r1:c1" client delete --force r1:c1
check "nothing of c1 is left" nothing_left c1

# --- Tokens are single-use and expire.
expect_error "a used token is refused" "used already" \
  env VESSEL_CONFIG_DIR="$work/client2" "$vessel_bin" remote add r1 "$url" --token "$token"
check "... and the refused client is not trusted" \
  bash -c "[[ \$('$vessel_bin' config trust list --format json | grep -c '\"fingerprint\"') == 1 ]]"
short=$("$vessel_bin" config trust add --name late --expiry 1 2>/dev/null)
sleep 2
expect_error "an expired token is refused" "expired" \
  env VESSEL_CONFIG_DIR="$work/client3" "$vessel_bin" remote add r1 "$url" --token "$short"

# --- The pinned fingerprint.
cp "$work/client/remotes.json" "$work/remotes.saved"
sed -i "s/$server_fingerprint/$(printf '0%.0s' {1..64})/" "$work/client/remotes.json"
expect_error "a server that is not the pinned one stops the client" "not the pinned" \
  client list r1:
cp "$work/remotes.saved" "$work/client/remotes.json"

# --- Trust removed takes effect at once.
client_fingerprint=$(openssl x509 -noout -fingerprint -sha256 -in "$work/client/client.crt" | cut -d= -f2 | tr -d : | tr A-F a-f)
check "trust remove" "$vessel_bin" config trust remove "${client_fingerprint:0:16}"
expect_error "a removed client gets 403" "not trusted" client list r1:
check "remote remove forgets it, and local is the default again" \
  bash -c "VESSEL_CONFIG_DIR='$work/client' '$vessel_bin' remote remove r1 && VESSEL_CONFIG_DIR='$work/client' '$vessel_bin' remote list | grep -q 'local (default)'"

# --- Off again.
check "unsetting core.https_address stops the listener" \
  bash -c "'$vessel_bin' config unset core.https_address && ! curl -s --max-time 5 -k '$url/1.0'"
stop_daemon
start_daemon
check "a restarted vesseld keeps it off" bash -c "! curl -s --max-time 5 -k '$url/1.0'"
check "set it again" "$vessel_bin" config set "core.https_address=127.0.0.1:$port"
stop_daemon
start_daemon
check "a restarted vesseld listens again" \
  bash -c "curl -sS --max-time 10 -k --cert '$work/stranger.crt' --key '$work/stranger.key' '$url/1.0' | grep -q untrusted"
finish
