// Which cgroup hierarchies the host has: pure v1, pure v2 (unified), or hybrid (v1 controllers plus
// a cgroup2 tree, usually at /sys/fs/cgroup/unified, with few or no controllers). Read from
// /proc/self/mountinfo so that it reflects the mount namespace we run in.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace vessel::host::cgroup {

enum class LayoutKind { v1, hybrid, v2 };

struct V1Hierarchy {
    std::string mount_point;               // /sys/fs/cgroup/cpu,cpuacct
    std::vector<std::string> controllers;  // {"cpu", "cpuacct"}
    std::string options;                   // the mount's super options, for mounting it again

    bool has(std::string_view controller) const;
};

struct HostLayout {
    LayoutKind kind = LayoutKind::v2;
    std::vector<V1Hierarchy> v1;  // controller hierarchies only (no named ones like name=systemd)
    std::string unified;          // cgroup2 mount point; empty when there is none

    const V1Hierarchy* find_v1(std::string_view controller) const;
};

// The directory of cgroup `path` for `controller`: in its v1 hierarchy, or in the unified tree on
// a pure v2 host; nullopt when the host has no such hierarchy.
std::optional<std::string> controller_directory(const HostLayout& layout, const char* controller,
                                                const std::string& path);

// Parses mountinfo text (split out for tests).
Result<HostLayout> parse_layout(std::string_view mountinfo);
Result<HostLayout> detect_layout();

const char* layout_name(LayoutKind kind);

}  // namespace vessel::host::cgroup
