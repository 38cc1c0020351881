#include "host/cgroup/stats.h"

#include "host/cgroup/cgroup.h"

#include <unistd.h>

#include <charconv>
#include <map>
#include <optional>

#include "base/file.h"

namespace vessel::host::cgroup {

namespace {

std::optional<uint64_t> read_number(const std::string& file) {
    auto text = read_file(file);
    if (!text) return std::nullopt;
    std::string_view value = *text;
    while (!value.empty() && (value.back() == '\n' || value.back() == ' '))
        value.remove_suffix(1);
    if (value == "max") return 0;  // unlimited, as runc reports it
    uint64_t number = 0;
    auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
    if (error != std::errc() || end != value.data() + value.size()) return std::nullopt;
    return number;
}

// "key value" lines (memory.stat, cpu.stat, cpuacct.stat).
std::map<std::string, uint64_t> read_key_values(const std::string& file) {
    std::map<std::string, uint64_t> values;
    auto text = read_file(file);
    if (!text) return values;
    size_t position = 0;
    while (position < text->size()) {
        size_t end = text->find('\n', position);
        if (end == std::string::npos) end = text->size();
        std::string_view line(text->data() + position, end - position);
        size_t space = line.find(' ');
        if (space != std::string_view::npos) {
            uint64_t number = 0;
            auto digits = line.substr(space + 1);
            if (std::from_chars(digits.data(), digits.data() + digits.size(), number).ec ==
                std::errc())
                values[std::string(line.substr(0, space))] = number;
        }
        position = end + 1;
    }
    return values;
}

void set_if(Json& object, const char* key, std::optional<uint64_t> value) {
    if (value) object[key] = *value;
}

Json cpu_stats(const HostLayout& layout, const std::string& path) {
    Json cpu = Json::object();
    if (layout.kind == LayoutKind::v2) {
        auto stat = read_key_values(layout.unified + path + "/cpu.stat");
        cpu["usage"] = {{"total", stat["usage_usec"] * 1000},
                        {"user", stat["user_usec"] * 1000},
                        {"kernel", stat["system_usec"] * 1000}};
        cpu["throttling"] = {{"periods", stat["nr_periods"]},
                             {"throttled_periods", stat["nr_throttled"]},
                             {"throttled_time", stat["throttled_usec"] * 1000}};
        return cpu;
    }
    if (auto accounting = controller_directory(layout, "cpuacct", path)) {
        Json usage = Json::object();
        set_if(usage, "total", read_number(*accounting + "/cpuacct.usage"));
        // cpuacct.stat counts USER_HZ ticks.
        auto ticks = read_key_values(*accounting + "/cpuacct.stat");
        uint64_t nanoseconds_per_tick =
            1000000000ull / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
        usage["user"] = ticks["user"] * nanoseconds_per_tick;
        usage["kernel"] = ticks["system"] * nanoseconds_per_tick;
        cpu["usage"] = usage;
    }
    if (auto scheduler = controller_directory(layout, "cpu", path)) {
        auto stat = read_key_values(*scheduler + "/cpu.stat");
        cpu["throttling"] = {{"periods", stat["nr_periods"]},
                             {"throttled_periods", stat["nr_throttled"]},
                             {"throttled_time", stat["throttled_time"]}};
    }
    return cpu;
}

Json memory_stats(const std::string& directory, bool v2) {
    Json usage = Json::object();
    if (v2) {
        set_if(usage, "usage", read_number(directory + "/memory.current"));
        set_if(usage, "max", read_number(directory + "/memory.peak"));
        set_if(usage, "limit", read_number(directory + "/memory.max"));
        usage["failcnt"] = read_key_values(directory + "/memory.events")["max"];
    } else {
        set_if(usage, "usage", read_number(directory + "/memory.usage_in_bytes"));
        set_if(usage, "max", read_number(directory + "/memory.max_usage_in_bytes"));
        set_if(usage, "limit", read_number(directory + "/memory.limit_in_bytes"));
        set_if(usage, "failcnt", read_number(directory + "/memory.failcnt"));
    }
    Json memory = {{"usage", usage}, {"raw", Json::object()}};
    for (const auto& [key, value] : read_key_values(directory + "/memory.stat"))
        memory["raw"][key] = value;
    return memory;
}

}  // namespace

Result<Json> read_stats(const HostLayout& layout, const std::string& path) {
    if (path.empty()) return fail("{}", kNoCgroupReason);
    Json data = Json::object();
    data["cpu"] = cpu_stats(layout, path);
    bool v2 = layout.kind == LayoutKind::v2;
    if (auto memory = controller_directory(layout, "memory", path))
        data["memory"] = memory_stats(*memory, v2);
    if (auto pids = controller_directory(layout, "pids", path)) {
        Json entry = Json::object();
        set_if(entry, "current", read_number(*pids + "/pids.current"));
        set_if(entry, "limit", read_number(*pids + "/pids.max"));
        data["pids"] = entry;
    }
    return data;
}

}  // namespace vessel::host::cgroup
