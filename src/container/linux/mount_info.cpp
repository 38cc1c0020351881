#include "container/linux/mount_info.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <charconv>

#include "base/file.h"

namespace vessel::container::sys {

namespace {

// mountinfo escapes space, tab, newline and backslash as three octal digits.
std::string unescape_octal(std::string_view field) {
    std::string out;
    for (size_t i = 0; i < field.size(); ++i) {
        if (field[i] == '\\' && i + 3 < field.size() &&
            field.substr(i + 1, 3).find_first_not_of("01234567") == std::string_view::npos) {
            out += static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 +
                                     (field[i + 3] - '0'));
            i += 3;
        } else {
            out += field[i];
        }
    }
    return out;
}

}  // namespace

Result<uint64_t> mount_id_of(const std::string& path) {
    struct statx info {};
    if (::statx(AT_FDCWD, path.c_str(), AT_STATX_DONT_SYNC, STATX_MNT_ID, &info) != 0)
        return fail_errno("statx " + path);
    if (!(info.stx_mask & STATX_MNT_ID)) return fail("{}: the kernel reports no mount id", path);
    return info.stx_mnt_id;
}

Result<std::string> mount_point_in(std::string_view mountinfo, uint64_t mount_id) {
    // "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw": id, parent, dev, root,
    // mount point, ...
    while (!mountinfo.empty()) {
        size_t end = mountinfo.find('\n');
        std::string_view line = mountinfo.substr(0, end);
        mountinfo = end == std::string_view::npos ? std::string_view() : mountinfo.substr(end + 1);
        uint64_t id = 0;
        auto [after_id, error] = std::from_chars(line.data(), line.data() + line.size(), id);
        if (error != std::errc() || id != mount_id) continue;
        std::string_view rest(after_id, static_cast<size_t>(line.data() + line.size() - after_id));
        for (int skipped = 0; skipped < 3; ++skipped) {  // parent, dev, root
            rest.remove_prefix(std::min(rest.size(), rest.find_first_not_of(' ')));
            rest.remove_prefix(std::min(rest.size(), rest.find(' ')));
        }
        rest.remove_prefix(std::min(rest.size(), rest.find_first_not_of(' ')));
        std::string_view point = rest.substr(0, rest.find(' '));
        if (point.empty()) break;
        return unescape_octal(point);
    }
    return fail("mount {} is not in the mount table", mount_id);
}

Result<std::string> mount_point_of(const std::string& path) {
    uint64_t id = TRY(mount_id_of(path));
    std::string mountinfo = TRY(read_file("/proc/self/mountinfo"));
    return mount_point_in(mountinfo, id);
}

}  // namespace vessel::container::sys
