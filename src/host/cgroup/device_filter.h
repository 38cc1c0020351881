// The device program on a cgroup v2 directory: loaded from the rules, attached with
// BPF_F_ALLOW_MULTI, and replaced by attaching the new one before detaching the old, so that no
// access slips through between the two. The kernel keeps an attached program for as long as the
// cgroup exists; nothing is pinned, and a later process (update) finds it by querying the
// directory.
#pragma once

#include <linux/bpf.h>

#include <string>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"
#include "host/cgroup/resources.h"

namespace vessel::host::cgroup {

// A loaded BPF_PROG_TYPE_CGROUP_DEVICE program. When the kernel refuses it, the error says why:
// the verifier's log, or the missing privilege or kernel support.
Result<UniqueFd> load_device_program(const std::vector<bpf_insn>& program);

// The ids of the device programs attached to the cgroup itself (not those inherited from its
// ancestors), in the order the kernel runs them.
Result<std::vector<uint32_t>> attached_device_programs(int cgroup_fd);

// The kernel's id of a loaded program.
Result<uint32_t> program_id(int program_fd);

// Makes `rules` the cgroup's device policy: their program is attached first, then every other
// device program on the directory is detached.
Result<> set_device_filter(const std::string& cgroup_directory,
                           const std::vector<DeviceRule>& rules);

}  // namespace vessel::host::cgroup
