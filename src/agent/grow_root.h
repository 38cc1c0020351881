// Growing the guest's root filesystem to fill its disk, online, at the agent's start. The host
// grows a VM's root disk (limits.disk) while the VM is stopped; the filesystem on it must follow,
// and the busybox guests have no resize2fs. ext4's own online resize (EXT4_IOC_RESIZE_FS, what
// resize2fs calls on a mounted filesystem) does it from a running guest.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "base/error.h"

namespace vessel::agent {

struct Ext4Geometry {
    uint64_t block_size = 0;
    uint64_t block_count = 0;
};

// The geometry in an ext4 superblock: the 1024 bytes at offset 1024 of the device.
Result<Ext4Geometry> parse_ext4_superblock(std::span<const uint8_t> superblock);

// The block count that fills a device of `device_bytes`, or nullopt when the filesystem already
// does (or is larger: a filesystem is never shrunk).
std::optional<uint64_t> grown_block_count(const Ext4Geometry& fs, uint64_t device_bytes);

struct Growth {
    uint64_t from_bytes = 0;
    uint64_t to_bytes = 0;
};

// Grows the ext4 filesystem mounted at `mount_point` to the size of its block device. nullopt when
// there was nothing to do: already full size, or not ext4 on a block device (an initramfs root).
// The device node is looked for in `dev_dir` (the guest's devtmpfs), which needs neither /proc nor
// /sys: the agent starts before the guest's init mounts them.
Result<std::optional<Growth>> grow_filesystem(const std::string& mount_point,
                                              const std::string& dev_dir = "/dev");

// At boot: grows "/" and says so on the console in one line, or says why it could not. Never
// fails: the agent serves a guest whose root kept its size all the same.
void grow_root_at_boot();

}  // namespace vessel::agent
