// Counters the kernel keeps in text files, read the same way inside a guest (the agent) and on the
// host (a container's network namespace through /proc/PID/net/dev): pure parsers of their text, so
// that each format is written down once and tested without the files.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vessel {

struct InterfaceCounters {
    std::string interface;
    uint64_t received_bytes = 0;
    uint64_t received_packets = 0;
    uint64_t sent_bytes = 0;
    uint64_t sent_packets = 0;
};

// /proc/net/dev: every interface but loopback, in the file's order. Lines that do not have the
// sixteen counters are skipped rather than read wrongly.
std::vector<InterfaceCounters> parse_net_dev(std::string_view text);

struct DiskCounters {
    std::string device;
    uint64_t read_bytes = 0;
    uint64_t written_bytes = 0;
};

// /proc/diskstats: every device line, bytes from its sectors (always 512 bytes there, whatever the
// device's own sector size).
std::vector<DiskCounters> parse_diskstats(std::string_view text);

}  // namespace vessel
