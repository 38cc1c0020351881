// A container's resource usage read from its cgroup files, in the shape of runc's
// `events --stats` data (cpu, memory, pids), whatever the host's layout.
#pragma once

#include <string>

#include "base/error.h"
#include "base/json.h"
#include "host/cgroup/layout.h"

namespace vessel::host::cgroup {

// {"cpu": {"usage": {"total", "user", "kernel"} (ns), "throttling": {...}},
//  "memory": {"usage": {"usage", "max", "limit", "failcnt"}, "raw": {memory.stat}},
//  "pids": {"current", "limit"}}. An unlimited limit reads as 0, as in runc. Controllers the host
// does not have are left out.
Result<Json> read_stats(const HostLayout& layout, const std::string& path);

}  // namespace vessel::host::cgroup
