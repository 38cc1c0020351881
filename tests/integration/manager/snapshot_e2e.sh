#!/usr/bin/env bash
# End-to-end: snapshots of both kinds of instance under a private vesseld. A busybox container and
# the riscv64/busybox VM on the emulated board: a file written, snapshotted, changed, restored; a
# snapshot of a running instance taken of one moment (frozen meanwhile); restore refused while the
# instance runs; the config of the snapshot's moment restored with it; snapshots that survive
# kill -9 of vesseld and crashes at each step; a snapshot of a 10 GiB sparse disk that costs
# little; copies of both kinds, with their own address. Needs root and `make guest`'s riscv64 kernel and root disk.
# Usage: snapshot_e2e.sh VESSEL VESSELD (vessel-runc and vessel-vmm are found beside vesseld)
set -uo pipefail
vessel_bin=$1
vesseld_bin=$2
source "$(dirname "$0")/lib.sh"

use_riscv64_guests
start_daemon

in_c1() { "$vessel_bin" exec c1 -- sh -c "$1"; }
snapshots_of() { "$vessel_bin" snapshot list "$1" | awk 'NR > 1 { print $1 }' | tr '\n' ' '; }

# Containers: the snapshot is the overlay's upper directory, with its whiteouts.
check "launch a container with a memory limit" "$vessel_bin" launch busybox c1 -c limits.memory=64MiB
yes_path=$(in_c1 'which yes')
check "write a file and delete one of the image's" in_c1 "echo one >/root/data && rm $yes_path"
check "snapshot the running container" "$vessel_bin" snapshot create c1 s1
check "it runs on after the snapshot (thawed)" bash -c "[[ \$('$vessel_bin' info c1 | grep ^Status:) == 'Status: RUNNING' ]] && [[ \$('$vessel_bin' exec c1 -- cat /root/data) == one ]]"
check "snapshot list shows it" bash -c "[[ \$('$vessel_bin' snapshot list c1 | awk 'NR == 2 { print \$1 }') == s1 ]]"
check "list counts it (SNAPSHOTS)" bash -c "'$vessel_bin' list | grep -E '^c1 +RUNNING .*CONTAINER +1\$'"
check "info lists it" bash -c "'$vessel_bin' info c1 | grep -A1 '^Snapshots:' | grep -q '^  s1 (taken at '"
expect_error "a second snapshot of the same name is refused" "instance c1 already has a snapshot s1" \
  "$vessel_bin" snapshot create c1 s1
expect_error "a name that is not a DNS label is refused" "snapshot name Bad must start with a lower-case letter" \
  "$vessel_bin" snapshot create c1 Bad
check "without a name vesseld picks snap0" bash -c "'$vessel_bin' snapshot create c1 && [[ \$('$vessel_bin' snapshot list c1 --format json | grep -c '\"name\": \"snap0\"') == 1 ]]"
check "delete snap0" "$vessel_bin" snapshot delete c1 snap0
check "and its files are gone" test ! -e "$state/instances/c1/snapshots/snap0"

check "change the file, add one, and the config" bash -c "'$vessel_bin' exec c1 -- sh -c 'echo two >/root/data && echo new >/root/extra' && '$vessel_bin' config set c1 limits.memory=128MiB"
expect_error "restore of a running container is refused" "instance c1 is running: stop it before restoring snapshot s1" \
  "$vessel_bin" snapshot restore c1 s1
expect_error "restore of an unknown snapshot names the close ones" "instance c1 has no snapshot s9 (did you mean s1?)" \
  "$vessel_bin" snapshot restore c1 s9
check "stop c1" "$vessel_bin" stop c1
check "restore s1" "$vessel_bin" snapshot restore c1 s1
check "start c1" "$vessel_bin" start c1
check "the file has its contents of the snapshot" bash -c "[[ \$('$vessel_bin' exec c1 -- cat /root/data) == one ]]"
check "the file added since is gone" bash -c "! '$vessel_bin' exec c1 -- test -e /root/extra"
check "the image's file deleted before stays deleted (whiteout kept)" bash -c "! '$vessel_bin' exec c1 -- test -e $yes_path"
check "the config is the snapshot's" test "$("$vessel_bin" config get c1 limits.memory)" = 64MiB
check "and the restored limit is applied" bash -c "[[ \$(cat /sys/fs/cgroup/memory/$parent/c1/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/$parent/c1/memory.max) == $((64 << 20)) ]]"

