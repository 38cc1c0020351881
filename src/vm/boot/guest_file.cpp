#include "vm/boot/guest_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace vessel::vm {

namespace {

const char* kind_of(mode_t mode) {
    switch (mode & S_IFMT) {
        case S_IFCHR:
            return "a character device";
        case S_IFBLK:
            return "a block device";
        case S_IFIFO:
            return "a FIFO";
        case S_IFSOCK:
            return "a socket";
        case S_IFDIR:
            return "a directory";
        default:
            return "not a regular file";
    }
}

Result<uint64_t> check_file(const struct stat& status, const std::string& path,
                            std::string_view label, uint64_t limit, std::string_view limit_name) {
    if (!S_ISREG(status.st_mode))
        return fail("{}: {} is {}, not a regular file", label, path, kind_of(status.st_mode));
    auto size = static_cast<uint64_t>(status.st_size);
    if (size > limit)
        return fail("{}: {} is {} bytes, larger than {} ({} bytes)", label, path, size, limit_name,
                    limit);
    return size;
}

// Reads from offset 0 until `size` bytes or end of file; returns how many it read.
Result<size_t> read_fully(int fd, void* buffer, size_t size, const std::string& path,
                          std::string_view label) {
    size_t done = 0;
    while (done < size) {
        ssize_t got =
            ::pread(fd, static_cast<char*>(buffer) + done, size - done, static_cast<off_t>(done));
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return fail_errno(fmt::format("{}: reading {}", label, path));
        if (got == 0) break;
        done += static_cast<size_t>(got);
    }
    return done;
}

}  // namespace

Result<GuestFile> open_guest_file(const std::string& path, std::string_view label, uint64_t limit,
                                  std::string_view limit_name) {
    // stat first so that a device node is never opened (opening some has side effects); the
    // descriptor is checked again, since the path may have been replaced in between. O_NONBLOCK
    // keeps the open itself from waiting for a FIFO's writer.
    struct stat status {};
    if (::stat(path.c_str(), &status) != 0) return fail_errno(fmt::format("{}: {}", label, path));
    TRY(check_file(status, path, label, limit, limit_name));
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
    if (!fd) return fail_errno(fmt::format("{}: {}", label, path));
    if (::fstat(fd.get(), &status) != 0) return fail_errno(fmt::format("{}: {}", label, path));
    uint64_t size = TRY(check_file(status, path, label, limit, limit_name));
    return GuestFile{std::move(fd), size};
}

Result<std::string> read_guest_file(const std::string& path, std::string_view label, uint64_t limit,
                                    std::string_view limit_name) {
    GuestFile file = TRY(open_guest_file(path, label, limit, limit_name));
    std::string data(file.size, '\0');
    size_t done = TRY(read_fully(file.fd.get(), data.data(), data.size(), path, label));
    data.resize(done);  // it shrank meanwhile
    // Something still writing the file: refused rather than read past the size checked above.
    char probe = 0;
    if (done == file.size && ::pread(file.fd.get(), &probe, 1, static_cast<off_t>(done)) > 0)
        return fail("{}: {} grew while it was read", label, path);
    return data;
}

Result<std::vector<uint8_t>> read_guest_file_head(const std::string& path, std::string_view label,
                                                  uint64_t limit, size_t bytes) {
    GuestFile file = TRY(open_guest_file(path, label, limit));
    std::vector<uint8_t> head(std::min<uint64_t>(bytes, file.size));
    head.resize(TRY(read_fully(file.fd.get(), head.data(), head.size(), path, label)));
    return head;
}

}  // namespace vessel::vm
