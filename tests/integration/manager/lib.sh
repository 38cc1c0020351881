# Shared by the manager's end-to-end tests: a private vesseld (temporary socket, state directory,
# cgroup parent and managed bridge, so nothing of the host's own vesseld is touched) and the checks.
# Source it with vessel_bin and vesseld_bin set (vessel-runc is found beside vesseld, or is
# VESSEL_TEST_RUNTIME, and vessel-vmm VESSEL_TEST_VMM: `make test-tsan` runs an instrumented
# vesseld with the plain runtime and VMM). Needs root.
if [[ $(id -u) -ne 0 ]]; then echo "SKIP: needs root (containers)"; exit 77; fi
if [[ ! -x /bin/busybox ]]; then echo "SKIP: busybox-static is not installed"; exit 77; fi
runtime_bin=${VESSEL_TEST_RUNTIME:-$(dirname "$vesseld_bin")/vessel-runc}

work=$(mktemp -d /tmp/vessel-e2e-XXXXXX)
socket=$work/vessel.sock
state=$work/state
parent=vessel-e2e-$$
# A private managed network: its own bridge and /24, so the host's vessel0 is never touched.
bridge=vt$$
gateway=10.213.$(($$ % 250)).1
export VESSEL_SOCKET=$socket
# The CLI's own remotes and certificate: none, whatever the user running the tests has set up.
export VESSEL_CONFIG_DIR=$work/local-client
daemon_pid=
failures=0

# A stand-in for vessel-vmm (its command line and exit statuses) for the fast lifecycle checks: it
# "boots" by writing its arguments to its console (stdout, the monitor's terminal) and powers off
# on SIGTERM.
cat >"$work/fake-vmm" <<'VMM'
#!/bin/sh
echo "fake-vmm booted: $*"
trap 'echo "fake-vmm: power off"; exit 0' TERM
while :; do sleep 1 & wait $!; done
VMM
chmod +x "$work/fake-vmm"
vmm=$work/fake-vmm

