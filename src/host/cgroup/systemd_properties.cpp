#include "host/cgroup/systemd_properties.h"

#include <algorithm>
#include <charconv>

namespace vessel::host::cgroup {

namespace {

// A bound far above any machine's CPUs or memory nodes that keeps a typo from asking for a
// gigabyte of mask.
constexpr uint64_t kMaxCpuIndex = 8191;

Result<uint64_t> parse_index(std::string_view text, std::string_view list) {
    uint64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc() || end != text.data() + text.size())
        return fail("\"{}\": \"{}\" is not a number", list, text);
    if (value > kMaxCpuIndex) return fail("\"{}\": {} is beyond {}", list, value, kMaxCpuIndex);
    return value;
}

uint64_t limit_or_infinity(int64_t value) {
    return value < 0 ? kUnitInfinity : static_cast<uint64_t>(value);
}

bool everything(const DeviceRule& rule) {
    return rule.type == 'a' && !rule.major && !rule.minor;
}

// Whether a deny rule takes away (some of) what an allowed entry gives.
bool touches(const DeviceRule& deny, const DeviceRule& entry) {
    bool type = deny.type == 'a' || entry.type == 'a' || deny.type == entry.type;
    bool major = !deny.major || !entry.major || *deny.major == *entry.major;
    bool minor = !deny.minor || !entry.minor || *deny.minor == *entry.minor;
    return type && major && minor;
}

void add_entries(const DeviceRule& rule, const DeviceGroups& groups, DeviceAllowList& list) {
    for (char type : {'c', 'b'}) {
        if (rule.type != 'a' && rule.type != type) continue;
        const char* kind = type == 'c' ? "char" : "block";
        if (!rule.major) {
            // Any major: every group; a given minor of any major has no systemd name.
            if (!rule.minor) list.emplace_back(fmt::format("{}-*", kind), rule.access);
        } else if (rule.minor) {
            list.emplace_back(fmt::format("/dev/{}/{}:{}", kind, *rule.major, *rule.minor),
                              rule.access);
        } else {
            const auto& names = type == 'c' ? groups.character : groups.block;
            if (auto name = names.find(*rule.major); name != names.end())
                list.emplace_back(fmt::format("{}-{}", kind, name->second), rule.access);
        }
    }
}

}  // namespace

DeviceGroups parse_device_groups(std::string_view text) {
    DeviceGroups groups;
    std::map<int64_t, std::string>* section = nullptr;
    size_t position = 0;
    while (position < text.size()) {
        size_t end = std::min(text.find('\n', position), text.size());
        std::string_view line = text.substr(position, end - position);
        position = end + 1;
        if (line.starts_with("Character devices:")) {
            section = &groups.character;
        } else if (line.starts_with("Block devices:")) {
            section = &groups.block;
        } else if (section) {
            size_t first = line.find_first_not_of(' ');
            if (first == std::string_view::npos) continue;
            line.remove_prefix(first);
            int64_t major = 0;
            auto [after, error] = std::from_chars(line.data(), line.data() + line.size(), major);
            if (error != std::errc() || after == line.data() + line.size() || *after != ' ')
                continue;
            std::string_view name = line.substr(static_cast<size_t>(after - line.data()) + 1);
            if (!name.empty()) section->emplace(major, std::string(name));
        }
    }
    return groups;
}

std::vector<UnitProperty> device_properties(const std::vector<DeviceRule>& rules,
                                            const DeviceGroups& groups) {
    bool allow_all = true;  // what a cgroup starts with
    std::vector<DeviceRule> allowed;
    for (const DeviceRule& rule : rules) {
        if (everything(rule) && rule.allow && rule.access.size() == 3) {
            allow_all = true;
            allowed.clear();
        } else if (everything(rule) && !rule.allow) {
            allow_all = false;
            allowed.clear();
        } else if (rule.allow) {
            if (!allow_all) allowed.push_back(rule);
        } else {
            // "Everything but this" has no systemd form: nothing of that type, stricter.
            if (allow_all) {
                allow_all = false;
                allowed = {{.allow = true, .type = 'c', .access = "rwm"},
                           {.allow = true, .type = 'b', .access = "rwm"}};
            }
            std::erase_if(allowed,
                          [&](const DeviceRule& entry) { return touches(rule, entry); });
        }
    }
    DeviceAllowList list;
    if (!allow_all)
        for (const DeviceRule& rule : allowed)
            add_entries(rule, groups, list);
    return {{"DevicePolicy", std::string(allow_all ? "auto" : "strict")},
            {"DeviceAllow", std::move(list)}};
}

