// The config keys of instances, parsed and validated once.
//   limits.memory       bytes with an optional unit: 64MiB, 1GiB, 500MB, 1048576
//   limits.cpu          CPUs' worth of time, fractions allowed: 1, 0.5, 2 (a CFS quota)
//   limits.processes    maximum number of tasks (containers only)
//   limits.disk         the size of a VM's root disk, same units as limits.memory; it only grows
//                       (VMs only: a container's root is an overlay on the host's filesystem)
//   boot.agent_timeout  seconds a VM's start waits for its guest agent (VMs only)
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/json.h"
#include "manager/instance/model.h"

namespace vessel::manager {

struct ResourceLimits {
    std::optional<uint64_t> memory_bytes;
    // CFS quota per period of 100000 us.
    std::optional<uint64_t> cpu_quota_us;
    std::optional<uint64_t> processes;
    std::optional<uint64_t> disk_bytes;

    static constexpr uint64_t cpu_period_us = 100000;
    bool empty() const { return !memory_bytes && !cpu_quota_us && !processes && !disk_bytes; }
};

Result<uint64_t> parse_memory_size(std::string_view text);
Result<uint64_t> parse_cpu_quota(std::string_view text);
Result<uint64_t> parse_disk_size(std::string_view text);
Result<std::chrono::seconds> parse_agent_timeout(std::string_view text);

// A size for people, exact: the largest of TiB, GiB, MiB, KiB that divides it, else bytes
// ("256MiB", "1536MiB", "1000000B").
std::string format_size(uint64_t bytes);

// Whether VM `name`'s root disk of `current_bytes` must grow to honour limits.disk =
// `wanted_bytes`: true to grow, false when it already has that size, an error when it would
// shrink (a disk's end holds the guest's data; nothing can cut it off safely).
Result<bool> root_disk_must_grow(std::string_view name, uint64_t current_bytes,
                                 uint64_t wanted_bytes);

// Checks every key of an instance config: limits.* values must parse and unknown keys are refused
// (a typo must not be silently ignored).
Result<> validate_config_key(std::string_view key, std::string_view value);
Result<ResourceLimits> limits_from_config(const Json& config);
// boot.agent_timeout of an instance config, when set.
Result<std::optional<std::chrono::seconds>> agent_timeout_from_config(const Json& config);

// Refuses keys that mean nothing for an instance of `type` ("container" or "vm") rather than
// ignore them: limits.disk and boot.agent_timeout on a container. Keys set to null (removed) pass.
Result<> validate_config_for_type(InstanceKind kind, const Json& config);

}  // namespace vessel::manager
