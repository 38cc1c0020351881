// linux.resources as systemd unit properties (systemd.resource-control(5)), for StartTransientUnit
// and SetUnitProperties. systemd is told every limit it has a property for, so that it does not
// undo one the next time it writes the unit's cgroup (a daemon-reload, another unit's change); the
// cgroupfs driver then writes every limit into the files as well, those systemd knows no property
// for included.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/error.h"
#include "container/spec/spec.h"

namespace vessel::container::cgroup {

// The D-Bus types the properties use: b, t, s, au, ay.
using UnitPropertyValue =
    std::variant<bool, uint64_t, std::string, std::vector<uint32_t>, std::vector<uint8_t>>;

struct UnitProperty {
    std::string name;
    UnitPropertyValue value;
};

// systemd's "infinity" for a limit.
inline constexpr uint64_t kUnitInfinity = UINT64_MAX;

// The properties for the limits `resources` names (only those: an update changes no other). On
// cgroup v1 (`unified` false) memory is MemoryLimit and cpu.shares CPUShares; v2 has MemoryMax,
// MemorySwapMax, MemoryLow, CPUWeight, AllowedCPUs and AllowedMemoryNodes. Errors name the field.
Result<std::vector<UnitProperty>> resource_properties(const spec::Resources& resources,
                                                      bool unified);

// A cpuset list ("0-3,8") as systemd's AllowedCPUs byte mask: bit n of byte n/8 for CPU n.
Result<std::vector<uint8_t>> cpu_list_mask(std::string_view list);

}  // namespace vessel::container::cgroup
