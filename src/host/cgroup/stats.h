// A container's resource usage read from its cgroup files, in the shape of runc's
// `events --stats` data (cpu, memory, pids), whatever the host's layout.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "host/cgroup/layout.h"

namespace vessel::host::cgroup {

// {"cpu": {"usage": {"total", "user", "kernel"} (ns), "throttling": {...}},
//  "memory": {"usage": {"usage", "max", "limit", "failcnt"}, "raw": {memory.stat}},
//  "pids": {"current", "limit"}}. An unlimited limit reads as 0, as in runc. Controllers the host
// does not have are left out.
Result<Json> read_stats(const HostLayout& layout, const std::string& path);

// Block I/O a cgroup was charged for on one device.
struct DeviceIo {
    unsigned major = 0;
    unsigned minor = 0;
    uint64_t read_bytes = 0;
    uint64_t written_bytes = 0;
};

// cgroup v2's io.stat: "8:0 rbytes=N wbytes=N rios=N ..." per line.
std::vector<DeviceIo> parse_io_stat(std::string_view text);
// cgroup v1's blkio.*io_service_bytes*: "8:0 Read N", "8:0 Write N", ... and a "Total N" line.
std::vector<DeviceIo> parse_blkio_service_bytes(std::string_view text);

// What a cgroup used, typed, for metrics; a figure the host cannot give is left empty.
struct Usage {
    std::optional<uint64_t> cpu_user_ns;
    std::optional<uint64_t> cpu_system_ns;
    std::optional<uint64_t> memory_bytes;
    std::optional<uint64_t> memory_limit_bytes;  // empty when unlimited
    std::optional<uint64_t> processes;
    std::vector<DeviceIo> io;
};
Result<Usage> read_usage(const HostLayout& layout, const std::string& path);

}  // namespace vessel::host::cgroup
