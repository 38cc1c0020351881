#include "manager/instance/snapshot_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "base/file.h"
#include "base/process.h"
#include "manager/instance/instance.h"

namespace vessel::manager {

namespace {

// A restore's replacement beside what it replaces, and a staging directory: both start with '.',
// which no instance or snapshot name can (name.h).
constexpr const char* restore_suffix = ".restoring";

}  // namespace

std::string snapshots_directory(const std::string& instance_dir) {
    return instance_dir + "/snapshots";
}

std::string export_staging_directory(const std::string& instance_dir) {
    return instance_dir + "/.export-staging";
}

std::string export_marker(const std::string& instance_dir) {
    return instance_dir + "/.export-partial";
}

std::string snapshot_staging_directory(const std::string& instance_dir, const std::string& name) {
    return snapshots_directory(instance_dir) + "/.partial-" + name;
}

Result<> copy_tree_exactly(const std::string& from, const std::string& to) {
    if (path_exists(to)) return fail_errno(EEXIST, fmt::format("copy to {}: it exists", to));
    // GNU cp's -a keeps everything an overlay's upper directory holds (whiteouts are device
    // nodes, opaque directories and redirects are trusted.* attributes), which a hand-made walk
    // would have to get right case by case; --reflink=auto shares blocks on btrfs and XFS.
    auto copied =
        run_checked({"cp", "-a", "--reflink=auto", "--no-target-directory", "--", from, to},
                    std::chrono::hours(6));
    if (!copied) {
        (void)remove_instance_tree(to);
        return std::unexpected(copied.error().context(fmt::format("copy {} to {}", from, to)));
    }
    return {};
}

Result<> exchange_directory(const std::string& replacement, const std::string& target) {
    if (::syscall(SYS_renameat2, AT_FDCWD, replacement.c_str(), AT_FDCWD, target.c_str(),
                  RENAME_EXCHANGE) != 0)
        return fail_errno(fmt::format("exchange {} with {}", target, replacement));
    // `replacement` now names the old tree.
    return remove_instance_tree(replacement);
}

Result<std::vector<std::string>> remove_snapshot_leftovers(const std::string& instance_dir,
                                                           const std::vector<std::string>& kept) {
    std::vector<std::string> removed;
    auto remove = [&](const std::string& path) -> Result<> {
        TRY(remove_instance_tree(path));
        removed.push_back(path);
        return {};
    };
    for (const char* restored : {"upper", "root.img"}) {
        auto leftover = instance_dir + "/" + restored + restore_suffix;
        if (path_exists(leftover)) TRY(remove(leftover));
    }
    if (auto staging = export_staging_directory(instance_dir); path_exists(staging))
        TRY(remove(staging));
    auto snapshots = snapshots_directory(instance_dir);
    if (!path_exists(snapshots)) return removed;
    std::vector<std::string> names;
    {
        DIR* dir = ::opendir(snapshots.c_str());
        if (dir == nullptr) return fail_errno(fmt::format("open {}", snapshots));
        while (auto* entry = ::readdir(dir)) {
            std::string name = entry->d_name;
            if (name != "." && name != "..") names.push_back(name);
        }
        ::closedir(dir);
    }
    for (const auto& name : names)
        if (std::find(kept.begin(), kept.end(), name) == kept.end())
            TRY(remove(snapshots + "/" + name));
    return removed;
}

std::string restore_replacement(const std::string& target) {
    return target + restore_suffix;
}

}  // namespace vessel::manager