# A snapshot of a running container is of one moment: the container is frozen while it is copied.
# The host watches the container's freezer during a snapshot made slow by 256 MiB of ballast, while
# a writer in it writes its count to a, then to b: in a frozen copy b equals a or is one behind (or
# one file is empty, caught between its truncation and its write).
frozen_now() {
  [[ $(cat /sys/fs/cgroup/freezer/$parent/c1/freezer.state 2>/dev/null) == FROZEN ]] ||
    [[ $(cat /sys/fs/cgroup/$parent/c1/cgroup.freeze 2>/dev/null) == 1 ]]
}
one_moment() {  # one_moment SNAPSHOT
  local a b
  a=$(cat "$state/instances/c1/snapshots/$1/upper/root/a") b=$(cat "$state/instances/c1/snapshots/$1/upper/root/b")
  echo "a=$a b=$b"
  [[ -z $a || -z $b ]] || (( a - b >= 0 && a - b <= 1 ))
}
check "write 256 MiB of ballast" in_c1 'head -c 268435456 /dev/zero >/root/ballast'
in_c1 'i=0; while :; do i=$((i + 1)); echo $i >/root/a; echo $i >/root/b; done' >/dev/null 2>&1 &
writer=$!
sleep 1
rm -f "$work/saw-frozen"
( while :; do frozen_now && touch "$work/saw-frozen"; sleep 0.005; done ) &
watcher=$!
check "snapshot the container while it writes" "$vessel_bin" snapshot create c1 w1
kill "$watcher"; wait "$watcher" 2>/dev/null
check "the container was frozen during the copy" test -e "$work/saw-frozen"
not_frozen() { ! frozen_now; }
check "and is not any more" not_frozen
check "the snapshot holds one moment" one_moment w1
before=$(in_c1 'cat /root/b')
check "the writer goes on after it" eventually 5 bash -c "(( \$('$vessel_bin' exec c1 -- cat /root/b) > ${before:-0} ))"
check "remove the ballast" in_c1 'rm /root/ballast'
for n in 2 3; do
  check "snapshot w$n of the container while it writes" "$vessel_bin" snapshot create c1 w$n
  check "snapshot w$n holds one moment" one_moment w$n
done
kill "$writer" 2>/dev/null; wait "$writer" 2>/dev/null

# Snapshots outlive vesseld; a crash at each step leaves a whole snapshot or none, no files.
kill -9 "$daemon_pid"; wait "$daemon_pid" 2>/dev/null; daemon_pid=
start_daemon
check "snapshots survive kill -9 of vesseld" test "$(snapshots_of c1)" = "s1 w1 w2 w3 "
crash_at snapshot-files-made "$vessel_bin" snapshot create c1 k1
check "a snapshot vesseld died making is not listed" test "$(snapshots_of c1)" = "s1 w1 w2 w3 "
check "and its files are gone" bash -c "! ls -A '$state/instances/c1/snapshots' | grep -E 'k1'"
crash_at snapshot-row-deleted "$vessel_bin" snapshot delete c1 w3
check "a snapshot vesseld died deleting is gone" test "$(snapshots_of c1)" = "s1 w1 w2 "
check "files and all" test ! -e "$state/instances/c1/snapshots/w3"
check "stop c1 again" "$vessel_bin" stop c1
crash_at restore-files-replaced "$vessel_bin" snapshot restore c1 w1
check "a restore vesseld died in left no replacement behind" bash -c "! ls -A '$state/instances/c1' | grep -q restoring"
check "restore after the crash" "$vessel_bin" snapshot restore c1 s1
check "c1 starts" "$vessel_bin" start c1
check "with the snapshot's file" bash -c "[[ \$('$vessel_bin' exec c1 -- cat /root/data) == one ]]"
check "delete c1 with its snapshots" "$vessel_bin" delete --force c1
check "nothing of c1 or its snapshots is left" nothing_left c1

