// Where the systemd cgroup driver puts a container: linux.cgroupsPath "slice:prefix:name" read the
// way runc reads it with --systemd-cgroup, and systemd's own naming rules for slices
// (systemd.slice(5): "a-b.slice" is the child of "a.slice", so its cgroup is /a.slice/a-b.slice).
#pragma once

#include <string>
#include <string_view>

#include "base/error.h"

namespace vessel::host::cgroup {

struct SystemdPlacement {
    std::string unit;   // "docker-abc.scope", or "a-b.slice" when the name asks for a slice
    std::string slice;  // the slice a scope goes into ("system.slice"); empty for a slice unit
    std::string
        path;  // the unit's cgroup below the hierarchy root: "/system.slice/docker-abc.scope"

    bool is_slice() const { return slice.empty(); }
};

// "system.slice:docker:abc" -> docker-abc.scope in system.slice at /system.slice/docker-abc.scope.
// An empty slice is system.slice; an empty prefix gives "name.scope"; a name ending in ".slice"
// is a slice unit of its own, placed where its name says (an explicit slice must agree); an empty
// cgroupsPath is "system.slice:vessel:<id>". Errors say what is wrong with which part.
Result<SystemdPlacement> systemd_placement(std::string_view cgroups_path, std::string_view id);

// The cgroup directory of a slice below the root: "a-b.slice" -> "/a.slice/a-b.slice";
// "-.slice" (the root slice) -> "".
Result<std::string> expand_slice(std::string_view slice);

// Whether a linux.cgroupsPath is meant for the systemd driver (it has the colons).
inline bool is_systemd_cgroups_path(std::string_view cgroups_path) {
    return cgroups_path.find(':') != std::string_view::npos;
}

}  // namespace vessel::host::cgroup
