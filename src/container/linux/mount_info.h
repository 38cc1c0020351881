// What the kernel says about the mount a path is on: its id (statx) and where it is mounted
// (/proc/self/mountinfo).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"

namespace vessel::container::sys {

// The id of the topmost mount at `path` (of the mount the path is on when it is no mount point).
Result<uint64_t> mount_id_of(const std::string& path);

// The mount point of the mount with `mount_id`, read from a mountinfo text (octal escapes such as
// "\040" undone).
Result<std::string> mount_point_in(std::string_view mountinfo, uint64_t mount_id);

// The mount point of the mount `path` is on, in the caller's mount namespace.
Result<std::string> mount_point_of(const std::string& path);

}  // namespace vessel::container::sys
