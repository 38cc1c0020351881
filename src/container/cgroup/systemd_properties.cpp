#include "container/cgroup/systemd_properties.h"

#include <charconv>

namespace vessel::container::cgroup {

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

}  // namespace

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

Result<std::vector<UnitProperty>> resource_properties(const spec::Resources& r, bool unified) {
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
    return properties;
}

}  // namespace vessel::container::cgroup
