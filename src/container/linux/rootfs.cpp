#include "container/linux/rootfs.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/file.h"
#include "base/safe_path.h"
#include "container/linux/devices.h"
#include "container/linux/mount_info.h"
#include "container/spec/mount_options.h"

namespace vessel::container::sys {

namespace {

Result<> mount_at(const std::string& source, const std::string& target, const char* type,
                  unsigned long flags, const std::string& data) {
    if (::mount(source.empty() ? nullptr : source.c_str(), target.c_str(), type, flags,
                data.empty() ? nullptr : data.c_str()) != 0)
        return fail_errno(
            fmt::format("mount {} ({})", source.empty() ? "none" : source, type ? type : "bind"));
    return {};
}

// The flags a bind remount must keep: a remount replaces all per-mount flags at once.
unsigned long kept_flags(int fd) {
    struct statvfs info {};
    if (::fstatvfs(fd, &info) != 0) return 0;
    unsigned long flags = 0;
    if (info.f_flag & ST_NOSUID) flags |= MS_NOSUID;
    if (info.f_flag & ST_NODEV) flags |= MS_NODEV;
    if (info.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
    if (info.f_flag & ST_NOATIME) flags |= MS_NOATIME;
    if (info.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
    if (info.f_flag & ST_RELATIME) flags |= MS_RELATIME;
    if (info.f_flag & ST_RDONLY) flags |= MS_RDONLY;
    return flags;
}

// Re-resolves a destination after something was mounted on it: the old descriptor still points at
// the covered directory, the new one at the mount's root.
Result<UniqueFd> reopen(int rootfs_fd, const std::string& destination) {
    return open_in_root(rootfs_fd, destination, O_PATH);
}

Result<> remount_bind(int rootfs_fd, const std::string& destination, unsigned long flags) {
    UniqueFd top = TRY(reopen(rootfs_fd, destination));
    unsigned long keep = kept_flags(top.get()) & ~MS_RDONLY;
    return mount_at("", fd_path(top.get()), nullptr, MS_REMOUNT | MS_BIND | keep | flags, "");
}

Result<> mount_cgroup_tree(int rootfs_fd, const spec::Mount& mount,
                           const host::cgroup::HostLayout& layout) {
    UniqueFd target = TRY(make_directories_in_root(rootfs_fd, mount.destination));
    unsigned long flags = mount.flags & ~MS_RDONLY;
    if (layout.kind == host::cgroup::LayoutKind::v2)
        return mount_at("cgroup2", fd_path(target.get()), "cgroup2", mount.flags, "");
    // v1 and hybrid: a tmpfs holding one mount per hierarchy, as on the host.
    TRY(mount_at("tmpfs", fd_path(target.get()), "tmpfs", flags, "mode=755"));
    for (const auto& hierarchy : layout.v1) {
        std::string name = hierarchy.mount_point.substr(hierarchy.mount_point.rfind('/') + 1);
        std::string destination = mount.destination + "/" + name;
        UniqueFd directory = TRY(make_directories_in_root(rootfs_fd, destination));
        std::string controllers;
        for (const auto& controller : hierarchy.controllers)
            controllers += (controllers.empty() ? "" : ",") + controller;
        TRY(mount_at("cgroup", fd_path(directory.get()), "cgroup", mount.flags, controllers));
        if (hierarchy.controllers.size() > 1) {
            UniqueFd parent =
                TRY(open_in_root(rootfs_fd, mount.destination, O_RDONLY | O_DIRECTORY));
            for (const auto& controller : hierarchy.controllers)
                if (::symlinkat(name.c_str(), parent.get(), controller.c_str()) != 0 &&
                    errno != EEXIST)
                    return fail_errno("symlink " + controller);
        }
    }
    if (!layout.unified.empty()) {
        UniqueFd directory =
            TRY(make_directories_in_root(rootfs_fd, mount.destination + "/unified"));
        TRY(mount_at("cgroup2", fd_path(directory.get()), "cgroup2", mount.flags, ""));
    }
    if (mount.flags & MS_RDONLY) TRY(remount_bind(rootfs_fd, mount.destination, flags | MS_RDONLY));
    return {};
}

// `idmapped`: the detached idmapped mount of the source the runtime made, or -1.
Result<> mount_bind(int rootfs_fd, const spec::Mount& mount, const std::string& bundle,
                    int idmapped) {
    std::string source = mount.source[0] == '/' ? mount.source : bundle + "/" + mount.source;
    UniqueFd source_fd = TRY(open_file(source, O_PATH));
    struct stat info {};
    if (::fstat(source_fd.get(), &info) != 0) return fail_errno("stat " + source);
    UniqueFd target = S_ISDIR(info.st_mode)
                          ? TRY(make_directories_in_root(rootfs_fd, mount.destination))
                          : TRY(make_file_in_root(rootfs_fd, mount.destination));
    if (idmapped >= 0) {
        if (::move_mount(idmapped, "", target.get(), "",
                         MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
            return fail_errno("attach the idmapped mount of " + source);
    } else {
        TRY(mount_at(fd_path(source_fd.get()), fd_path(target.get()), nullptr,
                     MS_BIND | (mount.recursive ? MS_REC : 0), ""));
    }
    if (mount.flags != 0) TRY(remount_bind(rootfs_fd, mount.destination, mount.flags));
    return {};
}

Result<> mount_one(int rootfs_fd, size_t index, const RootfsPlan& plan) {
    const spec::Mount& mount = plan.spec.mounts[index];
    if (mount.bind) {
        int idmapped = plan.idmapped_mounts ? (*plan.idmapped_mounts)[index].get() : -1;
        TRY(mount_bind(rootfs_fd, mount, plan.bundle, idmapped));
    } else if (mount.type == "cgroup" || mount.type == "cgroup2") {
        TRY(mount_cgroup_tree(rootfs_fd, mount, plan.cgroups));
    } else {
        UniqueFd target = TRY(make_directories_in_root(rootfs_fd, mount.destination));
        std::string source = mount.source.empty() ? mount.type : mount.source;
        TRY(mount_at(source, fd_path(target.get()), mount.type.c_str(), mount.flags, mount.data));
    }
    if (mount.propagation != 0) {
        UniqueFd top = TRY(reopen(rootfs_fd, mount.destination));
        TRY(mount_at("", fd_path(top.get()), nullptr, mount.propagation, ""));
    }
    return {};
}

Result<> mask_path(int rootfs_fd, const std::string& path) {
    auto opened = open_in_root(rootfs_fd, path, O_PATH | O_NOFOLLOW);
    if (!opened && opened.error().code() == ENOENT) return {};
    UniqueFd target = TRY(std::move(opened));
    struct stat info {};
    if (::fstat(target.get(), &info) != 0) return fail_errno("stat");
    if (S_ISDIR(info.st_mode))
        return mount_at("tmpfs", fd_path(target.get()), "tmpfs", MS_RDONLY, "size=0,mode=555");
    return mount_at("/dev/null", fd_path(target.get()), nullptr, MS_BIND, "");
}

Result<> make_readonly(int rootfs_fd, const std::string& path) {
    auto opened = open_in_root(rootfs_fd, path, O_PATH | O_NOFOLLOW);
    if (!opened && opened.error().code() == ENOENT) return {};
    UniqueFd target = TRY(std::move(opened));
    TRY(mount_at(fd_path(target.get()), fd_path(target.get()), nullptr, MS_BIND | MS_REC, ""));
    return remount_bind(rootfs_fd, path, MS_RDONLY);
}

Result<> pivot_into(const std::string& rootfs) {
    UniqueFd old_root = TRY(open_file("/", O_PATH | O_DIRECTORY));
    UniqueFd new_root = TRY(open_file(rootfs, O_RDONLY | O_DIRECTORY));
    if (::fchdir(new_root.get()) != 0) return fail_errno("chdir into the rootfs");
    // pivot_root(".", "."): the old root ends up stacked on the new one; detach it. Making it a
    // slave first keeps the unmount from propagating to the host. It is reached through its own
    // descriptor: "." is still the new root, and a recursive change there would also turn the
    // container's bidirectional mounts into slaves.
    if (::syscall(SYS_pivot_root, ".", ".") != 0) return fail_errno("pivot_root");
    if (::fchdir(old_root.get()) != 0) return fail_errno("chdir into the old root");
    if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0)
        return fail_errno("make the old root a slave");
    if (::umount2(".", MNT_DETACH) != 0) return fail_errno("detach the old root");
    if (::chdir("/") != 0) return fail_errno("chdir /");
    return {};
}

}  // namespace

Result<> prepare_rootfs(const RootfsPlan& plan) {
    const spec::Spec& spec = plan.spec;
    bool own_namespace = spec.linux_config.find_namespace(spec::NamespaceType::mount) != nullptr;
    if (own_namespace) {
        // Nothing we mount may leak to the host. rslave still lets host mounts appear inside,
        // unless rootfsPropagation asks for private.
        unsigned long initial = MS_SLAVE | MS_REC;
        unsigned long wanted = spec::propagation_flags(spec.linux_config.rootfs_propagation);
        if (wanted & (MS_PRIVATE | MS_SLAVE)) initial = wanted | MS_REC;
        if (wanted & MS_SHARED) {
            // Bidirectional: binds of the host's shared mounts stay peers of them, so that what
            // the container mounts below one reaches the host. The mount holding the rootfs
            // must not pass the container's own mounts on, though (and pivot_root refuses a
            // shared parent): it alone goes private.
            TRY_CTX(mount_at("", "/", nullptr, MS_SHARED | MS_REC, ""), "linux.rootfsPropagation");
            std::string holder = TRY_CTX(mount_point_of(plan.rootfs), "root.path");
            TRY_CTX(mount_at("", holder, nullptr, MS_PRIVATE, ""), "linux.rootfsPropagation");
        } else {
            TRY_CTX(mount_at("", "/", nullptr, initial, ""), "linux.rootfsPropagation");
        }
        // pivot_root needs the new root to be a mount point.
        TRY_CTX(mount_at(plan.rootfs, plan.rootfs, nullptr, MS_BIND | MS_REC, ""), "root.path");
    }
    // In the runtime's namespace the runtime has bound root.path privately already (see
    // shared_mount_namespace.h); "/" there is the host's and keeps its propagation.
    UniqueFd rootfs = TRY_CTX(open_file(plan.rootfs, O_PATH | O_DIRECTORY), "root.path");

    bool dev_is_fresh = false;
    for (size_t i = 0; i < spec.mounts.size(); ++i) {
        const auto& mount = spec.mounts[i];
        TRY_CTX(mount_one(rootfs.get(), i, plan), "mounts[{}] ({})", i, mount.destination);
        if (relative_clean_path(mount.destination) == "dev") dev_is_fresh = !mount.bind;
    }
    TRY_CTX(create_devices(rootfs.get(), spec, dev_is_fresh), "linux.devices");
    if (spec.process)
        TRY_CTX(make_directories_in_root(rootfs.get(), spec.process->cwd), "process.cwd");
    for (size_t i = 0; i < spec.linux_config.masked_paths.size(); ++i)
        TRY_CTX(mask_path(rootfs.get(), spec.linux_config.masked_paths[i]), "linux.maskedPaths[{}]",
                i);
    for (size_t i = 0; i < spec.linux_config.readonly_paths.size(); ++i)
        TRY_CTX(make_readonly(rootfs.get(), spec.linux_config.readonly_paths[i]),
                "linux.readonlyPaths[{}]", i);
    if (own_namespace) {
        TRY_CTX(pivot_into(plan.rootfs), "root.path");
    } else {
        // pivot_root would move the root of every process in the runtime's namespace.
        if (::chroot(plan.rootfs.c_str()) != 0 || ::chdir("/") != 0)
            return std::unexpected(Error("chroot " + plan.rootfs, errno).context("root.path"));
    }
    return {};
}

Result<> finish_rootfs(const spec::Spec& spec) {
    if (!spec.linux_config.rootfs_propagation.empty()) {
        unsigned long wanted = spec::propagation_flags(spec.linux_config.rootfs_propagation);
        TRY_CTX(mount_at("", "/", nullptr, wanted, ""), "linux.rootfsPropagation");
    }
    if (spec.root.readonly) {
        UniqueFd root = TRY_CTX(open_file("/", O_PATH | O_DIRECTORY), "root.readonly");
        unsigned long keep = kept_flags(root.get());
        TRY_CTX(mount_at("", "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | keep, ""),
                "root.readonly");
    }
    return {};
}

}  // namespace vessel::container::sys
