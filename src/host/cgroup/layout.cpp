#include "host/cgroup/layout.h"

#include <algorithm>
#include <array>

#include "base/file.h"

namespace vessel::host::cgroup {

namespace {

constexpr std::array<std::string_view, 14> kControllers{
    "cpu",      "cpuacct", "cpuset",     "memory",  "devices", "freezer", "net_cls",
    "net_prio", "blkio",   "perf_event", "hugetlb", "pids",    "rdma",    "misc"};

std::vector<std::string_view> split(std::string_view text, char separator) {
    std::vector<std::string_view> parts;
    size_t position = 0;
    while (position <= text.size()) {
        size_t end = text.find(separator, position);
        if (end == std::string_view::npos) end = text.size();
        parts.push_back(text.substr(position, end - position));
        position = end + 1;
    }
    return parts;
}

}  // namespace

bool V1Hierarchy::has(std::string_view controller) const {
    return std::find(controllers.begin(), controllers.end(), controller) != controllers.end();
}

const V1Hierarchy* HostLayout::find_v1(std::string_view controller) const {
    for (const auto& hierarchy : v1)
        if (hierarchy.has(controller)) return &hierarchy;
    return nullptr;
}

std::optional<std::string> controller_directory(const HostLayout& layout, const char* controller,
                                                const std::string& path) {
    if (layout.kind == LayoutKind::v2) return layout.unified + path;
    const V1Hierarchy* hierarchy = layout.find_v1(controller);
    if (!hierarchy) return std::nullopt;
    return hierarchy->mount_point + path;
}

const char* layout_name(LayoutKind kind) {
    switch (kind) {
        case LayoutKind::v1:
            return "v1";
        case LayoutKind::hybrid:
            return "hybrid";
        case LayoutKind::v2:
            return "v2";
    }
    return "?";
}

Result<HostLayout> parse_layout(std::string_view mountinfo) {
    HostLayout layout;
    for (std::string_view line : split(mountinfo, '\n')) {
        auto fields = split(line, ' ');
        // id parent dev root mount-point options [optional...] - fstype source super-options
        auto dash = std::find(fields.begin(), fields.end(), "-");
        if (fields.size() < 10 || dash == fields.end() || fields.end() - dash < 4) continue;
        std::string_view root = fields[3];
        std::string_view mount_point = fields[4];
        std::string_view type = dash[1];
        std::string_view super_options = dash[3];
        if (root != "/") continue;  // a bind mount of a sub-tree, not the hierarchy itself
        if (type == "cgroup2") {
            if (layout.unified.empty() || mount_point == "/sys/fs/cgroup" ||
                mount_point == "/sys/fs/cgroup/unified")
                layout.unified = std::string(mount_point);
        } else if (type == "cgroup") {
            V1Hierarchy hierarchy{.mount_point = std::string(mount_point),
                                  .controllers = {},
                                  .options = std::string(super_options)};
            for (auto option : split(super_options, ','))
                if (std::find(kControllers.begin(), kControllers.end(), option) !=
                    kControllers.end())
                    hierarchy.controllers.emplace_back(option);
            if (hierarchy.controllers.empty()) continue;  // name=systemd and other named trees
            bool duplicate = std::any_of(
                layout.v1.begin(), layout.v1.end(),
                [&](const V1Hierarchy& h) { return h.controllers == hierarchy.controllers; });
            if (!duplicate) layout.v1.push_back(std::move(hierarchy));
        }
    }
    if (layout.v1.empty() && layout.unified.empty()) return fail("no cgroup hierarchy is mounted");
    layout.kind = layout.v1.empty()        ? LayoutKind::v2
                  : layout.unified.empty() ? LayoutKind::v1
                                           : LayoutKind::hybrid;
    return layout;
}

Result<HostLayout> detect_layout() {
    std::string mountinfo = TRY_CTX(read_file("/proc/self/mountinfo"), "detect the cgroup layout");
    return parse_layout(mountinfo);
}

}  // namespace vessel::host::cgroup
