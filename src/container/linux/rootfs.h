// Building the container's filesystem view inside its new mount namespace: the rootfs bind mount,
// config mounts, /dev, masked and read-only paths, pivot_root, and the final propagation and
// read-only remount. Every destination is resolved inside the rootfs (openat2 RESOLVE_IN_ROOT)
// and mounted through /proc/self/fd, so a hostile rootfs cannot redirect a mount to the host.
#pragma once

#include <string>
#include <vector>

#include "base/unique_fd.h"

#include "base/error.h"
#include "host/cgroup/layout.h"
#include "container/spec/spec.h"

namespace vessel::container::sys {

struct RootfsPlan {
    const spec::Spec& spec;
    std::string bundle;  // absolute
    std::string rootfs;  // absolute
    const host::cgroup::HostLayout& cgroups;
    // Per spec.mounts[i]: a detached idmapped mount to attach instead of binding the source.
    const std::vector<UniqueFd>* idmapped_mounts = nullptr;
};

// Everything up to and including pivot_root (chroot without a mount namespace of its own);
// afterwards "/" is the container's root. Runs in the container's mount namespace (new, joined
// or the runtime's) with the host's /proc still visible.
Result<> prepare_rootfs(const RootfsPlan& plan);

// rootfsPropagation and root.readonly, applied to "/" after pivot_root.
Result<> finish_rootfs(const spec::Spec& spec);

}  // namespace vessel::container::sys
