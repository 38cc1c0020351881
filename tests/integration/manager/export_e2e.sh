#!/usr/bin/env bash
# End-to-end: vessel export and vessel import under a private vesseld, for a busybox container and
# the riscv64/busybox VM on the emulated board. Export -> delete -> import -> start gives back the
# same files (contents, hard links, whiteouts, opaque directories, a sparse 10 GiB disk), config and
# snapshots; an image this host lacks comes from the archive under the digest of what it holds;
# hostile archives (path traversal, a symlink out, a device node, a size bomb, a lying index, an
# image naming a host file as its kernel) are refused with nothing left behind; kill -9 of vesseld
# during an import or an export leaves nothing either. Needs root and `make guest`'s riscv64 kernel
# and root disk.
# Usage: export_e2e.sh VESSEL VESSELD (vessel-runc and vessel-vmm are found beside vesseld)
set -uo pipefail
vessel_bin=$1
vesseld_bin=$2
source "$(dirname "$0")/lib.sh"

use_riscv64_guests
start_daemon
backups=$work/backups
mkdir -p "$backups"

in_c1() { "$vessel_bin" exec c1 -- sh -c "$1"; }
state_is() { [[ $("$vessel_bin" info "$1" | grep ^Status:) == "Status: $2" ]]; }
# Nothing of a refused import: no instance, no image directory of its own, no staging.
no_import_leftovers() {
  nothing_left "$1" || return 1
  ls -A "$state/images" | grep -v -x -F -f <("$vessel_bin" image list --format json | grep -o '"fingerprint": "[^"]*"' | cut -d'"' -f4) &&
    { echo "image directories without a row are left"; return 1; }
  return 0
}

# --- A container: files of every kind, a snapshot, a config.
check "launch a container with a memory limit" "$vessel_bin" launch busybox c1 -c limits.memory=64MiB
yes_path=$(in_c1 'which yes')
check "write files: a hard link, a whiteout, an opaque directory, a FIFO, a symlink" in_c1 "
  echo one >/root/data && ln /root/data /root/link && rm $yes_path &&
  rm -rf /usr/share/udhcpc && mkdir /usr/share/udhcpc && echo mine >/usr/share/udhcpc/mine &&
  mkfifo /root/fifo && ln -s /root/data /root/symlink && chown 1234:5678 /root/link &&
  chmod 4750 /root/data"
check "a user extended attribute on a file of the container" setfattr -n user.vessel -v kept "$state/instances/c1/upper/root/data"
check "snapshot s1" "$vessel_bin" snapshot create c1 s1
check "change the file after the snapshot" in_c1 "echo two >/root/data"
check "export the running container" "$vessel_bin" export c1 "$backups/c1.tar.gz"
check "it runs on after the export (thawed)" state_is c1 RUNNING
check "the archive is a gzip tar with index.json first" bash -c "[[ \$(tar -tzf '$backups/c1.tar.gz' 2>/dev/null | head -1) == index.json ]]"
check "no partial file is left beside it" bash -c "[[ -z \$(ls -A '$backups' | grep -v '^c1.tar.gz\$') ]]"
expect_error "an export never replaces a file" "$backups/c1.tar.gz already exists" \
  "$vessel_bin" export c1 "$backups/c1.tar.gz"
expect_error "an archive name of another format is refused" "a backup is a .tar.gz, .tar.zst, .tar.xz or .tar file" \
  "$vessel_bin" export c1 "$backups/c1.zip"
expect_error "a missing directory is named" "directory $backups/nope does not exist" \
  "$vessel_bin" export c1 "$backups/nope/c1.tar.gz"
check "export without snapshots, zstd" "$vessel_bin" export c1 "$backups/c1-only.tar.zst" --instance-only

