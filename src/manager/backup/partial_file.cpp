#include "manager/backup/partial_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "base/file.h"

namespace vessel::manager {

namespace {

constexpr std::string_view partial_infix = ".vessel-partial-";

// "/dir/.c1.tar.gz.vessel-partial-": what every partial file of `target` starts with.
std::string partial_prefix(const std::string& target) {
    auto slash = target.rfind('/');
    return target.substr(0, slash + 1) + "." + target.substr(slash + 1) +
           std::string(partial_infix);
}

}  // namespace

Result<PartialFile> PartialFile::create(const std::string& target, const std::string& marker) {
    auto prefix = partial_prefix(target);
    TRY(write_file_atomic(marker, prefix, 0600));
    std::string path = prefix + "XXXXXX";
    int fd = ::mkstemp(path.data());
    if (fd < 0) {
        auto error = fail_errno(fmt::format("create {}", path));
        ::unlink(marker.c_str());
        return error;
    }
    ::fchmod(fd, 0600);
    return PartialFile(UniqueFd(fd), path, marker);
}

PartialFile::PartialFile(PartialFile&& other) noexcept
    : fd_(std::move(other.fd_)),
      path_(std::exchange(other.path_, {})),
      marker_(std::exchange(other.marker_, {})) {}

PartialFile::~PartialFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
    if (!marker_.empty()) ::unlink(marker_.c_str());
}

Result<> PartialFile::keep(const std::string& target) {
    if (::fsync(fd_.get()) != 0) return fail_errno(fmt::format("fsync {}", path_));
    if (::renameat2(AT_FDCWD, path_.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) != 0)
        return fail_errno(fmt::format("rename {} to {}", path_, target));
    path_.clear();
    return {};
}

Result<std::vector<std::string>> remove_unfinished_export(const std::string& marker) {
    std::vector<std::string> removed;
    if (!path_exists(marker)) return removed;
    auto prefix = TRY(read_file(marker));
    auto slash = prefix.rfind('/');
    // Only ever a name this code made: a marker of another shape removes nothing but itself.
    if (slash != std::string::npos && prefix.ends_with(partial_infix)) {
        auto directory = prefix.substr(0, slash);
        auto name_prefix = prefix.substr(slash + 1);
        if (DIR* dir = ::opendir(directory.empty() ? "/" : directory.c_str())) {
            while (auto* entry = ::readdir(dir)) {
                std::string_view name = entry->d_name;
                if (name.size() == name_prefix.size() + 6 && name.starts_with(name_prefix)) {
                    auto path = directory + "/" + std::string(name);
                    if (::unlink(path.c_str()) == 0) removed.push_back(path);
                }
            }
            ::closedir(dir);
        }
    }
    if (::unlink(marker.c_str()) != 0 && errno != ENOENT)
        return fail_errno(fmt::format("remove {}", marker));
    return removed;
}

}  // namespace vessel::manager
