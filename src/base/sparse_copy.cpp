#include "base/sparse_copy.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/file.h"

namespace vessel {

namespace {

// The data extents of `in`, copied at their offsets; what lies between stays a hole of `out`.
Result<> copy_extents(int in, int out, off_t size) {
    for (const auto& extent : TRY(data_extents(in, size))) {
        loff_t from = extent.offset, to = extent.offset;
        loff_t end = extent.offset + extent.length;
        while (from < end) {
            ssize_t n = ::copy_file_range(in, &from, out, &to, static_cast<size_t>(end - from), 0);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return fail_errno("copy_file_range");
            if (n == 0) return fail("the source became shorter while it was copied");
        }
    }
    // A trailing hole: the length says where the file ends.
    if (::ftruncate(out, size) != 0) return fail_errno("set the copy's size");
    return {};
}

}  // namespace

Result<std::vector<DataExtent>> data_extents(int fd, off_t size) {
    std::vector<DataExtent> extents;
    off_t position = 0;
    while (position < size) {
        off_t data = ::lseek(fd, position, SEEK_DATA);
        if (data < 0 && errno == ENXIO) break;  // only a hole remains
        if (data < 0) return fail_errno("seek to data");
        if (data >= size) break;
        off_t hole = ::lseek(fd, data, SEEK_HOLE);
        if (hole < 0) return fail_errno("seek to a hole");
        if (hole > size) hole = size;
        extents.push_back({.offset = data, .length = hole - data});
        position = hole;
    }
    return extents;
}

Result<> copy_sparse_file(const std::string& from, const std::string& to, mode_t mode) {
    auto in = TRY(open_file(from, O_RDONLY));
    struct stat info {};
    if (::fstat(in.get(), &info) != 0) return fail_errno("stat " + from);
    if (!S_ISREG(info.st_mode)) return fail(from + " is not a regular file");
    auto out = TRY(open_file(to, O_WRONLY | O_CREAT | O_EXCL, mode));
    auto copied = [&]() -> Result<> {
        if (::ioctl(out.get(), FICLONE, in.get()) != 0)
            TRY(copy_extents(in.get(), out.get(), info.st_size));
        if (::fchmod(out.get(), mode) != 0) return fail_errno("chmod");
        if (::fsync(out.get()) != 0) return fail_errno("fsync");
        return {};
    }();
    if (!copied) {
        ::unlink(to.c_str());
        return std::unexpected(copied.error().context(fmt::format("copy {} to {}", from, to)));
    }
    return {};
}

}  // namespace vessel
