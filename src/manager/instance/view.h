// What vesseld reports of an instance, typed: the database's record joined with reality (is its
// monitor alive, how did it last end, which address did DHCP give it). The manager builds these;
// only api/views.h turns them into the wire's JSON.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "base/json.h"
#include "manager/instance/model.h"
#include "manager/instance/usage.h"
#include "manager/store/store.h"

namespace vessel::manager {

// How the instance's payload last ended: an exit code or a signal, and its meaning for the kind
// (a VMM's codes say powered off, rebooted...).
struct ExitReport {
    int code = 0;
    int signal = 0;
    std::string description;
};

struct InstanceView {
    InstanceRecord record;
    // What runs (running, frozen, stopped), or the work under way (creating, deleting).
    InstanceState status = InstanceState::stopped;
    pid_t monitor_pid = 0;
    std::vector<std::string> ipv4;
    size_t snapshots = 0;
    std::optional<ExitReport> last_exit;  // when stopped after a run
};

struct InstanceStateView {
    InstanceState status = InstanceState::stopped;
    pid_t monitor_pid = 0;
    std::optional<pid_t> pid;  // the payload's (a container's init, a VM's vessel-vmm)
    std::optional<ExitReport> exit;
    std::optional<std::string> cgroup;  // a container's
    // A running VM's agent's own report, passed on as the agent gave it.
    std::optional<Json> guest;
};

// One instance in the metrics: figures only while it runs or is frozen.
struct InstanceUsageView {
    std::string name;
    InstanceKind kind = InstanceKind::container;
    InstanceState status = InstanceState::stopped;
    std::optional<InstanceUsage> usage;
};

}  // namespace vessel::manager