check "delete c1" "$vessel_bin" delete --force c1
check "import it" "$vessel_bin" import "$backups/c1.tar.gz"
check "it is stopped, with its snapshot" bash -c "'$vessel_bin' list | grep -E '^c1 +STOPPED .*CONTAINER +1\$'"
check "its config came back" test "$("$vessel_bin" config get c1 limits.memory)" = 64MiB
check "start it" "$vessel_bin" start c1
check "the file has its contents of the export" test "$(in_c1 'cat /root/data')" = two
check "the hard link is one file still" test "$(in_c1 'stat -c %i /root/data')" = "$(in_c1 'stat -c %i /root/link')"
check "owners and modes came back (setuid, 1234:5678)" test "$(in_c1 'stat -c "%a %u:%g" /root/link')" = "4750 1234:5678"
check "the image's file deleted before stays deleted (whiteout)" bash -c "! '$vessel_bin' exec c1 -- test -e $yes_path"
check "the opaque directory holds only its own file" test "$(in_c1 'ls /usr/share/udhcpc')" = mine
check "the FIFO and the symlink came back" in_c1 "test -p /root/fifo && test \$(readlink /root/symlink) = /root/data"
check "the user extended attribute came back" bash -c "[[ \$(getfattr --only-values -n user.vessel '$state/instances/c1/upper/root/data') == kept ]]"
check "its limit is applied" bash -c "[[ \$(cat /sys/fs/cgroup/memory/$parent/c1/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/$parent/c1/memory.max) == $((64 << 20)) ]]"
check "stop it and restore the imported snapshot" bash -c "'$vessel_bin' stop c1 && '$vessel_bin' snapshot restore c1 s1 && '$vessel_bin' start c1"
check "the snapshot has the file of its moment" test "$(in_c1 'cat /root/data')" = one

expect_error "an import under a name in use is refused" "instance c1 already exists" \
  "$vessel_bin" import "$backups/c1.tar.gz"
check "import it again as c2" "$vessel_bin" import "$backups/c1-only.tar.zst" c2
check "c2 has no snapshots (--instance-only) and its own address" bash -c "'$vessel_bin' list | grep -E '^c2 +STOPPED .*CONTAINER +0\$'"
check "c2 runs beside c1" bash -c "'$vessel_bin' start c2 && [[ \$('$vessel_bin' exec c2 -- cat /root/data) == two ]]"
expect_error "an invalid name is refused" "instance name C3 must start with a lower-case letter" \
  "$vessel_bin" import "$backups/c1.tar.gz" C3
expect_error "a missing file is named" "$backups/none.tar.gz: No such file or directory" \
  "$vessel_bin" import "$backups/none.tar.gz"

# --- An image this host does not have travels in the archive, named by what it holds.
check "delete c1, c2 and the busybox image" bash -c "'$vessel_bin' delete --force c1 && '$vessel_bin' delete --force c2 && '$vessel_bin' image delete busybox"
check "import c1 without its image here" "$vessel_bin" import "$backups/c1.tar.gz"
old_fingerprint=$(tar -xzOf "$backups/c1.tar.gz" index.json 2>/dev/null | grep -o '"fingerprint": "[^"]*"' | cut -d'"' -f4)
new_fingerprint=$("$vessel_bin" image list --format json | grep -o '"fingerprint": "[^"]*"' | cut -d'"' -f4)
check "the image came from the archive, under its alias" bash -c "'$vessel_bin' image list | grep -q busybox"
check "its fingerprint is the digest of its contents, not the archive's claim" bash -c "[[ -n '$new_fingerprint' && '$new_fingerprint' != '$old_fingerprint' ]]"
check "c1 starts on it with its files" bash -c "'$vessel_bin' start c1 && [[ \$('$vessel_bin' exec c1 -- cat /root/data) == two ]]"
container_images() { "$vessel_bin" image list --format json | grep -c '"type": "container"'; }
check "a second import reuses that image" bash -c "'$vessel_bin' import '$backups/c1.tar.gz' c3 && [[ \$('$vessel_bin' image list --format json | grep -c '\"type\": \"container\"') == 1 ]]"
check "delete c3" "$vessel_bin" delete c3

# --- Progress: the CLI draws a progress line on a terminal from the daemon's events.
on_terminal() { script -qec "$*" /dev/null | tr '\r' '\n'; }
check "a progress line on a terminal: export" bash -c "$(declare -f on_terminal); on_terminal '$vessel_bin' export c1 '$backups/progress.tar' | grep -q 'Exporting c1: archiving'"
check "import" bash -c "$(declare -f on_terminal); on_terminal '$vessel_bin' import '$backups/progress.tar' c8 | grep -q 'Importing c8: extracting'"
check "copy" bash -c "$(declare -f on_terminal); on_terminal '$vessel_bin' copy c8 c9 | grep -q 'Copying c9: copying the instance.s files'"
check "no progress line when stderr is not a terminal" bash -c "[[ -z \$('$vessel_bin' copy c8 c10 2>&1) ]]"
check "delete c8, c9 and c10" bash -c "'$vessel_bin' delete c8 && '$vessel_bin' delete c9 && '$vessel_bin' delete c10"

