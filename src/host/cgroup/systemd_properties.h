// linux.resources as systemd unit properties (systemd.resource-control(5)), for StartTransientUnit
// and SetUnitProperties. systemd is told every limit it has a property for, so that it does not
// undo one the next time it writes the unit's cgroup (a daemon-reload, another unit's change); the
// cgroupfs driver then writes every limit into the files as well, those systemd knows no property
// for included.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/error.h"
#include "host/cgroup/resources.h"

namespace vessel::host::cgroup {

// DeviceAllow's entries: (device, access) as "char-pts" "rwm", "/dev/char/1:3" "rwm".
using DeviceAllowList = std::vector<std::pair<std::string, std::string>>;

// The D-Bus types the properties use: b, t, s, au, ay, a(ss).
using UnitPropertyValue = std::variant<bool, uint64_t, std::string, std::vector<uint32_t>,
                                       std::vector<uint8_t>, DeviceAllowList>;

struct UnitProperty {
    std::string name;
    UnitPropertyValue value;
};

// systemd's "infinity" for a limit.
inline constexpr uint64_t kUnitInfinity = UINT64_MAX;

// The device groups of /proc/devices by major number ("136 pts" under "Character devices:").
struct DeviceGroups {
    std::map<int64_t, std::string> character;
    std::map<int64_t, std::string> block;
};
DeviceGroups parse_device_groups(std::string_view proc_devices);

// The properties for the limits `resources` names (only those: an update changes no other). On
// cgroup v1 (`unified` false) memory is MemoryLimit and cpu.shares CPUShares; v2 has MemoryMax,
// MemorySwapMax, MemoryLow, CPUWeight, AllowedCPUs and AllowedMemoryNodes. Device rules become
// DevicePolicy and DeviceAllow (see device_properties). Errors name the field.
Result<std::vector<UnitProperty>> resource_properties(const Resources& resources,
                                                      bool unified,
                                                      const DeviceGroups& groups = {});

// linux.resources.devices as DevicePolicy + DeviceAllow. systemd rewrites a unit's device
// access whenever it applies the unit's settings again (a daemon-reload, SetUnitProperties): on
// v1 with no DeviceAllow it allows every device ("a *:* rwm"), undoing the rules the cgroupfs
// driver wrote. So it is told the rules too, as an allow list: the rules are replayed in order
// (a deny of everything empties the list, an allow adds to it, a narrower deny removes every entry
// it touches). What systemd cannot name (a major without a /proc/devices name, a minor of any
// major) is left out, so that systemd's view is never wider than the rules.
std::vector<UnitProperty> device_properties(const std::vector<DeviceRule>& rules,
                                            const DeviceGroups& groups);

// A cpuset list ("0-3,8") as systemd's AllowedCPUs byte mask: bit n of byte n/8 for CPU n.
Result<std::vector<uint8_t>> cpu_list_mask(std::string_view list);

}  // namespace vessel::host::cgroup
