#include "base/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace vessel {

Result<UniqueFd> open_file(const std::string& path, int flags, mode_t mode) {
    return open_at(AT_FDCWD, path, flags, mode);
}

Result<UniqueFd> open_at(int dirfd, const std::string& path, int flags, mode_t mode) {
    int fd = ::openat(dirfd, path.c_str(), flags | O_CLOEXEC, mode);
    if (fd < 0) return fail_errno("open " + path);
    return UniqueFd(fd);
}

Result<std::string> read_fd(int fd) {
    std::string data;
    char buffer[8192];
    for (;;) {
        ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_errno("read");
        }
        if (n == 0) break;
        data.append(buffer, static_cast<size_t>(n));
    }
    return data;
}

Result<std::string> read_file(const std::string& path) {
    auto fd = TRY(open_file(path, O_RDONLY));
    return with_context(read_fd(fd.get()), path);
}

Result<> write_all(int fd, std::string_view data) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_errno("write");
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
    return {};
}

Result<> write_existing_file(const std::string& path, std::string_view data) {
    auto fd = TRY(open_file(path, O_WRONLY | O_TRUNC));
    return with_context(write_all(fd.get(), data), "write " + path);
}

Result<> write_file_atomic(const std::string& path, std::string_view data, mode_t mode) {
    std::string temporary = path + ".tmp." + std::to_string(::getpid());
    {
        auto fd = TRY(open_file(temporary, O_WRONLY | O_CREAT | O_TRUNC, mode));
        if (auto written = write_all(fd.get(), data); !written) {
            ::unlink(temporary.c_str());
            return std::unexpected(written.error().context("write " + temporary));
        }
        if (::fsync(fd.get()) != 0) {
            int saved = errno;
            ::unlink(temporary.c_str());
            return fail_errno(saved, "fsync " + temporary);
        }
    }
    if (::rename(temporary.c_str(), path.c_str()) != 0) {
        int saved = errno;
        ::unlink(temporary.c_str());
        return fail_errno(saved, "rename " + temporary + " to " + path);
    }
    return {};
}

Result<> make_directories(const std::string& path, mode_t mode) {
    if (path.empty()) return {};
    std::string prefix;
    size_t position = 0;
    while (position != std::string::npos) {
        position = path.find('/', position + 1);
        prefix = path.substr(0, position);
        if (prefix.empty()) continue;
        if (::mkdir(prefix.c_str(), mode) != 0 && errno != EEXIST)
            return fail_errno("mkdir " + prefix);
    }
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) return fail_errno("stat " + path);
    if (!S_ISDIR(info.st_mode)) return fail(path + ": exists and is not a directory");
    return {};
}

bool path_exists(const std::string& path) {
    struct stat info {};
    return ::lstat(path.c_str(), &info) == 0;
}

}  // namespace vessel
