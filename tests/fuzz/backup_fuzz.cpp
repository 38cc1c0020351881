// `vessel import`'s reading of a backup (src/manager/backup/) with whatever the archive holds: an
// index.json of any shape, names with ".." or absolute, members outside the sections or out of
// order, symlinks and hard links pointing out, device nodes, more data than declared. Each run
// extracts into fresh section directories beside a decoy directory holding one file; afterwards
// the decoy must be untouched and nothing else may exist beside the two, whatever the import
// returned. The directory is removed after each run.
#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "manager/backup/backup_index.h"
#include "manager/backup/backup_reader.h"

using namespace vessel;
using namespace vessel::manager;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kDecoyText = "decoy";

class Scratch {
  public:
    Scratch() {
        char pattern[] = "/tmp/vessel-fuzz-backup-XXXXXX";
        if (!::mkdtemp(pattern)) std::abort();
        path_ = pattern;
        fs::create_directory(path_ + "/root");
        fs::create_directory(path_ + "/outside");
        std::ofstream(path_ + "/outside/file") << kDecoyText;
    }
    ~Scratch() {
        std::error_code ignored;
        for (auto it = fs::recursive_directory_iterator(path_, ignored);
             it != fs::recursive_directory_iterator(); it.increment(ignored))
            if (it->is_directory(ignored) && !it->is_symlink(ignored))
                fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ignored);
        fs::remove_all(path_, ignored);
    }
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

void check_nothing_escaped(const std::string& scratch) {
    std::error_code error;
    for (const auto& entry : fs::directory_iterator(scratch, error)) {
        auto name = entry.path().filename().string();
        if (name != "root" && name != "outside") std::abort();
    }
    size_t entries = 0;
    for (const auto& entry : fs::directory_iterator(scratch + "/outside", error)) {
        (void)entry;
        ++entries;
    }
    auto status = fs::symlink_status(scratch + "/outside/file", error);
    if (entries != 1 || !fs::is_regular_file(status) ||
        fs::hard_link_count(scratch + "/outside/file", error) != 1)
        std::abort();
    std::ifstream in(scratch + "/outside/file");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text != kDecoyText) std::abort();
}

}  // namespace

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
    Scratch scratch;
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
    check_nothing_escaped(scratch.path());
    return 0;
}
