#include "manager/instance/usage.h"

#include <fmt/format.h>

#include "base/file.h"

namespace vessel::manager {

namespace {

// The kernel's name of a block device ("sda", "nvme0n1"), or "MAJ:MIN" when sysfs does not say.
std::string block_device_name(unsigned major, unsigned minor) {
    auto numbers = fmt::format("{}:{}", major, minor);
    auto uevent = read_file("/sys/dev/block/" + numbers + "/uevent");
    if (!uevent) return numbers;
    auto at = uevent->find("DEVNAME=");
    if (at == std::string::npos) return numbers;
    at += 8;
    return uevent->substr(at, uevent->find('\n', at) - at);
}

std::optional<uint64_t> unsigned_field(const Json& object, const char* key) {
    auto found = object.find(key);
    if (found == object.end() || !found->is_number_integer()) return std::nullopt;
    // Parsed text gives a non-negative number unsigned; one built in code may be signed.
    if (found->is_number_unsigned()) return found->get<uint64_t>();
    auto value = found->get<int64_t>();
    if (value < 0) return std::nullopt;
    return static_cast<uint64_t>(value);
}

std::string string_field(const Json& object, const char* key) {
    auto found = object.find(key);
    if (found == object.end() || !found->is_string()) return {};
    return found->get<std::string>();
}

// A guest may report anything: it gets at most this many interfaces or disks, each name at most
// this long (a kernel's are 15 and 32 bytes), so that one guest cannot swell every scrape.
constexpr size_t max_guest_entries = 64;
constexpr size_t max_guest_name = 64;

// The objects of a list in the report, skipping anything else the guest put there.
template <typename Read>
void for_each_object(const Json& report, const char* key, Read read) {
    auto list = report.find(key);
    if (list == report.end() || !list->is_array()) return;
    size_t taken = 0;
    for (const auto& entry : *list)
        if (entry.is_object() && taken < max_guest_entries) taken += read(entry) ? 1 : 0;
}

}  // namespace

InstanceUsage container_usage(const host::cgroup::Usage& cgroup,
                              const std::optional<std::string>& net_dev) {
    InstanceUsage usage{.cpu_user_ns = cgroup.cpu_user_ns,
                        .cpu_system_ns = cgroup.cpu_system_ns,
                        .memory_bytes = cgroup.memory_bytes,
                        .memory_limit_bytes = cgroup.memory_limit_bytes,
                        .processes = cgroup.processes};
    if (net_dev) usage.network = parse_net_dev(*net_dev);
    for (const auto& device : cgroup.io)
        usage.disks.push_back({.device = block_device_name(device.major, device.minor),
                               .read_bytes = device.read_bytes,
                               .written_bytes = device.written_bytes});
    return usage;
}

InstanceUsage vm_usage(const host::cgroup::Usage& cgroup, const std::optional<Json>& guest_report) {
    InstanceUsage usage{.cpu_user_ns = cgroup.cpu_user_ns,
                        .cpu_system_ns = cgroup.cpu_system_ns,
                        .host_memory_bytes = cgroup.memory_bytes};
    if (!guest_report || !guest_report->is_object()) return usage;
    const Json& report = *guest_report;
    if (auto memory = report.find("memory"); memory != report.end() && memory->is_object()) {
        auto total = unsigned_field(*memory, "total");
        auto available = unsigned_field(*memory, "available");
        usage.memory_limit_bytes = total;
        if (total && available && *available <= *total) usage.memory_bytes = *total - *available;
    }
    usage.processes = unsigned_field(report, "processes");
    for_each_object(report, "network", [&](const Json& entry) {
        auto name = string_field(entry, "interface");
        if (name.empty() || name.size() > max_guest_name) return false;
        usage.network.push_back(
            {.interface = name,
             .received_bytes = unsigned_field(entry, "received_bytes").value_or(0),
             .received_packets = unsigned_field(entry, "received_packets").value_or(0),
             .sent_bytes = unsigned_field(entry, "sent_bytes").value_or(0),
             .sent_packets = unsigned_field(entry, "sent_packets").value_or(0)});
        return true;
    });
    for_each_object(report, "disk_io", [&](const Json& entry) {
        auto name = string_field(entry, "device");
        if (name.empty() || name.size() > max_guest_name) return false;
        usage.disks.push_back(
            {.device = name,
             .read_bytes = unsigned_field(entry, "read_bytes").value_or(0),
             .written_bytes = unsigned_field(entry, "written_bytes").value_or(0)});
        return true;
    });
    return usage;
}

}  // namespace vessel::manager
