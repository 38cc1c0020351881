#include "base/safe_path.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace vessel {

namespace {

long openat2_call(int dirfd, const char* path, int flags, mode_t mode, uint64_t resolve) {
    open_how how{};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
    // The kernel rejects a mode together with flags that create nothing.
    how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
    how.resolve = resolve;
    long fd;
    do {
        fd = ::syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    } while (fd < 0 && (errno == EAGAIN || errno == EINTR));
    return fd;
}

constexpr uint64_t kInRoot = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;

}  // namespace

std::string relative_clean_path(std::string_view path) {
    std::string clean;
    size_t position = 0;
    while (position < path.size()) {
        size_t end = path.find('/', position);
        if (end == std::string_view::npos) end = path.size();
        std::string_view part = path.substr(position, end - position);
        if (!part.empty() && part != ".") {
            if (!clean.empty()) clean += '/';
            clean += part;
        }
        position = end + 1;
    }
    return clean;
}

Result<UniqueFd> open_in_root(int root_fd, std::string_view path, int flags, mode_t mode) {
    std::string relative = relative_clean_path(path);
    const char* target = relative.empty() ? "." : relative.c_str();
    long fd = openat2_call(root_fd, target, flags, mode, kInRoot);
    if (fd < 0) return fail_errno(fmt::format("open {} inside the root", path));
    return UniqueFd(static_cast<int>(fd));
}

namespace {

// Symlinks followed while creating one path; past this the path is taken to be a loop (as ELOOP).
constexpr int kMaxSymlinkDepth = 40;

Result<UniqueFd> make_directories_within(int root_fd, const std::string& relative, mode_t mode,
                                         int depth) {
    if (depth > kMaxSymlinkDepth)
        return fail_errno(ELOOP, "create " + relative + " inside the root");
    UniqueFd current = TRY(open_in_root(root_fd, ".", O_PATH | O_DIRECTORY));
    std::string prefix;
    size_t position = 0;
    while (position < relative.size()) {
        size_t end = relative.find('/', position);
        if (end == std::string::npos) end = relative.size();
        std::string name = relative.substr(position, end - position);
        std::string parent = prefix;
        prefix = prefix.empty() ? name : prefix + "/" + name;
        position = end + 1;
        // mkdirat through the already confined parent.
        if (::mkdirat(current.get(), name.c_str(), mode) != 0 && errno != EEXIST)
            return fail_errno(fmt::format("mkdir {} inside the root", prefix));
        auto opened = open_in_root(root_fd, prefix, O_PATH | O_DIRECTORY);
        if (!opened && opened.error().code() == ENOENT) {
            // A dangling symlink: create its target, resolved inside the root, then go through it.
            char target[4096];
            ssize_t length = ::readlinkat(current.get(), name.c_str(), target, sizeof target - 1);
            if (length < 0) return std::unexpected(opened.error());
            target[length] = '\0';
            std::string link_target = target[0] == '/'
                                          ? std::string(target)
                                          : (parent.empty() ? "" : parent + "/") + target;
            TRY(make_directories_within(root_fd, relative_clean_path(link_target), mode,
                                        depth + 1));
            opened = open_in_root(root_fd, prefix, O_PATH | O_DIRECTORY);
        }
        current = TRY(std::move(opened));
    }
    return current;
}

}  // namespace

Result<UniqueFd> make_directories_in_root(int root_fd, std::string_view path, mode_t mode) {
    return make_directories_within(root_fd, relative_clean_path(path), mode, 0);
}

Result<UniqueFd> make_file_in_root(int root_fd, std::string_view path, mode_t mode) {
    std::string relative = relative_clean_path(path);
    auto slash = relative.rfind('/');
    std::string parent = slash == std::string::npos ? "" : relative.substr(0, slash);
    std::string name = slash == std::string::npos ? relative : relative.substr(slash + 1);
    if (name.empty()) return fail("{}: not a file path", path);
    UniqueFd directory = TRY(make_directories_in_root(root_fd, parent));
    // Create through the confined parent without following a final symlink.
    UniqueFd opened = TRY(open_in_root(root_fd, parent, O_RDONLY | O_DIRECTORY));
    int fd =
        ::openat(opened.get(), name.c_str(), O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0 && errno != EISDIR && errno != ELOOP && errno != ENXIO && errno != EACCES &&
        errno != ETXTBSY)
        return fail_errno(fmt::format("create {} inside the root", path));
    if (fd >= 0) ::close(fd);
    return open_in_root(root_fd, relative, O_PATH);
}

std::string fd_path(int fd) {
    return fmt::format("/proc/self/fd/{}", fd);
}

}  // namespace vessel
