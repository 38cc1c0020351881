// Writes an instance backup (docs/backup-format.md): a tar archive in the pax format (long names,
// extended attributes, sizes past 8 GiB, sparse files with their holes left out), index.json
// first, then each tree under its name in the archive. The trees are vesseld's own files, taken
// while nothing writes them (a snapshot of the instance, its snapshots, its image).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/error.h"
#include "manager/cancel.h"

namespace vessel::manager {

// A directory tree (or one file) and the name it gets in the archive ("instance", "snapshots/s1").
struct BackupTree {
    std::string archive_name;
    std::string path;
};

struct BackupSize {
    uint64_t data_bytes = 0;  // file data, holes of sparse files not counted
    uint64_t entries = 0;
};

enum class BackupCompression { none, gzip, zstd, xz };

// From the file name: .tar.gz or .tgz (also the default, as Incus), .tar.zst, .tar.xz, .tar.
// EINVAL for another ending that names a compression ("backup.zip").
Result<BackupCompression> backup_compression_for(const std::string& file_name);

// What write_backup will write for these trees. EINVAL naming the file for what a backup does not
// carry: a device node other than an overlay whiteout (character device 0:0).
Result<BackupSize> measure_backup(const std::vector<BackupTree>& trees);

struct BackupWriteOptions {
    BackupCompression compression = BackupCompression::gzip;
    // Called as file data is written, with the bytes written so far.
    std::function<void(uint64_t)> progress;
    Cancellation cancel;
};

// Writes the archive to `out` (a new file the caller renames into place when this succeeds).
Result<> write_backup(int out, const std::string& index_json, const std::vector<BackupTree>& trees,
                      const BackupWriteOptions& options);

}  // namespace vessel::manager