# Starts vesseld and waits until it answers (it re-attaches to its instances first); false when it
# does not. Extra arguments go to vesseld.
try_start_daemon() {
  "$vesseld_bin" --socket "$socket" --state-dir "$state" --cgroup-parent "$parent" \
    --runtime "$runtime_bin" --vmm "$vmm" --guest-cache "${guest_cache:-$work/no-guests}" \
    --bridge "$bridge" --bridge-address "$gateway" "$@" \
    >>"$work/vesseld.log" 2>&1 &
  daemon_pid=$!
  # A killed daemon leaves its socket file: wait for an answer, not for the file.
  for _ in $(seq 400); do
    "$vessel_bin" list >/dev/null 2>&1 && return 0
    kill -0 "$daemon_pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
eventually() {  # eventually SECONDS COMMAND...: the command succeeds within that time
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do (( SECONDS >= deadline )) && return 1; sleep 0.1; done
}

start_daemon() {
  try_start_daemon "$@" && return 0
  echo "vesseld did not start:"; cat "$work/vesseld.log"; exit 1
}
stop_daemon() {
  [[ -n $daemon_pid ]] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
  daemon_pid=
}
cleanup() {
  # Whatever a test left (a daemon that crashed on purpose included): delete it all through a
  # vesseld, so that its containers, mounts and cgroups go too.
  unset VESSEL_TEST_CRASH_AT
  "$vessel_bin" list >/dev/null 2>&1 || try_start_daemon
  for name in $("$vessel_bin" list --format json 2>/dev/null | grep -o '"name": "[^"]*"' | cut -d'"' -f4); do
    "$vessel_bin" delete --force "$name" >/dev/null 2>&1
  done
  "$vessel_bin" network delete "$bridge" >/dev/null 2>&1
  stop_daemon
  [[ -n ${httpd_pid:-} ]] && kill "$httpd_pid" 2>/dev/null
  # Whatever a failed run left of the network.
  for pid in $(pgrep -a -x dnsmasq | grep -- "--interface=$bridge " | cut -d' ' -f1); do kill "$pid"; done
  nft delete table ip "vessel_$bridge" 2>/dev/null
  ip link del "$bridge" 2>/dev/null
  for c in /sys/fs/cgroup/*/"$parent"; do rmdir "$c" 2>/dev/null; done
  grep -q "$work" /proc/mounts && echo "LEAK: mounts under $work remain"
  rm -rf "$work"
}
trap cleanup EXIT

pass() { echo "ok - $1"; }
failed() { echo "FAIL - $1"; failures=$((failures + 1)); }
check() {  # check DESCRIPTION COMMAND... : the command must succeed
  local what=$1; shift
  if "$@" >"$work/out" 2>&1; then pass "$what"; else failed "$what"; sed 's/^/    /' "$work/out"; fi
}
expect_error() {  # expect_error DESCRIPTION EXPECTED-STDERR-TEXT COMMAND...
  local what=$1 text=$2; shift 2
  if "$@" >"$work/out" 2>&1; then failed "$what (succeeded)"; sed 's/^/    /' "$work/out"; return; fi
  if grep -qF -- "$text" "$work/out"; then pass "$what"; else
    failed "$what (wrong message)"; sed 's/^/    /' "$work/out"; fi
}
nothing_left() {  # nothing_left NAME: no row, no directory, no cgroup, no mount
  local name=$1
  # What is left goes to stderr, which check shows under a failure.
  "$vessel_bin" list --format json | grep -q "\"name\": \"$name\"" &&
    { echo "still listed"; return 1; }
  [[ -e $state/instances/$name ]] &&
    { echo "its directory is left:"; ls -la "$state/instances/$name"; return 1; }
  for c in /sys/fs/cgroup/*/"$parent"/"$name"; do
    [[ -e $c ]] && { echo "its cgroup $c is left"; return 1; }
  done
  grep "$state/instances/$name" /proc/mounts && { echo "mounts are left"; return 1; }
  return 0
}
crash_exit=86  # crash_point_exit_code in src/manager/crash_point.h
# crash_at POINT COMMAND...: runs COMMAND against a vesseld that dies when it reaches POINT, then
# starts a healthy vesseld on the same state.
crash_at() {
  local point=$1; shift
  stop_daemon
  VESSEL_TEST_CRASH_AT=$point start_daemon
  "$@" >"$work/crash-out" 2>&1
  local status=
  for _ in $(seq 200); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.05; done
  if kill -0 "$daemon_pid" 2>/dev/null; then
    failed "vesseld did not reach crash point $point"
    stop_daemon
  else
    wait "$daemon_pid"; status=$?
    daemon_pid=
    if [[ $status -eq $crash_exit ]]; then pass "vesseld died at $point"; else
      failed "vesseld died at $point (exit status $status, not $crash_exit)"; fi
  fi
  start_daemon
}

# The real vessel-vmm and `make guest`'s riscv64 kernel and root disk for every vesseld of the
# test (after each crash too): the built-in riscv64/busybox VM image. make test builds the guest
# images first, so their absence is a broken set-up, not a skip.
use_riscv64_guests() {
  local guest_out kernel rootfs
  guest_out=$(dirname "${BASH_SOURCE[0]}")/../../../guest/out.sh
  kernel=$("$guest_out" riscv64-kernel Image 2>/dev/null) || kernel=
  rootfs=$("$guest_out" riscv64-rootfs root.ext4 2>/dev/null) || rootfs=
  if [[ -z $kernel || -z $rootfs ]]; then
    echo "FAIL - no riscv64 kernel and root disk from make guest (guest/out.sh found none)"
    exit 1
  fi
  mkdir -p "$work/guests"
  ln -s "$(dirname "$kernel")" "$work/guests/riscv64-kernel"
  ln -s "$(dirname "$rootfs")" "$work/guests/riscv64-rootfs"
  vmm=${VESSEL_TEST_VMM:-$(dirname "$vesseld_bin")/vessel-vmm}
  guest_cache=$work/guests
}
# A TCP port on 127.0.0.1 that nothing listens on now (for a vesseld's core.https_address).
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# make_certificate NAME: a self-signed client certificate, $work/NAME.crt and $work/NAME.key,
# that no vesseld trusts.
make_certificate() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$1" -days 1 \
    -keyout "$work/$1.key" -out "$work/$1.crt" 2>/dev/null
}
finish() {
  echo "$failures failure(s)"
  [[ $failures -eq 0 ]]
}
