// What the container's first process does between clone and exec. It runs in the cloned child
// (already in its new namespaces) and never returns: it execs the user's program or exits.
#pragma once

#include <signal.h>

#include <string>
#include <vector>

#include "base/unique_fd.h"

#include "host/cgroup/layout.h"
#include "container/linux/security_plan.h"
#include "container/runtime/sync.h"
#include "container/spec/spec.h"

namespace vessel::container::sys {

struct InitConfig {
    const spec::Spec& spec;
    std::string bundle;  // absolute
    std::string rootfs;  // absolute
    const host::cgroup::HostLayout& cgroups;
    const runtime::SyncChannel& sync;
    // create: the state directory holding exec.fifo, which `start` opens to release the init.
    // run: -1, the runtime sends 's' over `sync` instead.
    int state_dir_fd = -1;
    // The signal mask to restore before exec (the runtime blocks signals it forwards).
    sigset_t original_mask;
    // Capabilities and seccomp, prepared by the runtime before clone.
    const SecurityPlan* security = nullptr;
    // Per spec.mounts[i]: the detached idmapped mount the runtime made, if any (inherited fds).
    const std::vector<UniqueFd>* idmapped_mounts = nullptr;
    // cgroup v1 "tasks" files the init writes "0" to, joining its cgroups itself (the rest of
    // its cgroup membership it has from clone, or the runtime gives it).
    const std::vector<std::string>* cgroup_self_join = nullptr;
    int preserve_fds = 0;  // descriptors 3 to 3+N-1 are passed on to the process
};

[[noreturn]] void container_init(const InitConfig& config);

}  // namespace vessel::container::sys
