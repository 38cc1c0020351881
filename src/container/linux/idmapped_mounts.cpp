#include "container/linux/idmapped_mounts.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <unistd.h>

#include "container/linux/user_namespace.h"

namespace vessel::container::sys {

namespace {

Result<UniqueFd> idmapped_clone_of(const spec::Mount& mount, const spec::Linux& config,
                                   const std::string& bundle) {
    std::string source = mount.source[0] == '/' ? mount.source : bundle + "/" + mount.source;
    bool own = !mount.uid_mappings.empty();
    UniqueFd userns =
        TRY(make_mapped_user_namespace(own ? mount.uid_mappings : config.uid_mappings,
                                       own ? mount.gid_mappings : config.gid_mappings));
    unsigned tree_flags =
        OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (mount.recursive ? AT_RECURSIVE : 0);
    UniqueFd tree(::open_tree(AT_FDCWD, source.c_str(), tree_flags));
    if (!tree) return fail_errno("open_tree " + source);
    mount_attr attributes{};
    attributes.attr_set = MOUNT_ATTR_IDMAP;
    attributes.userns_fd = static_cast<uint64_t>(userns.get());
    unsigned setattr_flags = AT_EMPTY_PATH | (mount.idmap_recursive ? AT_RECURSIVE : 0);
    if (::mount_setattr(tree.get(), "", setattr_flags, &attributes, sizeof attributes) != 0) {
        int error = errno;
        if (error == EINVAL)
            return fail_errno(error, fmt::format("idmap {} (its filesystem may not support "
                                                 "idmapped mounts)",
                                                 source));
        return fail_errno(error, "idmap " + source);
    }
    return tree;
}

}  // namespace

Result<std::vector<UniqueFd>> prepare_idmapped_mounts(const spec::Spec& spec,
                                                      const std::string& bundle) {
    std::vector<UniqueFd> trees(spec.mounts.size());
    for (size_t i = 0; i < spec.mounts.size(); ++i) {
        const spec::Mount& mount = spec.mounts[i];
        if (!mount.idmap) continue;
        if (::geteuid() != 0)
            return fail(
                "mounts[{}]: idmapped mounts need root (the kernel lets only a process "
                "privileged over the source's filesystem make them)",
                i);
        trees[i] = TRY_CTX(idmapped_clone_of(mount, spec.linux_config, bundle), "mounts[{}] ({})",
                           i, mount.destination);
    }
    return trees;
}

}  // namespace vessel::container::sys
