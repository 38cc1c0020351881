#include "container/runtime/features.h"

namespace vessel::container::runtime {

Json features() {
    Json mount_options = {
        "defaults",   "ro",          "rw",          "suid",          "nosuid",   "dev",
        "nodev",      "exec",        "noexec",      "sync",          "async",    "dirsync",
        "mand",       "nomand",      "atime",       "noatime",       "diratime", "nodiratime",
        "relatime",   "norelatime",  "strictatime", "nostrictatime", "bind",     "rbind",
        "private",    "rprivate",    "shared",      "rshared",       "slave",    "rslave",
        "unbindable", "runbindable", "idmap",       "ridmap"};
    // The spec's cgroup section has no word for device rules; runc's "v2": true includes them
    // (eBPF). Ours is as true: on v2 they are a device program, and a create that cannot load
    // one fails instead of running without it.
    Json linux_section = {
        {"namespaces", {"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"}},
        {"cgroup",
         {{"v1", true}, {"v2", true}, {"systemd", true}, {"systemdUser", false}, {"rdma", true}}},
        {"seccomp", {{"enabled", true}}},
        {"apparmor", {{"enabled", false}}},
        {"selinux", {{"enabled", false}}},
        {"intelRdt", {{"enabled", false}}},
        {"mountExtensions", {{"idmap", {{"enabled", true}}}}},
    };
    return Json{{"ociVersionMin", "1.0.0"},
                {"ociVersionMax", "1.2.0"},
                {"hooks",
                 {"prestart", "createRuntime", "createContainer", "startContainer", "poststart",
                  "poststop"}},
                {"mountOptions", mount_options},
                {"linux", linux_section},
                {"annotations", {{"org.vessel.runtime", "vessel-runc"}}}};
}

}  // namespace vessel::container::runtime