Result<std::vector<uint8_t>> cpu_list_mask(std::string_view list) {
    std::vector<uint8_t> mask;
    size_t position = 0;
    while (position <= list.size()) {
        size_t comma = std::min(list.find(',', position), list.size());
        std::string_view item = list.substr(position, comma - position);
        size_t dash = item.find('-');
        uint64_t first = TRY(parse_index(item.substr(0, dash), list));
        uint64_t last =
            dash == std::string_view::npos ? first : TRY(parse_index(item.substr(dash + 1), list));
        if (last < first) return fail("\"{}\": the range {} runs backwards", list, item);
        if (mask.size() < last / 8 + 1) mask.resize(last / 8 + 1);
        for (uint64_t cpu = first; cpu <= last; ++cpu)
            mask[cpu / 8] |= static_cast<uint8_t>(1u << (cpu % 8));
        position = comma + 1;
    }
    return mask;
}

Result<std::vector<UnitProperty>> resource_properties(const Resources& r, bool unified,
                                                      const DeviceGroups& groups) {
    std::vector<UnitProperty> properties;
    const auto& m = r.memory;
    if (m.limit)
        properties.push_back({unified ? "MemoryMax" : "MemoryLimit", limit_or_infinity(*m.limit)});
    if (unified && m.reservation)
        properties.push_back({"MemoryLow", limit_or_infinity(*m.reservation)});
    // OCI's swap is memory + swap; v2 (and so systemd) limits swap alone. Without a memory limit
    // the cgroupfs driver refuses it with the reason.
    if (unified && m.swap) {
        if (*m.swap < 0)
            properties.push_back({"MemorySwapMax", kUnitInfinity});
        else if (m.limit && *m.limit >= 0 && *m.swap >= *m.limit)
            properties.push_back({"MemorySwapMax", static_cast<uint64_t>(*m.swap - *m.limit)});
    }
    const auto& c = r.cpu;
    if (c.shares) {
        // The kernel's cpu.shares range, and the v2 weight the cgroupfs driver writes for it.
        if (*c.shares < 2 || *c.shares > 262144)
            return fail("linux.resources.cpu.shares: {} is outside 2..262144", *c.shares);
        if (unified)
            properties.push_back({"CPUWeight", 1 + ((*c.shares - 2) * 9999) / 262142});
        else
            properties.push_back({"CPUShares", *c.shares});
    }
    if (c.period) properties.push_back({"CPUQuotaPeriodUSec", *c.period});
    if (c.quota) {
        uint64_t per_second = kUnitInfinity;
        if (*c.quota > 0) {
            uint64_t period = c.period.value_or(100000);
            if (period == 0) return fail("linux.resources.cpu.period: must not be 0");
            // Rounded up: a quota systemd rounded down to 0 would mean "no limit".
            per_second = (static_cast<uint64_t>(*c.quota) * 1000000 + period - 1) / period;
        }
        properties.push_back({"CPUQuotaPerSecUSec", per_second});
    }
    if (unified && !c.cpus.empty())
        properties.push_back(
            {"AllowedCPUs", TRY_CTX(cpu_list_mask(c.cpus), "linux.resources.cpu.cpus")});
    if (unified && !c.mems.empty())
        properties.push_back(
            {"AllowedMemoryNodes", TRY_CTX(cpu_list_mask(c.mems), "linux.resources.cpu.mems")});
    if (r.pids_limit)
        properties.push_back(
            {"TasksMax", *r.pids_limit > 0 ? static_cast<uint64_t>(*r.pids_limit) : kUnitInfinity});
    if (!r.devices.empty())
        for (UnitProperty& property : device_properties(r.devices, groups))
            properties.push_back(std::move(property));
    return properties;
}

}  // namespace vessel::host::cgroup
