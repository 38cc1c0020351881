// The eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE) that enforces linux.resources.devices on cgroup
// v2, where there is no devices controller: the kernel runs it on every open and mknod of a device
// node by a process in the cgroup, and allows the access when it returns 1.
//
// The rules keep the v1 controller's meaning, which is what runc's list assumes: they are read in
// order, the last rule that matches an access decides it, and an access no rule matches is denied.
// An access asking for several bits (an O_RDWR open: read and write) is allowed only when each
// bit's last matching rule allows it.
#pragma once

#include <linux/bpf.h>

#include <vector>

#include "base/error.h"
#include "host/cgroup/resources.h"

namespace vessel::host::cgroup {

// Errors name the rule ("c 1:-3 rw") whose number does not fit the kernel's 32-bit fields.
Result<std::vector<bpf_insn>> device_program(const std::vector<DeviceRule>& rules);

// What the context's access_type holds for a device type ('b', 'c') or access string ("rwm").
uint32_t device_type_bits(char type);
uint32_t device_access_bits(std::string_view access);

}  // namespace vessel::host::cgroup
