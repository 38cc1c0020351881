#include "container/linux/devices.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <array>

#include "base/file.h"
#include "base/safe_path.h"

namespace vessel::container::sys {

namespace {

struct DefaultDevice {
    const char* name;
    unsigned major;
    unsigned minor;
};

constexpr std::array kDefaultDevices{
    DefaultDevice{"null", 1, 3},   DefaultDevice{"zero", 1, 5},    DefaultDevice{"full", 1, 7},
    DefaultDevice{"random", 1, 8}, DefaultDevice{"urandom", 1, 9}, DefaultDevice{"tty", 5, 0},
};

struct DefaultLink {
    const char* name;
    const char* target;
};

constexpr std::array kDefaultLinks{
    DefaultLink{"fd", "/proc/self/fd"},       DefaultLink{"stdin", "/proc/self/fd/0"},
    DefaultLink{"stdout", "/proc/self/fd/1"}, DefaultLink{"stderr", "/proc/self/fd/2"},
    DefaultLink{"core", "/proc/kcore"},       DefaultLink{"ptmx", "pts/ptmx"},
};

// mknod that replaces whatever is at the name already (a file in the image, a default node).
Result<> make_node(int directory_fd, const std::string& name, mode_t mode, dev_t device) {
    if (::mknodat(directory_fd, name.c_str(), mode, device) == 0) return {};
    if (errno != EEXIST) return fail_errno("mknod " + name);
    if (::unlinkat(directory_fd, name.c_str(), 0) != 0) return fail_errno("replace " + name);
    if (::mknodat(directory_fd, name.c_str(), mode, device) != 0)
        return fail_errno("mknod " + name);
    return {};
}

// In a user namespace mknod is refused: the host's node is bind-mounted onto an empty file
// instead, as runc does. Its owner and mode stay the host's.
Result<> bind_host_node(int rootfs_fd, const std::string& path, const std::string& host_path) {
    struct stat host {};
    if (::stat(host_path.c_str(), &host) != 0)
        return fail_errno(
            fmt::format("in a user namespace device nodes are bind-mounted from the "
                        "host, and {} cannot be",
                        host_path));
    UniqueFd source = TRY(open_file(host_path, O_PATH));
    auto existing = open_in_root(rootfs_fd, path, O_PATH | O_NOFOLLOW);
    if (existing) {
        struct stat info {};
        if (::fstat(existing->get(), &info) == 0 && !S_ISREG(info.st_mode)) {
            // A symlink or node from the image: replace it with the file to mount on.
            std::string relative = relative_clean_path(path);
            auto slash = relative.rfind('/');
            UniqueFd parent = TRY(open_in_root(
                rootfs_fd, slash == std::string::npos ? "/" : relative.substr(0, slash),
                O_RDONLY | O_DIRECTORY));
            std::string name = relative.substr(slash == std::string::npos ? 0 : slash + 1);
            if (::unlinkat(parent.get(), name.c_str(), 0) != 0)
                return fail_errno("replace " + path);
        }
    }
    UniqueFd target = TRY(make_file_in_root(rootfs_fd, path, 0));
    if (::mount(fd_path(source.get()).c_str(), fd_path(target.get()).c_str(), nullptr, MS_BIND,
                nullptr) != 0)
        return fail_errno("bind-mount " + host_path);
    return {};
}

}  // namespace

Result<> create_devices(int rootfs_fd, const spec::Spec& spec, bool dev_is_fresh) {
    bool user_namespace = spec.linux_config.creates_user_namespace();
    if (dev_is_fresh) {
        UniqueFd dev = TRY_CTX(open_in_root(rootfs_fd, "/dev", O_RDONLY | O_DIRECTORY), "/dev");
        for (const auto& device : kDefaultDevices) {
            std::string path = std::string("/dev/") + device.name;
            TRY_CTX(user_namespace ? bind_host_node(rootfs_fd, path, path)
                                   : make_node(dev.get(), device.name, S_IFCHR | 0666,
                                               makedev(device.major, device.minor)),
                    "{}", path);
        }
        for (const auto& link : kDefaultLinks)
            if (::symlinkat(link.target, dev.get(), link.name) != 0 && errno != EEXIST)
                return fail_errno(fmt::format("/dev/{}: symlink", link.name));
    }
    for (size_t i = 0; i < spec.linux_config.devices.size(); ++i) {
        const auto& device = spec.linux_config.devices[i];
        auto where = fmt::format("linux.devices[{}]", i);
        if (user_namespace) {
            TRY_CTX(bind_host_node(rootfs_fd, device.path, device.path), "{}", where);
            continue;
        }
        std::string path = relative_clean_path(device.path);
        auto slash = path.rfind('/');
        std::string name = path.substr(slash + 1);
        UniqueFd parent_path =
            TRY_CTX(make_directories_in_root(rootfs_fd, path.substr(0, slash)), "{}", where);
        UniqueFd parent = TRY_CTX(
            open_in_root(rootfs_fd, path.substr(0, slash), O_RDONLY | O_DIRECTORY), "{}", where);
        mode_t type = device.type == 'b' ? S_IFBLK : device.type == 'p' ? S_IFIFO : S_IFCHR;
        mode_t mode = type | (device.file_mode ? *device.file_mode & 07777 : 0666);
        TRY_CTX(make_node(parent.get(), name, mode,
                          makedev(static_cast<unsigned>(device.major),
                                  static_cast<unsigned>(device.minor))),
                "{}", where);
        if (device.uid || device.gid)
            if (::fchownat(
                    parent.get(), name.c_str(), device.uid ? *device.uid : static_cast<uid_t>(-1),
                    device.gid ? *device.gid : static_cast<gid_t>(-1), AT_SYMLINK_NOFOLLOW) != 0)
                return fail_errno(fmt::format("{}: chown {}", where, device.path));
    }
    return {};
}

}  // namespace vessel::container::sys
