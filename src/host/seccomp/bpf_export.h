// A libseccomp filter as the classic BPF program the kernel loads. Below both engines: the
// container runtime compiles OCI profiles with it, vessel-vmm's jail its per-thread lists.
#pragma once

#include <linux/filter.h>
#include <seccomp.h>

#include <vector>

#include "base/error.h"

namespace vessel::host {

// libseccomp 2.5 exports to a descriptor only; a memfd keeps the program off the file system.
Result<std::vector<sock_filter>> export_bpf(scmp_filter_ctx context);

}  // namespace vessel::host
