#include "container/linux/shared_mount_namespace.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "container/linux/mount_info.h"

namespace vessel::container::sys {

Result<uint64_t> bind_rootfs_privately(const std::string& rootfs) {
    if (::mount(rootfs.c_str(), rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
        return fail_errno("bind " + rootfs + " onto itself");
    auto id = mount_id_of(rootfs);
    // Private before anything is mounted below it: a shared parent would otherwise hand every
    // mount of the container to the host's other namespaces.
    if (!id || ::mount(nullptr, rootfs.c_str(), nullptr, MS_PRIVATE | MS_REC, nullptr) != 0) {
        Error error = id ? Error("make " + rootfs + " private", errno) : id.error();
        ::umount2(rootfs.c_str(), MNT_DETACH);
        return std::unexpected(error);
    }
    return *id;
}

Result<> detach_rootfs_bind(const std::string& rootfs, uint64_t mount_id) {
    auto id = mount_id_of(rootfs);
    if (!id) {
        if (id.error().code() == ENOENT) return {};
        return std::unexpected(id.error());
    }
    if (*id != mount_id) return {};
    if (::umount2(rootfs.c_str(), MNT_DETACH) != 0) return fail_errno("unmount " + rootfs);
    return {};
}

}  // namespace vessel::container::sys
