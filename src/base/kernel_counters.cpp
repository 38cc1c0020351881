#include "base/kernel_counters.h"

#include <algorithm>
#include <charconv>

namespace vessel {

namespace {

// The next whitespace-separated field of `text`, advancing past it; empty at the end.
std::string_view next_field(std::string_view& text) {
    size_t start = text.find_first_not_of(" \t");
    if (start == std::string_view::npos) {
        text = {};
        return {};
    }
    size_t end = text.find_first_of(" \t", start);
    if (end == std::string_view::npos) end = text.size();
    auto field = text.substr(start, end - start);
    text.remove_prefix(end);
    return field;
}

bool read_number(std::string_view field, uint64_t& value) {
    auto [end, error] = std::from_chars(field.data(), field.data() + field.size(), value);
    return error == std::errc() && end == field.data() + field.size();
}

template <typename Visit>
void for_each_line(std::string_view text, Visit visit) {
    while (!text.empty()) {
        size_t end = text.find('\n');
        auto line = text.substr(0, end);
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
        visit(line);
    }
}

}  // namespace

std::vector<InterfaceCounters> parse_net_dev(std::string_view text) {
    std::vector<InterfaceCounters> interfaces;
    for_each_line(text, [&](std::string_view line) {
        // "  eth0: 1234 5 0 0 0 0 0 0 5678 9 0 0 0 0 0 0"; the two header lines have no colon
        // before their counters. A name is at most 15 bytes and may not hold a colon or a space.
        size_t colon = line.find(':');
        if (colon == std::string_view::npos) return;
        auto name = line.substr(0, colon);
        name.remove_prefix(std::min(name.find_first_not_of(' '), name.size()));
        if (name.empty() || name.find_first_of(" \t|") != std::string_view::npos) return;
        auto rest = line.substr(colon + 1);
        uint64_t counters[16];
        for (auto& counter : counters)
            if (!read_number(next_field(rest), counter)) return;
        if (!next_field(rest).empty() || name == "lo") return;
        interfaces.push_back({.interface = std::string(name),
                              .received_bytes = counters[0],
                              .received_packets = counters[1],
                              .sent_bytes = counters[8],
                              .sent_packets = counters[9]});
    });
    return interfaces;
}

std::vector<DiskCounters> parse_diskstats(std::string_view text) {
    std::vector<DiskCounters> disks;
    for_each_line(text, [&](std::string_view line) {
        // major minor name reads merged sectors-read ms writes merged sectors-written ...
        uint64_t major = 0, minor = 0, sectors_read = 0, sectors_written = 0, ignored = 0;
        if (!read_number(next_field(line), major) || !read_number(next_field(line), minor)) return;
        auto name = next_field(line);
        if (name.empty()) return;
        if (!read_number(next_field(line), ignored) || !read_number(next_field(line), ignored) ||
            !read_number(next_field(line), sectors_read) ||
            !read_number(next_field(line), ignored) || !read_number(next_field(line), ignored) ||
            !read_number(next_field(line), ignored) ||
            !read_number(next_field(line), sectors_written))
            return;
        disks.push_back({.device = std::string(name),
                         .read_bytes = sectors_read * 512,
                         .written_bytes = sectors_written * 512});
    });
    return disks;
}

}  // namespace vessel
