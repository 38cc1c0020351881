// The systemd cgroup driver (vessel-runc --systemd-cgroup): systemd owns the container's cgroup as
// a transient unit (a scope, or a slice when the name asks for one) started over D-Bus with
// Delegate=yes, and the cgroupfs driver, pointed at that unit's directories, writes every limit
// into them too, so that none is lost that systemd has no property for.
#pragma once

#include <memory>
#include <string>

#include "host/cgroup/cgroup.h"
#include "host/cgroup/systemd_unit_name.h"

namespace vessel::host::cgroup {

// A container's unit, not started yet: create() connects to systemd, add_process() starts the
// unit with the container's init in it. `description` is the unit's Description.
std::unique_ptr<Cgroup> make_systemd_cgroup(const HostLayout& layout, SystemdPlacement placement,
                                            std::string description);

// The unit of a created container (from its state file), for update, kill and delete.
std::unique_ptr<Cgroup> reopen_systemd_cgroup(const HostLayout& layout, std::string unit,
                                              std::string path);

}  // namespace vessel::host::cgroup
