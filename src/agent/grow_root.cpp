#include "agent/grow_root.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <array>
#include <filesystem>

#include "agent/reply.h"
#include "base/file.h"

namespace vessel::agent {

namespace {

// fs/ext4/ext4.h, not in the kernel's uapi headers: the new size in blocks, growing only.
constexpr unsigned long ext4_ioc_resize_fs = _IOW('f', 16, uint64_t);

constexpr size_t superblock_offset = 1024;
constexpr size_t superblock_size = 1024;
constexpr uint32_t incompat_64bit = 0x80;

uint32_t little_endian(std::span<const uint8_t> bytes, size_t offset, size_t width) {
    uint32_t value = 0;
    for (size_t i = width; i > 0; --i)
        value = (value << 8) | bytes[offset + i - 1];
    return value;
}

// The node in `dev_dir` of block device `device`. devtmpfs names it after the kernel's device
// ("vda"); nothing else in the guest maps a device number to a path without /proc or /sys.
Result<std::string> find_block_device(const std::string& dev_dir, dev_t device) {
    std::error_code error;
    std::filesystem::directory_iterator entries(dev_dir, error);
    if (error) return fail_errno(error.value(), fmt::format("list {}", dev_dir));
    for (; !error && entries != std::filesystem::directory_iterator(); entries.increment(error)) {
        struct stat node {};
        auto path = entries->path().string();
        if (::lstat(path.c_str(), &node) == 0 && S_ISBLK(node.st_mode) && node.st_rdev == device)
            return path;
    }
    return fail("no block device {}:{} in {}", major(device), minor(device), dev_dir);
}

Result<Ext4Geometry> read_geometry(int device, const std::string& path) {
    std::array<uint8_t, superblock_size> superblock{};
    auto got = ::pread(device, superblock.data(), superblock.size(), superblock_offset);
    if (got < 0) return fail_errno(fmt::format("read the superblock of {}", path));
    return with_context(parse_ext4_superblock(
                            std::span<const uint8_t>(superblock.data(), static_cast<size_t>(got))),
                        path);
}

}  // namespace

Result<Ext4Geometry> parse_ext4_superblock(std::span<const uint8_t> superblock) {
    if (superblock.size() < superblock_size)
        return fail("the superblock is {} bytes, not {}", superblock.size(), superblock_size);
    auto magic = little_endian(superblock, 0x38, 2);
    if (magic != EXT4_SUPER_MAGIC) return fail("not ext4 (superblock magic {:#06x})", magic);
    auto log_block_size = little_endian(superblock, 0x18, 4);
    // ext4 blocks are 1 KiB to 64 KiB.
    if (log_block_size > 6)
        return fail("ext4 block size 1024 << {} is out of range", log_block_size);
    uint64_t blocks = little_endian(superblock, 0x04, 4);
    // The high half of the block count is only meaningful with the 64bit feature.
    if (little_endian(superblock, 0x60, 4) & incompat_64bit)
        blocks |= static_cast<uint64_t>(little_endian(superblock, 0x150, 4)) << 32;
    return Ext4Geometry{.block_size = 1024ull << log_block_size, .block_count = blocks};
}

std::optional<uint64_t> grown_block_count(const Ext4Geometry& fs, uint64_t device_bytes) {
    if (fs.block_size == 0) return std::nullopt;
    uint64_t blocks = device_bytes / fs.block_size;
    if (blocks <= fs.block_count) return std::nullopt;
    return blocks;
}

Result<std::optional<Growth>> grow_filesystem(const std::string& mount_point,
                                              const std::string& dev_dir) {
    struct statfs filesystem {};
    if (::statfs(mount_point.c_str(), &filesystem) != 0)
        return fail_errno(fmt::format("statfs {}", mount_point));
    if (filesystem.f_type != EXT4_SUPER_MAGIC) return std::nullopt;
    struct stat root {};
    if (::stat(mount_point.c_str(), &root) != 0)
        return fail_errno(fmt::format("stat {}", mount_point));
    auto device_path = TRY(find_block_device(dev_dir, root.st_dev));
    auto device = TRY(open_file(device_path, O_RDONLY | O_CLOEXEC));
    uint64_t device_bytes = 0;
    if (::ioctl(device.get(), BLKGETSIZE64, &device_bytes) != 0)
        return fail_errno(fmt::format("the size of {}", device_path));
    auto before = TRY(read_geometry(device.get(), device_path));
    auto target = grown_block_count(before, device_bytes);
    if (!target) return std::nullopt;
    auto directory = TRY(open_file(mount_point, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    uint64_t new_blocks = *target;
    if (::ioctl(directory.get(), ext4_ioc_resize_fs, &new_blocks) != 0)
        return fail_errno(fmt::format("resize the ext4 filesystem on {} from {} to {} blocks",
                                      device_path, before.block_count, new_blocks));
    // Read back rather than assumed: ext4 leaves out a last block group too small to hold its own
    // metadata, so it may stop short of the device's end (or not move at all).
    auto after = TRY(read_geometry(device.get(), device_path));
    if (after.block_count <= before.block_count) return std::nullopt;
    return Growth{.from_bytes = before.block_count * before.block_size,
                  .to_bytes = after.block_count * after.block_size};
}

void grow_root_at_boot() {
    auto grown = grow_filesystem("/");
    if (!grown) {
        log_failure(fmt::format("cannot grow / to fill its disk: {}", grown.error().message()));
        return;
    }
    if (*grown)
        (void)write_all(2, fmt::format("vessel-agent: grew / from {} to {} MiB\n",
                                       (*grown)->from_bytes >> 20, (*grown)->to_bytes >> 20));
}

}  // namespace vessel::agent
