// The files of instance snapshots (docs/instance-layout.md): <instance>/snapshots/<name>/ holds a
// copy of what the instance writes (a container's overlay upper directory, a VM's root disk). A
// snapshot is made in a hidden directory and renamed into place when whole, so a directory with a
// snapshot's name is always a complete one; what a crash leaves half-made is hidden and removed at
// the next start (remove_snapshot_leftovers).
#pragma once

#include <string>
#include <vector>

#include "base/error.h"

namespace vessel::manager {

// <instance_dir>/snapshots
std::string snapshots_directory(const std::string& instance_dir);
// Where the snapshot `name` is made before it is whole: a hidden name no snapshot can have.
std::string snapshot_staging_directory(const std::string& instance_dir, const std::string& name);

// Where `vessel export` takes the instance's files (frozen if it runs) before it archives them.
std::string export_staging_directory(const std::string& instance_dir);
// Where an export records the partial file it writes (backup/partial_file.h).
std::string export_marker(const std::string& instance_dir);

// Copies the directory tree `from` to `to` (which must not exist) exactly: owners, modes, times,
// extended attributes (an overlay's trusted.overlay.* included), hard links, device nodes (an
// overlay's whiteouts), sharing blocks by reflink where the filesystem can. On failure nothing of
// `to` is left.
Result<> copy_tree_exactly(const std::string& from, const std::string& to);

// Replaces the directory `target` with the directory `replacement` in one step (renameat2
// RENAME_EXCHANGE), then removes what was `target`: at every moment `target` is whole, the old
// tree or the new one.
Result<> exchange_directory(const std::string& replacement, const std::string& target);

// Where a restore builds the replacement of `target` (a container's upper directory, a VM's root
// disk) before it swaps it in.
std::string restore_replacement(const std::string& target);

// Removes from `instance_dir` what a snapshot, restore or copy that did not finish left behind
// (hidden staging directories, a restore's replacement, an export's staging), and the snapshot
// directories whose names are not in `kept` (a row deleted before its files were). Returns what it
// removed.
Result<std::vector<std::string>> remove_snapshot_leftovers(const std::string& instance_dir,
                                                           const std::vector<std::string>& kept);

}  // namespace vessel::manager