# --- Hostile archives: each refused with a message that names the problem, nothing left behind.
# Each is a copy of c1's export with one thing changed (tests/integration/manager/hostile_backup.py).
hostile() { python3 "$(dirname "$0")/hostile_backup.py" "$backups/c1.tar.gz" "$backups/$1.tar" "$1"; }
expect_hostile() {  # expect_hostile KIND EXPECTED-TEXT
  local kind=$1 text=$2
  hostile "$kind" || { failed "make the $kind archive"; return; }
  expect_error "a $kind archive is refused" "$text" "$vessel_bin" import "$backups/$kind.tar" evil
  check "nothing of the $kind archive is left" no_import_leftovers evil
}
expect_hostile traversal "'..' components are not allowed"
expect_hostile absolute "absolute paths are not allowed"
expect_hostile symlink-out "symlink"
check "nothing was written through the symlink" test ! -e /etc/vessel-export-evil
expect_hostile device "device nodes are not allowed"
expect_hostile size-bomb "the archive holds more than the"
expect_hostile entry-bomb "the archive holds more than the"
expect_hostile huge-claim "bytes free"
expect_hostile outside "is outside the backup's sections"
expect_hostile unknown-snapshot "snapshot ghost is not in index.json"
expect_hostile hardlink-out "hard link out of its own section"
expect_hostile bad-name "index.json.instance.name"
expect_hostile bad-config "limits.memory"
expect_hostile newer-format "format version 99 is not one this vesseld reads"
expect_hostile no-index "its first member is not index.json"
expect_hostile image-kernel-escape "is not a file name inside the image"
check "and no image was added by them" test "$(container_images)" = 1

# --- kill -9 (crash points) of vesseld during an import and an export: nothing is left.
crash_at import-created "$vessel_bin" import "$backups/c1.tar.gz" c4
check "the import cut short is rolled back" nothing_left c4
crash_at export-written "$vessel_bin" export c1 "$backups/crash.tar.gz"
check "the export cut short left no file" bash -c "[[ -z \$(ls -A '$backups' | grep -e crash -e partial) ]]"
check "c1 is fine after both" bash -c "'$vessel_bin' start c1 2>/dev/null; [[ \$('$vessel_bin' exec c1 -- cat /root/data) == two ]]"

# --- A VM: its disk, sparse, with a snapshot.
check "launch the riscv64 VM" "$vessel_bin" launch riscv64/busybox rv1 --vm -c limits.memory=128MiB
check "write a file on its disk" "$vessel_bin" exec rv1 -- sh -c 'echo one >/root/data && sync'
check "snapshot s1" "$vessel_bin" snapshot create rv1 s1
check "change the file" "$vessel_bin" exec rv1 -- sh -c 'echo two >/root/data && sync'
check "stop it and grow its disk to 10 GiB" bash -c "'$vessel_bin' stop rv1 && '$vessel_bin' config set rv1 limits.disk=10GiB"
start_ms=$(date +%s%3N)
check "export the VM" "$vessel_bin" export rv1 "$backups/rv1.tar.gz"
echo "# export of a VM with a 10 GiB sparse disk: $(( $(date +%s%3N) - start_ms )) ms, archive $(( $(stat -c %s "$backups/rv1.tar.gz") >> 20 )) MiB"
check "the archive is small (the disk's holes are not in it)" bash -c "(( \$(stat -c %s '$backups/rv1.tar.gz') < 64 << 20 ))"
check "delete rv1" "$vessel_bin" delete rv1
check "import it as rv2" "$vessel_bin" import "$backups/rv1.tar.gz" rv2
check "its disk is 10 GiB and sparse" bash -c "(( \$(stat -c %s $state/instances/rv2/root.img) == 10 << 30 && \$(stat -c %b $state/instances/rv2/root.img) * 512 < 128 << 20 ))"
check "its config came back" test "$("$vessel_bin" config get rv2 limits.disk)" = 10GiB
check "start rv2" "$vessel_bin" start rv2
check "the guest sees the file of the export" bash -c "[[ \$('$vessel_bin' exec rv2 -- cat /root/data) == two ]]"
check "stop it and restore its snapshot" bash -c "'$vessel_bin' stop rv2 && '$vessel_bin' snapshot restore rv2 s1 && '$vessel_bin' start rv2"
check "the guest sees the file of the snapshot" bash -c "[[ \$('$vessel_bin' exec rv2 -- cat /root/data) == one ]]"
check "delete rv2" "$vessel_bin" delete --force rv2
check "nothing of rv2 is left" nothing_left rv2

finish
