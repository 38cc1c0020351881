#include "container/spec/default_spec.h"

#include "container/linux/capabilities.h"
#include "container/linux/seccomp.h"

namespace vessel::container::spec {

Json default_spec() {
    Json process = {
        {"terminal", false},
        {"user", {{"uid", 0}, {"gid", 0}}},
        {"args", {"sh"}},
        {"env",
         {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"}},
        {"cwd", "/"},
        {"rlimits", {{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}}},
        {"noNewPrivileges", true},
        {"capabilities", default_capabilities_json()},
    };
    Json mounts = Json::array({
        {{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
        {{"destination", "/dev"},
         {"type", "tmpfs"},
         {"source", "tmpfs"},
         {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
        {{"destination", "/dev/pts"},
         {"type", "devpts"},
         {"source", "devpts"},
         {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}}},
        {{"destination", "/dev/shm"},
         {"type", "tmpfs"},
         {"source", "shm"},
         {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
        {{"destination", "/dev/mqueue"},
         {"type", "mqueue"},
         {"source", "mqueue"},
         {"options", {"nosuid", "noexec", "nodev"}}},
        {{"destination", "/sys"},
         {"type", "sysfs"},
         {"source", "sysfs"},
         {"options", {"nosuid", "noexec", "nodev", "ro"}}},
        {{"destination", "/sys/fs/cgroup"},
         {"type", "cgroup"},
         {"source", "cgroup"},
         {"options", {"nosuid", "noexec", "nodev", "relatime", "ro"}}},
    });
    Json linux_section = {
        {"resources", {{"devices", {{{"allow", false}, {"access", "rwm"}}}}}},
        {"namespaces",
         {{{"type", "pid"}},
          {{"type", "network"}},
          {{"type", "ipc"}},
          {{"type", "uts"}},
          {{"type", "mount"}},
          {{"type", "cgroup"}}}},
        {"maskedPaths",
         {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
          "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
          "/proc/scsi"}},
        {"seccomp", default_seccomp_profile_json()},
        {"readonlyPaths",
         {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}},
    };
    return Json{{"ociVersion", "1.2.0"},
                {"process", process},
                {"root", {{"path", "rootfs"}, {"readonly", true}}},
                {"hostname", "vessel"},
                {"mounts", mounts},
                {"linux", linux_section}};
}

Json rootless_spec(uid_t uid, gid_t gid) {
    Json spec = default_spec();
    Json& linux_section = spec["linux"];
    linux_section.erase("resources");
    Json namespaces = Json::array();
    for (const auto& ns : linux_section["namespaces"])
        if (ns["type"] != "network") namespaces.push_back(ns);
    namespaces.push_back({{"type", "user"}});
    linux_section["namespaces"] = namespaces;
    linux_section["uidMappings"] = {{{"containerID", 0}, {"hostID", uid}, {"size", 1}}};
    linux_section["gidMappings"] = {{{"containerID", 0}, {"hostID", gid}, {"size", 1}}};
    Json mounts = Json::array();
    for (auto mount : spec["mounts"]) {
        if (mount["destination"] == "/sys/fs/cgroup") continue;
        if (mount["destination"] == "/sys")
            mount = {{"destination", "/sys"},
                     {"type", "none"},
                     {"source", "/sys"},
                     {"options", {"rbind", "nosuid", "noexec", "nodev", "ro"}}};
        if (mount["type"] == "devpts") {
            Json options = Json::array();
            for (const auto& option : mount["options"])
                if (!option.get<std::string>().starts_with("gid=")) options.push_back(option);
            mount["options"] = options;
        }
        mounts.push_back(mount);
    }
    spec["mounts"] = mounts;
    return spec;
}

}  // namespace vessel::container::spec
