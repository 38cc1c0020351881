// Freezing a container's cgroup for pause/resume: the v1 freezer hierarchy when the host has one
// (hybrid and v1 hosts; it stops every task), otherwise cgroup.freeze of the v2 tree.
#pragma once

#include <string>

#include "base/error.h"
#include "host/cgroup/layout.h"

namespace vessel::host::cgroup {

// `path` is the container's cgroup path inside each hierarchy ("/vessel/abc"). Waits until the
// kernel reports every task frozen (or thawed), so `state` right after reads the new status.
Result<> set_frozen(const HostLayout& layout, const std::string& path, bool frozen);
// False when the cgroup is thawed or gone.
bool is_frozen(const HostLayout& layout, const std::string& path);

}  // namespace vessel::host::cgroup
