// Which processes are a container's. A cgroup directory the container did not create may hold
// the host's processes too (a cgroupsPath naming an existing cgroup): kill, ps and delete must
// never reach those, so membership is decided here once for all of them.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "base/error.h"
#include "host/cgroup/cgroup.h"
#include "container/runtime/state.h"
#include "container/spec/spec.h"

namespace vessel::container::runtime {

// "pid:[4026532281]" for a live process, empty when it is gone.
std::string pid_namespace_of(pid_t pid);

// Refused before anything is created: the host's root cgroup. Refused after create(): an existing
// directory that already holds processes, unless every one of them is in the pid namespace the
// config joins (a container added to a running pod shares its cgroup on purpose).
Result<> check_cgroup_path(const std::string& path);
Result<> check_cgroup_is_the_containers(const host::cgroup::Cgroup& cgroup, const spec::Linux& config);

// The container's cgroup as create() left it, reopened from the state file.
Result<std::unique_ptr<host::cgroup::Cgroup>> reopen_cgroup(const ContainerState& state);

// The container's live processes: everything in a cgroup it created; in a cgroup it shares, those
// in the pid namespace it made, or only its init when it made none.
Result<std::vector<pid_t>> container_processes(const ContainerState& state,
                                               const host::cgroup::Cgroup& cgroup);

}  // namespace vessel::container::runtime
