// The first member of an instance backup (`vessel export`, docs/backup-format.md): index.json says
// what the archive holds (the instance, its image, its snapshots, each with its config) and how
// much (data bytes and entries), so that an import checks the free space before it writes anything
// and stops at once when the archive holds more than it declared. A backup is input from outside,
// as an image tarball is: parse_backup_index validates every field the import acts on.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "manager/instance/config.h"
#include "manager/instance/model.h"

namespace vessel::manager {

inline constexpr std::string_view backup_index_member = "index.json";
inline constexpr std::string_view backup_format_name = "vessel-instance-backup";
// Bump on any change an older vesseld could misread; an import refuses a version it does not know.
inline constexpr int backup_format_version = 1;
// index.json is small; a larger first member is refused before it is read whole.
inline constexpr uint64_t backup_index_max_bytes = 1 << 20;

struct BackupSnapshot {
    std::string name;
    InstanceConfig config;
    int64_t created_at = 0;
};

struct BackupImage {
    std::string fingerprint;  // on the exporting host: 64 hex digits
    std::string description;
    std::vector<std::string> aliases;
};

struct BackupIndex {
    std::string name;
    InstanceKind kind = InstanceKind::container;
    InstanceConfig config;
    int64_t created_at = 0;
    BackupImage image;
    std::vector<BackupSnapshot> snapshots;  // empty for --instance-only
    // What the members after index.json hold: bytes of file data (holes of sparse files not
    // counted) and the number of members.
    uint64_t data_bytes = 0;
    uint64_t entries = 0;
    int64_t exported_at = 0;
};

Json backup_index_json(const BackupIndex& index);

// EINVAL naming the field for anything an import would not act on safely: another format or
// version, an invalid instance, snapshot or alias name, a config that does not parse for the kind,
// a fingerprint that is not 64 hex digits, two snapshots of one name.
Result<BackupIndex> parse_backup_index(std::string_view text);

// Whether an image alias from a backup can be used here as it is (the import drops one that
// cannot, or that is taken).
bool valid_image_alias(std::string_view alias);

}  // namespace vessel::manager
