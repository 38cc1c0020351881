#include "manager/instance/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <random>

#include "base/file.h"
#include "base/log.h"
#include "base/safe_path.h"

namespace vessel::manager {

namespace {

std::string parent_of(const std::string& path) {
    auto slash = path.rfind('/');
    return slash == 0 ? "/" : path.substr(0, slash);
}

std::string leaf_of(const std::string& path) {
    return path.substr(path.rfind('/') + 1);
}

}  // namespace

Result<> check_instance_file_path(const std::string& path) {
    if (path.empty() || path[0] != '/')
        return fail_errno(EINVAL, fmt::format("path '{}' must be absolute", single_line(path)));
    if (path.size() > 4096) return fail_errno(ENAMETOOLONG, "path is over 4096 bytes");
    if (path.find('\0') != std::string::npos)
        return fail_errno(EINVAL, "path holds a NUL character");
    auto leaf = leaf_of(path);
    if (leaf.empty() || leaf == "." || leaf == "..")
        return fail_errno(EINVAL, fmt::format("path '{}' does not name a file", single_line(path)));
    return {};
}

Result<PushInRoot> PushInRoot::begin(int root_fd, const std::string& path, bool parents) {
    TRY(check_instance_file_path(path));
    auto where = single_line(path);
    auto parent_path = parent_of(path);
    auto leaf = leaf_of(path);
    UniqueFd parent;
    if (parents) {
        parent = TRY(with_context(make_directories_in_root(root_fd, parent_path),
                                  fmt::format("push {}", where)));
    } else {
        auto opened = open_in_root(root_fd, parent_path, O_PATH | O_DIRECTORY);
        if (!opened)
            return fail_errno(opened.error().code(),
                              fmt::format("push {}: the directory {} does not exist (or is not a "
                                          "directory)",
                                          where, single_line(parent_path)));
        parent = std::move(*opened);
    }
    struct stat existing {};
    if (::fstatat(parent.get(), leaf.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISDIR(existing.st_mode))
        return fail_errno(EISDIR, fmt::format("push {}: is a directory", where));

    std::random_device random;
    auto temporary = fmt::format(".{}.vessel-push.{:08x}", leaf.substr(0, 200), random());
    UniqueFd out(::openat(parent.get(), temporary.c_str(),
                          O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out) return fail_errno(fmt::format("push {}: create a file beside it", where));
    return PushInRoot(std::move(parent), std::move(out), std::move(temporary), std::move(leaf),
                      std::move(where));
}

PushInRoot::~PushInRoot() {
    if (!temporary_.empty() && parent_) ::unlinkat(parent_.get(), temporary_.c_str(), 0);
}

Result<> PushInRoot::write(std::string_view bytes) {
    TRY(with_context(write_all(out_.get(), bytes), fmt::format("push {}", where_)));
    written_ += bytes.size();
    return {};
}

Result<uint64_t> PushInRoot::commit(const FileMeta& meta) {
    if (::fchown(out_.get(), meta.uid, meta.gid) != 0)
        return fail_errno(fmt::format("push {}: set its owner", where_));
    // After fchown, which clears the set-id bits.
    if (::fchmod(out_.get(), meta.mode & 07777) != 0)
        return fail_errno(fmt::format("push {}: set its mode", where_));
    if (::fsync(out_.get()) != 0) return fail_errno(fmt::format("push {}: fsync", where_));
    if (::renameat(parent_.get(), temporary_.c_str(), parent_.get(), leaf_.c_str()) != 0)
        return fail_errno(fmt::format("push {}", where_));
    temporary_.clear();
    return written_;
}

Result<uint64_t> push_into_root(int root_fd, const PushedFile& file) {
    auto push = TRY(PushInRoot::begin(root_fd, file.path, file.parents));
    TRY(push.write(file.content));
    return push.commit(file.meta);
}

Result<OpenedForPull> open_for_pull(int root_fd, const std::string& path) {
    TRY(check_instance_file_path(path));
    auto where = single_line(path);
    auto opened = open_in_root(root_fd, path, O_RDONLY | O_NONBLOCK);
    if (!opened)
        return fail_errno(opened.error().code(),
                          fmt::format("pull {}: {}", where, std::strerror(opened.error().code())));
    auto in = std::move(*opened);
    struct stat info {};
    if (::fstat(in.get(), &info) != 0) return fail_errno(fmt::format("pull {}: stat", where));
    if (S_ISDIR(info.st_mode))
        return fail_errno(EISDIR, fmt::format("pull {}: is a directory", where));
    if (!S_ISREG(info.st_mode))
        return fail_errno(EINVAL, fmt::format("pull {}: not a regular file", where));
    return OpenedForPull{.file = std::move(in),
                         .meta = {.mode = static_cast<mode_t>(info.st_mode & 07777),
                                  .uid = info.st_uid,
                                  .gid = info.st_gid},
                         .size = static_cast<uint64_t>(info.st_size)};
}

Result<PulledFile> pull_from_root(int root_fd, const std::string& path) {
    auto opened = TRY(open_for_pull(root_fd, path));
    auto where = single_line(path);
    if (opened.size > max_file_transfer_bytes)
        return fail_errno(EFBIG, fmt::format("pull {}: {} bytes is over the limit of {} MiB", where,
                                             opened.size, max_file_transfer_bytes >> 20));
    PulledFile pulled{.meta = opened.meta, .content = {}};
    pulled.content = TRY(with_context(read_fd(opened.file.get()), fmt::format("pull {}", where)));
    if (pulled.content.size() > max_file_transfer_bytes)
        return fail_errno(EFBIG, fmt::format("pull {}: grew over the limit of {} MiB", where,
                                             max_file_transfer_bytes >> 20));
    return pulled;
}

}  // namespace vessel::manager
