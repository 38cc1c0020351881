#include "container/linux/namespaces.h"

#include <fcntl.h>
#include <sched.h>

#include "base/file.h"

namespace vessel::container::sys {

using spec::NamespaceType;

int clone_flags_for(const spec::Linux& config) {
    int flags = 0;
    for (const auto& ns : config.namespaces)
        if (ns.path.empty() && ns.type != NamespaceType::time && ns.type != NamespaceType::cgroup)
            flags |= spec::namespace_clone_flag(ns.type);
    // The cgroup namespace is unshared by the child once the parent has moved it into its cgroup,
    // so that the namespace's root is the container's cgroup.
    return flags;
}

bool joins_for_children(NamespaceType type) {
    return type == NamespaceType::pid || type == NamespaceType::time;
}

Result<> join_namespaces(const spec::Linux& config, bool for_children) {
    for (size_t i = 0; i < config.namespaces.size(); ++i) {
        const auto& ns = config.namespaces[i];
        if (ns.path.empty() || joins_for_children(ns.type) != for_children) continue;
        auto where = fmt::format("linux.namespaces[{}].path", i);
        UniqueFd fd = TRY_CTX(open_file(ns.path, O_RDONLY), "{}", where);
        if (::setns(fd.get(), spec::namespace_clone_flag(ns.type)) != 0)
            return std::unexpected(Error(fmt::format("join the {} namespace {}",
                                                     spec::namespace_name(ns.type), ns.path),
                                         errno)
                                       .context(where));
    }
    return {};
}

}  // namespace vessel::container::sys
