#include "host/cgroup/stats.h"

#include "host/cgroup/cgroup.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>

#include "base/file.h"

namespace vessel::host::cgroup {

namespace {

std::optional<uint64_t> parse_number(std::string_view text) {
    uint64_t number = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), number);
    if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return number;
}

std::optional<uint64_t> read_number(const std::string& file) {
    auto text = read_file(file);
    if (!text) return std::nullopt;
    std::string_view value = *text;
    while (!value.empty() && (value.back() == '\n' || value.back() == ' '))
        value.remove_suffix(1);
    if (value == "max") return 0;  // unlimited, as runc reports it
    return parse_number(value);
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

// "8:0" at the start of `field`.
std::optional<std::pair<unsigned, unsigned>> device_numbers(std::string_view field) {
    auto colon = field.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    unsigned major = 0, minor = 0;
    auto major_text = field.substr(0, colon), minor_text = field.substr(colon + 1);
    if (std::from_chars(major_text.data(), major_text.data() + major_text.size(), major).ec !=
            std::errc() ||
        std::from_chars(minor_text.data(), minor_text.data() + minor_text.size(), minor).ec !=
            std::errc())
        return std::nullopt;
    return std::pair{major, minor};
}

std::vector<std::string_view> split_words(std::string_view line) {
    std::vector<std::string_view> words;
    while (!line.empty()) {
        auto start = line.find_first_not_of(' ');
        if (start == std::string_view::npos) break;
        auto end = std::min(line.find(' ', start), line.size());
        words.push_back(line.substr(start, end - start));
        line.remove_prefix(end);
    }
    return words;
}

DeviceIo& entry_for(std::vector<DeviceIo>& devices, std::pair<unsigned, unsigned> numbers) {
    for (auto& device : devices)
        if (device.major == numbers.first && device.minor == numbers.second) return device;
    return devices.emplace_back(DeviceIo{.major = numbers.first, .minor = numbers.second});
}

template <typename Visit>
void for_each_line(std::string_view text, Visit visit) {
    while (!text.empty()) {
        size_t end = text.find('\n');
        visit(text.substr(0, end));
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    }
}

}  // namespace

std::vector<DeviceIo> parse_io_stat(std::string_view text) {
    std::vector<DeviceIo> devices;
    for_each_line(text, [&](std::string_view line) {
        auto words = split_words(line);
        if (words.empty()) return;
        auto numbers = device_numbers(words[0]);
        if (!numbers) return;
        auto& device = entry_for(devices, *numbers);
        for (size_t i = 1; i < words.size(); ++i) {
            auto equals = words[i].find('=');
            if (equals == std::string_view::npos) continue;
            auto value = parse_number(words[i].substr(equals + 1));
            if (!value) continue;
            auto key = words[i].substr(0, equals);
            if (key == "rbytes") device.read_bytes = *value;
            if (key == "wbytes") device.written_bytes = *value;
        }
    });
    return devices;
}

std::vector<DeviceIo> parse_blkio_service_bytes(std::string_view text) {
    std::vector<DeviceIo> devices;
    for_each_line(text, [&](std::string_view line) {
        auto words = split_words(line);
        if (words.size() != 3) return;  // "Total N" has two
        auto numbers = device_numbers(words[0]);
        auto value = parse_number(words[2]);
        if (!numbers || !value) return;
        auto& device = entry_for(devices, *numbers);
        if (words[1] == "Read") device.read_bytes = *value;
        if (words[1] == "Write") device.written_bytes = *value;
    });
    return devices;
}

Result<Usage> read_usage(const HostLayout& layout, const std::string& path) {
    if (path.empty()) return fail("{}", kNoCgroupReason);
    Usage usage;
    bool v2 = layout.kind == LayoutKind::v2;
    if (v2) {
        auto stat = read_key_values(layout.unified + path + "/cpu.stat");
        if (stat.contains("user_usec")) usage.cpu_user_ns = stat["user_usec"] * 1000;
        if (stat.contains("system_usec")) usage.cpu_system_ns = stat["system_usec"] * 1000;
    } else if (auto accounting = controller_directory(layout, "cpuacct", path)) {
        // USER_HZ ticks; cpuacct.usage_user and _sys would be finer but are missing on older
        // kernels, and the sum of both matches cpuacct.usage to a tick.
        auto ticks = read_key_values(*accounting + "/cpuacct.stat");
        uint64_t nanoseconds_per_tick =
            1000000000ull / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
        if (ticks.contains("user")) usage.cpu_user_ns = ticks["user"] * nanoseconds_per_tick;
        if (ticks.contains("system")) usage.cpu_system_ns = ticks["system"] * nanoseconds_per_tick;
    }
    if (auto memory = controller_directory(layout, "memory", path)) {
        usage.memory_bytes =
            read_number(*memory + (v2 ? "/memory.current" : "/memory.usage_in_bytes"));
        auto limit = read_number(*memory + (v2 ? "/memory.max" : "/memory.limit_in_bytes"));
        // v1 writes "no limit" as the largest page-aligned number.
        if (limit && *limit != 0 && *limit < (uint64_t{1} << 62)) usage.memory_limit_bytes = limit;
    }
    if (auto pids = controller_directory(layout, "pids", path))
        usage.processes = read_number(*pids + "/pids.current");
    if (v2) {
        if (auto text = read_file(layout.unified + path + "/io.stat"))
            usage.io = parse_io_stat(*text);
    } else if (auto blkio = controller_directory(layout, "blkio", path)) {
        // The throttle files count every bio whatever the I/O scheduler; the others only under
        // one that accounts (BFQ).
        if (auto text = read_file(*blkio + "/blkio.throttle.io_service_bytes_recursive"))
            usage.io = parse_blkio_service_bytes(*text);
    }
    return usage;
}

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
