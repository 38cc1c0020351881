#include "agent/guest_state.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bit>
#include <cctype>
#include <cstdint>
#include <optional>
#include <set>
#include <sstream>

#include "agent/reply.h"
#include "base/file.h"
#include "base/kernel_counters.h"

namespace vessel::agent {

namespace {

// /proc/mounts writes a space, tab, newline or backslash in a path as \ooo.
std::string unescape_mount_path(std::string_view text) {
    std::string path;
    for (size_t i = 0; i < text.size(); ++i) {
        bool octal = text[i] == '\\' && i + 4 <= text.size() &&
                     text.substr(i + 1, 3).find_first_not_of("01234567") == std::string_view::npos;
        if (!octal) {
            path += text[i];
            continue;
        }
        int value = 0;
        for (char digit : text.substr(i + 1, 3))
            value = value * 8 + (digit - '0');
        path += static_cast<char>(value);
        i += 3;
    }
    return path;
}

// One os-release value: unquoted, or in single or double quotes with backslash escapes.
std::string os_release_value(std::string_view raw) {
    if (raw.size() >= 2 && (raw.front() == '"' || raw.front() == '\'') &&
        raw.back() == raw.front()) {
        std::string value;
        raw = raw.substr(1, raw.size() - 2);
        for (size_t i = 0; i < raw.size(); ++i) {
            if (raw[i] == '\\' && i + 1 < raw.size()) ++i;
            value += raw[i];
        }
        return value;
    }
    return std::string(raw);
}

Json os_release() {
    Json os = Json::object();
    auto text = read_file("/etc/os-release");
    if (!text) text = read_file("/usr/lib/os-release");
    if (!text) return os;
    std::istringstream lines(*text);
    std::string line;
    while (std::getline(lines, line)) {
        auto equals = line.find('=');
        if (equals == std::string::npos) continue;
        auto key = line.substr(0, equals);
        std::string_view value(line);
        value.remove_prefix(equals + 1);
        if (key == "ID" || key == "VERSION_ID" || key == "PRETTY_NAME") {
            std::string lower = key;
            for (char& c : lower)
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            os[lower] = os_release_value(value);
        }
    }
    return os;
}

Json memory() {
    Json memory = Json::object();
    auto text = read_file("/proc/meminfo");
    if (!text) return memory;
    std::istringstream lines(*text);
    std::string key;
    uint64_t kib = 0, free_kib = 0;
    std::string unit;
    bool have_available = false;
    while (lines >> key >> kib) {
        std::getline(lines, unit);
        if (key == "MemTotal:") memory["total"] = kib * 1024;
        if (key == "MemAvailable:") {
            memory["available"] = kib * 1024;
            have_available = true;
        }
        if (key == "MemFree:") free_kib = kib;
    }
    // Kernels before 3.14 have no MemAvailable; free memory is the closest lower bound.
    if (!have_available && memory.contains("total")) memory["available"] = free_kib * 1024;
    return memory;
}

int prefix_length(const sockaddr* netmask) {
    if (netmask == nullptr) return 0;
    int bits = 0;
    if (netmask->sa_family == AF_INET) {
        auto* mask = reinterpret_cast<const sockaddr_in*>(netmask);
        bits = std::popcount(mask->sin_addr.s_addr);
    } else if (netmask->sa_family == AF_INET6) {
        auto* mask = reinterpret_cast<const sockaddr_in6*>(netmask);
        for (uint8_t byte : mask->sin6_addr.s6_addr)
            bits += std::popcount(byte);
    }
    return bits;
}

Json addresses() {
    Json list = Json::array();
    ifaddrs* all = nullptr;
    if (::getifaddrs(&all) != 0) return list;
    for (ifaddrs* entry = all; entry != nullptr; entry = entry->ifa_next) {
        if (entry->ifa_addr == nullptr || (entry->ifa_flags & IFF_LOOPBACK) != 0) continue;
        int family = entry->ifa_addr->sa_family;
        if (family != AF_INET && family != AF_INET6) continue;
        char text[INET6_ADDRSTRLEN] = {};
        const void* address =
            family == AF_INET
                ? static_cast<const void*>(
                      &reinterpret_cast<const sockaddr_in*>(entry->ifa_addr)->sin_addr)
                : static_cast<const void*>(
                      &reinterpret_cast<const sockaddr_in6*>(entry->ifa_addr)->sin6_addr);
        if (::inet_ntop(family, address, text, sizeof text) == nullptr) continue;
        list.push_back({{"interface", entry->ifa_name},
                        {"family", family == AF_INET ? "inet" : "inet6"},
                        {"address", text},
                        {"prefix", prefix_length(entry->ifa_netmask)}});
    }
    ::freeifaddrs(all);
    return list;
}

Json disks() {
    Json list = Json::array();
    std::set<std::string> seen;
    for (const auto& mount : read_mounts()) {
        // Block devices only: the pseudo and memory filesystems say nothing about disk space.
        if (!mount.device.starts_with("/dev/") || !seen.insert(mount.device).second) continue;
        struct statvfs usage {};
        if (::statvfs(mount.point.c_str(), &usage) != 0) continue;
        list.push_back({{"mount", mount.point},
                        {"total", uint64_t{usage.f_blocks} * usage.f_frsize},
                        {"free", uint64_t{usage.f_bavail} * usage.f_frsize}});
    }
    return list;
}

// Every process of the guest: /proc's numeric entries.
std::optional<uint64_t> process_count() {
    DIR* proc = ::opendir("/proc");
    if (proc == nullptr) return std::nullopt;
    uint64_t count = 0;
    while (dirent* entry = ::readdir(proc)) {
        std::string_view name = entry->d_name;
        if (!name.empty() && name.find_first_not_of("0123456789") == std::string_view::npos)
            ++count;
    }
    ::closedir(proc);
    return count;
}

Json network_counters() {
    Json list = Json::array();
    auto text = read_file("/proc/net/dev");
    if (!text) return list;
    for (const auto& counters : parse_net_dev(*text))
        list.push_back({{"interface", counters.interface},
                        {"received_bytes", counters.received_bytes},
                        {"received_packets", counters.received_packets},
                        {"sent_bytes", counters.sent_bytes},
                        {"sent_packets", counters.sent_packets}});
    return list;
}

// Whole disks only (those in /sys/block), so that a partition's I/O is not counted twice; loop and
// RAM disks are memory, not disk.
Json disk_counters() {
    Json list = Json::array();
    auto text = read_file("/proc/diskstats");
    if (!text) return list;
    for (const auto& counters : parse_diskstats(*text)) {
        if (counters.device.starts_with("loop") || counters.device.starts_with("ram") ||
            counters.device.starts_with("zram") || !path_exists("/sys/block/" + counters.device))
            continue;
        list.push_back({{"device", counters.device},
                        {"read_bytes", counters.read_bytes},
                        {"written_bytes", counters.written_bytes}});
    }
    return list;
}

}  // namespace

std::vector<MountEntry> read_mounts() {
    std::vector<MountEntry> mounts;
    auto text = read_file("/proc/mounts");
    if (!text) return mounts;
    std::istringstream lines(*text);
    std::string line;
    while (std::getline(lines, line)) {
        std::istringstream fields(line);
        std::string device, point;
        if (fields >> device >> point)
            mounts.push_back({unescape_mount_path(device), unescape_mount_path(point)});
    }
    return mounts;
}

Json guest_info() {
    Json info = Json::object();
    char hostname[256] = {};
    if (::gethostname(hostname, sizeof hostname - 1) == 0) info["hostname"] = hostname;
    info["os"] = os_release();
    utsname names{};
    if (::uname(&names) == 0) {
        info["kernel"] = names.release;
        info["arch"] = names.machine;
    }
    if (auto uptime = read_file("/proc/uptime")) {
        std::istringstream fields(*uptime);
        double seconds = 0;
        if (fields >> seconds) info["uptime_s"] = seconds;
    }
    info["cpus"] = ::sysconf(_SC_NPROCESSORS_ONLN);
    if (auto loadavg = read_file("/proc/loadavg")) {
        std::istringstream fields(*loadavg);
        double one = 0, five = 0, fifteen = 0;
        if (fields >> one >> five >> fifteen) info["load"] = {one, five, fifteen};
    }
    info["memory"] = memory();
    info["addresses"] = addresses();
    info["disks"] = disks();
    if (auto processes = process_count()) info["processes"] = *processes;
    info["network"] = network_counters();
    info["disk_io"] = disk_counters();
    return info;
}

Result<> run_info(int connection) {
    return reply_ok(connection, guest_info());
}

}  // namespace vessel::agent
