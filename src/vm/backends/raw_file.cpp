#include "vm/backends/raw_file.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

namespace vessel::vm {

namespace {

// preadv/pwritev until the whole transfer is done (they may stop early, at IOV_MAX or a signal).
template <typename Call>
Result<> transfer(Call call, uint64_t offset, std::span<const iovec> buffers, const char* what,
                  const std::string& path) {
    std::vector<iovec> rest(buffers.begin(), buffers.end());
    size_t first = 0;
    while (first < rest.size()) {
        int count = static_cast<int>(std::min<size_t>(rest.size() - first, IOV_MAX));
        ssize_t done = call(rest.data() + first, count, static_cast<off_t>(offset));
        if (done < 0 && errno == EINTR) continue;
        if (done < 0) return fail_errno(fmt::format("{} {} at {}", what, path, offset));
        if (done == 0) return fail("{} {} at {}: unexpected end of file", what, path, offset);
        offset += static_cast<uint64_t>(done);
        size_t left = static_cast<size_t>(done);
        while (first < rest.size() && left >= rest[first].iov_len)
            left -= rest[first++].iov_len;
        if (left > 0) {
            rest[first].iov_base = static_cast<uint8_t*>(rest[first].iov_base) + left;
            rest[first].iov_len -= left;
        }
    }
    return {};
}

}  // namespace

Result<std::unique_ptr<RawFileBackend>> RawFileBackend::open(const std::string& path,
                                                             bool read_only) {
    // O_NONBLOCK: opening a FIFO must not hang; it is refused below.
    int flags = (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NONBLOCK | O_NOCTTY;
    UniqueFd fd(::open(path.c_str(), flags));
    if (!fd) return fail_errno(fmt::format("disk {}", path));
    struct stat info {};
    if (::fstat(fd.get(), &info) != 0) return fail_errno(fmt::format("disk {}", path));
    if (!S_ISREG(info.st_mode)) return fail("disk {}: not a regular file", path);
    ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK);
    // An open file description lock: released when the VMM exits however it exits, and not shared
    // with children the way a process's POSIX locks would be lost.
    struct flock lock {};
    lock.l_type = read_only ? F_RDLCK : F_WRLCK;
    lock.l_whence = SEEK_SET;
    if (::fcntl(fd.get(), F_OFD_SETLK, &lock) != 0) {
        if (errno == EAGAIN || errno == EACCES)
            return fail("disk {}: in use by another VM ({} lock held)", path,
                        read_only ? "a write" : "a");
        return fail_errno(fmt::format("disk {}: lock", path));
    }
    return std::unique_ptr<RawFileBackend>(
        new RawFileBackend(std::move(fd), static_cast<uint64_t>(info.st_size), read_only, path));
}

Result<> RawFileBackend::read(uint64_t offset, std::span<const iovec> buffers) {
    return transfer([&](const iovec* vectors, int count,
                        off_t at) { return ::preadv(fd_.get(), vectors, count, at); },
                    offset, buffers, "read", path_);
}

Result<> RawFileBackend::write(uint64_t offset, std::span<const iovec> buffers) {
    if (read_only_) return fail_errno(EROFS, fmt::format("write {}", path_));
    return transfer([&](const iovec* vectors, int count,
                        off_t at) { return ::pwritev(fd_.get(), vectors, count, at); },
                    offset, buffers, "write", path_);
}

Result<> RawFileBackend::flush() {
    if (::fdatasync(fd_.get()) != 0) return fail_errno(fmt::format("fdatasync {}", path_));
    return {};
}

Result<> RawFileBackend::discard(uint64_t offset, uint64_t length) {
    if (read_only_) return fail_errno(EROFS, fmt::format("discard {}", path_));
    if (::fallocate(fd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                    static_cast<off_t>(offset), static_cast<off_t>(length)) != 0)
        return fail_errno(fmt::format("discard {} at {}", path_, offset));
    return {};
}

Result<> RawFileBackend::write_zeroes(uint64_t offset, uint64_t length, bool unmap) {
    if (read_only_) return fail_errno(EROFS, fmt::format("write zeroes {}", path_));
    int mode = unmap ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE
                     : FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
    if (::fallocate(fd_.get(), mode, static_cast<off_t>(offset), static_cast<off_t>(length)) == 0)
        return {};
    if (errno != EOPNOTSUPP) return fail_errno(fmt::format("write zeroes {} at {}", path_, offset));
    // A filesystem without the fallocate mode: write the zeroes.
    static const std::vector<uint8_t> zeroes(1 << 20);
    while (length > 0) {
        size_t chunk = std::min<uint64_t>(length, zeroes.size());
        iovec vector{.iov_base = const_cast<uint8_t*>(zeroes.data()), .iov_len = chunk};
        TRY(write(offset, std::span(&vector, 1)));
        offset += chunk;
        length -= chunk;
    }
    return {};
}

}  // namespace vessel::vm
