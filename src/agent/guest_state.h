// The "info" operation: what the host wants to know about a running guest, read from the kernel
// (uname, /proc, getifaddrs, statvfs) and /etc/os-release.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "base/json.h"

namespace vessel::agent {

struct MountEntry {
    std::string device;
    std::string point;
};

// /proc/mounts in order, paths unescaped; empty when it cannot be read.
std::vector<MountEntry> read_mounts();

// The fields of the "info" reply (without "ok"). Every source is best effort: what cannot be read
// is left out or empty, so one missing file never hides the rest.
Json guest_info();

// {"op":"info"}.
Result<> run_info(int connection);

}  // namespace vessel::agent
