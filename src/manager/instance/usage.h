// What a running instance uses, typed, for the metrics endpoint: read from the host (the cgroup of
// a container or of a VM's vessel-vmm, a container's network namespace) and, for a VM, from its
// guest agent's report of what the guest sees. A figure no source gives is left empty, never 0.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "base/json.h"
#include "base/kernel_counters.h"
#include "host/cgroup/stats.h"

namespace vessel::manager {

struct InstanceUsage {
    std::optional<uint64_t> cpu_user_ns;
    std::optional<uint64_t> cpu_system_ns;
    // In use as the instance sees it: a container's cgroup charge; a VM guest's MemTotal less
    // MemAvailable.
    std::optional<uint64_t> memory_bytes;
    // A container's memory limit; a VM guest's MemTotal.
    std::optional<uint64_t> memory_limit_bytes;
    // What the host spends on a VM: its vessel-vmm's cgroup charge (guest RAM it touched, device
    // buffers, the VMM itself). Empty for a container, where it is memory_bytes.
    std::optional<uint64_t> host_memory_bytes;
    std::optional<uint64_t> processes;
    std::vector<InterfaceCounters> network;
    std::vector<DiskCounters> disks;
};

// A container's figures from its cgroup's; `net_dev`: the text of /proc/PID/net/dev of a process in
// its network namespace, when one was read.
InstanceUsage container_usage(const host::cgroup::Usage& cgroup,
                              const std::optional<std::string>& net_dev);

// A VM's figures: CPU time and host memory from its VMM's cgroup, the rest from the agent's "info"
// report (docs/agent-protocol.md) when the guest answered; fields of the wrong type are ignored,
// since the report comes from the guest.
InstanceUsage vm_usage(const host::cgroup::Usage& cgroup, const std::optional<Json>& guest_report);

}  // namespace vessel::manager
