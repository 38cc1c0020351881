// `vessel import`'s reading of a backup (src/manager/backup/) with whatever the archive holds: an
// index.json of any shape, names with ".." or absolute, members outside the sections or out of
// order, symlinks and hard links pointing out, device nodes, more data than declared. Each run
// extracts into fresh section directories beside a decoy directory holding one file; afterwards
// the decoy must be untouched and nothing else may exist beside the two, whatever the import
// returned. The directory is removed after each run.
#include <algorithm>
#include <filesystem>
#include <string>

#include "escape_scratch.h"
#include "manager/backup/backup_index.h"
#include "manager/backup/backup_reader.h"

using namespace vessel;
using namespace vessel::manager;
namespace fs = std::filesystem;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto reader = BackupReader::open_memory(data, size);
    if (!reader) return 0;
    auto text = reader->read_index();
    if (!text) return 0;
    // A valid index sets the bounds and sections as an import would; an invalid one is read on
    // with small bounds, so that the reader meets every kind of member either way.
    BackupExtraction plan{.max_data_bytes = 1 << 20, .max_entries = 256};
    if (auto index = parse_backup_index(*text)) {
        for (const auto& snapshot : index->snapshots)
            plan.snapshots.push_back(snapshot.name);
        plan.overlay_files = index->kind == InstanceKind::container;
        plan.max_data_bytes = std::min<uint64_t>(index->data_bytes, 16 << 20);
        plan.max_entries = std::min<uint64_t>(index->entries, 4096);
        if (parse_backup_index(backup_index_json(*index).dump()).value_or(BackupIndex{}).name !=
            index->name)
            std::abort();  // what the index says survives a round trip
    }
    fuzz::Scratch scratch;
    int sections = 0;
    plan.directory_for = [&](const BackupSection&) -> Result<std::optional<std::string>> {
        auto directory = scratch.path() + "/root/" + std::to_string(sections++);
        if (!fs::create_directory(directory)) std::abort();
        return std::optional<std::string>(directory);
    };
    plan.image_complete = [&](const std::string& digest) -> Result<> {
        if (digest.size() != 64) std::abort();
        return {};
    };
    auto contents = reader->extract(plan);
    if (contents &&
        (contents->data_bytes > plan.max_data_bytes || contents->entries > plan.max_entries))
        std::abort();
    fuzz::check_nothing_escaped(scratch.path());
    return 0;
}
