// The resource-limit keys shared by containers and VMs, parsed and validated once.
//   limits.memory     bytes with an optional unit: 64MiB, 1GiB, 500MB, 1048576
//   limits.cpu        CPUs' worth of time, fractions allowed: 1, 0.5, 2 (a CFS quota)
//   limits.processes  maximum number of tasks (containers only)
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/json.h"

namespace vessel::manager {

struct ResourceLimits {
    std::optional<uint64_t> memory_bytes;
    // CFS quota per period of 100000 us.
    std::optional<uint64_t> cpu_quota_us;
    std::optional<uint64_t> processes;

    static constexpr uint64_t cpu_period_us = 100000;
    bool empty() const { return !memory_bytes && !cpu_quota_us && !processes; }
};

Result<uint64_t> parse_memory_size(std::string_view text);
Result<uint64_t> parse_cpu_quota(std::string_view text);

// Checks every key of an instance config: limits.* values must parse and unknown keys are refused
// (a typo must not be silently ignored).
Result<> validate_config_key(std::string_view key, std::string_view value);
Result<ResourceLimits> limits_from_config(const Json& config);

}  // namespace vessel::manager
