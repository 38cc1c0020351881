// Which cgroup hierarchies the host has: pure v1, pure v2 (unified), or hybrid (v1 controllers plus
// a cgroup2 tree, usually at /sys/fs/cgroup/unified, with few or no controllers). Read from
// /proc/self/mountinfo so that it reflects the mount namespace we run in.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace vessel::container::cgroup {

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

// Parses mountinfo text (split out for tests).
Result<HostLayout> parse_layout(std::string_view mountinfo);
Result<HostLayout> detect_layout();

const char* layout_name(LayoutKind kind);

}  // namespace vessel::container::cgroup
