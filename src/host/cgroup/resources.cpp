#include "host/cgroup/resources.h"

namespace vessel::host::cgroup {

bool Resources::empty() const {
    return !memory.limit && !memory.reservation && !memory.swap && !memory.swappiness &&
           !memory.disable_oom_killer && !memory.kernel_tcp && !cpu.shares && !cpu.quota &&
           !cpu.period && cpu.cpus.empty() && cpu.mems.empty() && !pids_limit && !blkio_weight &&
           blkio_weight_devices.empty() && blkio_throttles.empty() && !blkio_leaf_weight &&
           hugepage_limits.empty() && !network.class_id && network.priorities.empty() &&
           devices.empty() && unified.empty();
}

}  // namespace vessel::host::cgroup