# Copies: a new stopped instance with the source's files, config and snapshots, its own address.
check "launch c2" "$vessel_bin" launch busybox c2 -c limits.processes=50
check "write a file in c2 and snapshot it" bash -c "'$vessel_bin' exec c2 -- sh -c 'echo original >/root/data' && '$vessel_bin' snapshot create c2 s1"
check "copy the running c2 to c3" "$vessel_bin" copy c2 c3
check "the copy is stopped, with the snapshot" bash -c "'$vessel_bin' list | grep -E '^c3 +STOPPED .*CONTAINER +1\$'"
check "the source runs on" bash -c "'$vessel_bin' list | grep -E '^c2 +RUNNING '"
check "the copy has the source's config" test "$("$vessel_bin" config get c3 limits.processes)" = 50
kill -9 "$daemon_pid"; wait "$daemon_pid" 2>/dev/null; daemon_pid=
start_daemon
check "the copy survives kill -9 of vesseld, snapshot and all" bash -c "'$vessel_bin' list | grep -E '^c3 +STOPPED .*CONTAINER +1\$'"
check "start the copy" "$vessel_bin" start c3
check "the copy has the source's file" bash -c "[[ \$('$vessel_bin' exec c3 -- cat /root/data) == original ]]"
check "a change in the copy stays in the copy" bash -c "'$vessel_bin' exec c3 -- sh -c 'echo changed >/root/data' && [[ \$('$vessel_bin' exec c2 -- cat /root/data) == original ]]"
check "both got an address" eventually 15 bash -c "[[ -n \$('$vessel_bin' list | awk '\$1 == \"c2\" { print \$3 }' | grep '^[0-9]') && -n \$('$vessel_bin' list | awk '\$1 == \"c3\" { print \$3 }' | grep '^[0-9]') ]]"
c2_address=$("$vessel_bin" list | awk '$1 == "c2" { print $3 }') c3_address=$("$vessel_bin" list | awk '$1 == "c3" { print $3 }')
check "the copy's address is its own ($c3_address, not $c2_address)" test -n "$c3_address" -a "$c3_address" != "$c2_address"
check "the copy's snapshot restores the source's file" bash -c "'$vessel_bin' stop c3 && '$vessel_bin' snapshot restore c3 s1 && '$vessel_bin' start c3 && [[ \$('$vessel_bin' exec c3 -- cat /root/data) == original ]]"
check "copy --instance-only leaves the snapshots" bash -c "'$vessel_bin' copy c2 c4 --instance-only && '$vessel_bin' list | grep -E '^c4 +STOPPED .*CONTAINER +0\$'"
expect_error "a copy onto a taken name is refused" "instance c4 already exists" "$vessel_bin" copy c2 c4
expect_error "a copy of an unknown instance names it" "instance c9 not found" "$vessel_bin" copy c9 c5
check "the refused copies left nothing" nothing_left c5
crash_at copy-created "$vessel_bin" copy c2 c5
check "a copy vesseld died making is rolled back" nothing_left c5
check "delete c2, c3 and c4" "$vessel_bin" delete --force c2 c3 c4
all_gone() { for n in "$@"; do nothing_left "$n" || return 1; done; }
check "nothing of them is left" all_gone c2 c3 c4

# VMs: the snapshot is the root disk, a sparse copy.
check "launch the riscv64 VM" "$vessel_bin" launch riscv64/busybox rv1 --vm -c limits.memory=128MiB
check "write a file on its disk" "$vessel_bin" exec rv1 -- sh -c 'echo one >/root/data && sync'
check "snapshot the running VM" "$vessel_bin" snapshot create rv1 s1
check "the VM runs on after the snapshot (its VMM continued)" bash -c "[[ \$('$vessel_bin' exec rv1 -- cat /root/data) == one ]]"
check "the snapshot's disk is sparse" bash -c "(( \$(stat -c %b $state/instances/rv1/snapshots/s1/root.img) * 512 < 64 << 20 ))"
check "change the file" "$vessel_bin" exec rv1 -- sh -c 'echo two >/root/data && sync'
expect_error "restore of a running VM is refused" "instance rv1 is running: stop it before restoring snapshot s1" \
  "$vessel_bin" snapshot restore rv1 s1
check "stop rv1" "$vessel_bin" stop rv1
check "restore s1" "$vessel_bin" snapshot restore rv1 s1
check "start rv1" "$vessel_bin" start rv1
check "the guest sees the file of the snapshot" bash -c "[[ \$('$vessel_bin' exec rv1 -- cat /root/data) == one ]]"
check "stop rv1 for a big disk" "$vessel_bin" stop rv1
check "grow its disk to 10 GiB" "$vessel_bin" config set rv1 limits.disk=10GiB
check "the disk is 10 GiB, sparse" test "$(stat -c %s "$state/instances/rv1/root.img")" -eq $((10 << 30))
started=$(date +%s%N)
check "snapshot the 10 GiB disk" "$vessel_bin" snapshot create rv1 big
elapsed_ms=$(( ($(date +%s%N) - started) / 1000000 ))
echo "# snapshot of a 10 GiB sparse disk: $elapsed_ms ms, $(( $(stat -c %b "$state/instances/rv1/snapshots/big/root.img") * 512 >> 20 )) MiB allocated"
check "it took under 10 s" test "$elapsed_ms" -lt 10000
check "it is 10 GiB long and takes under 64 MiB" bash -c "(( \$(stat -c %s $state/instances/rv1/snapshots/big/root.img) == 10 << 30 && \$(stat -c %b $state/instances/rv1/snapshots/big/root.img) * 512 < 64 << 20 ))"
check "restore s1 takes the disk back to its size then" bash -c "'$vessel_bin' snapshot restore rv1 s1 && (( \$(stat -c %s $state/instances/rv1/root.img) < 10 << 30 ))"
check "and the config too" test -z "$("$vessel_bin" config get rv1 limits.disk)"
check "copy rv1 to rv2" "$vessel_bin" copy rv1 rv2
check "the copy boots with the source's disk" bash -c "'$vessel_bin' start rv2 && [[ \$('$vessel_bin' exec rv2 -- cat /root/data) == one ]]"
check "delete rv2" "$vessel_bin" delete --force rv2
check "nothing of rv2 is left" nothing_left rv2
check "delete rv1 with its snapshots" "$vessel_bin" delete rv1
check "nothing of rv1 or its snapshots is left" nothing_left rv1
finish
