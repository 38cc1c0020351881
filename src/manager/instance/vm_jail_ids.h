// The unprivileged ids a jailed vessel-vmm runs as: one uid per VM instance, and a group of the
// same number. They come from a range that vesseld owns (above the subordinate ids that user
// namespaces are given, /etc/subuid), are recorded in the instance's guest.json, so that a VM
// keeps its id for its whole life, and are free for another VM once it is deleted. Two VMMs never
// share a uid: neither can signal, trace or read the other, even outside their pid namespaces.
#pragma once

#include <cstdint>
#include <string>

#include "base/error.h"

namespace vessel::manager {

inline constexpr uint32_t kVmJailIdBase = 0x70000000;  // 1879048192
inline constexpr uint32_t kVmJailIdCount = 65536;

// The id of the VM whose directory is `instances_dir`/`name`: the one its guest.json records, or
// else the lowest one no other VM there records, recorded now. Concurrent calls (two launches)
// are serialized by a lock file in `instances_dir`.
Result<uint32_t> vm_jail_id(const std::string& instances_dir, const std::string& name);

}  // namespace vessel::manager
