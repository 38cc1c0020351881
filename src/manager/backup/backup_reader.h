// Reads an instance backup (docs/backup-format.md) as hostile input, the way an image tarball is
// read: every member's name is checked (no absolute path, no "..", only the sections index.json
// announces, in their order), no member writes through a symlink another planted, no device node
// but an overlay whiteout in a container's files, only the extended attributes an instance uses,
// and never more data or members than index.json declared (which the caller checked against the
// free space first): a size bomb stops at its first byte too many.
#pragma once

#include <archive.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "manager/cancel.h"

namespace vessel::manager {

// The parts of a backup, in the order they come: "image/...", "instance/...", then
// "snapshots/NAME/..." for each snapshot.
struct BackupSection {
    enum class Part { image, instance, snapshot };
    Part part = Part::image;
    std::string snapshot;  // for Part::snapshot
};

struct BackupExtraction {
    // Called at the first member of each section: the directory (which exists) its members go
    // into, or nullopt to read them without keeping anything (an image this host already has).
    std::function<Result<std::optional<std::string>>(const BackupSection&)> directory_for;
    // Called once the image section is whole (its directory's modes and times set), with its
    // digest (BackupContents::image_digest), before the next section's directory_for.
    std::function<Result<>(const std::string& digest)> image_complete;
    // The snapshots index.json lists, in its order; a member of another is refused.
    std::vector<std::string> snapshots;
    // A container's files may hold overlay whiteouts (character devices 0:0) and opaque
    // directories; a VM's files and every image hold neither.
    bool overlay_files = false;
    // What index.json declared.
    uint64_t max_data_bytes = 0;
    uint64_t max_entries = 0;
    std::function<void(uint64_t data_bytes)> progress;
    Cancellation cancel;
};

struct BackupContents {
    // SHA-256 of the image section's members (names, types, modes, owners, links, extended
    // attributes and data), hex: what the image is, whatever the exporting host called it.
    std::string image_digest;
    bool had_instance = false;
    std::vector<std::string> snapshots;  // those that had members, in order
    uint64_t data_bytes = 0;
    uint64_t entries = 0;
};

class BackupReader {
  public:
    static Result<BackupReader> open(const std::string& path);
    // A reader over bytes in memory (the fuzz target's input).
    static Result<BackupReader> open_memory(const void* data, size_t size);

    // The first member, which must be index.json (EINVAL otherwise).
    Result<std::string> read_index();
    // The members after index.json.
    Result<BackupContents> extract(const BackupExtraction& plan);

  private:
    struct Deleter {
        void operator()(archive* a) const { archive_read_free(a); }
    };
    BackupReader(std::unique_ptr<archive, Deleter> reader, std::string source)
        : reader_(std::move(reader)), source_(std::move(source)) {}

    std::unique_ptr<archive, Deleter> reader_;
    std::string source_;
};

}  // namespace vessel::manager
