// The OCI runtime-spec configuration (config.json, versions 1.0 to 1.2) as Vessel understands it.
// Parsing fills these structs and validates them in one pass, so that every error names the JSON
// path it comes from. Fields that belong to the security module (capabilities, seccomp, id
// mappings) and to hooks are kept as raw JSON here: they are validated and applied by the modules
// that own them, and the model stays free of their details.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/json.h"
#include "host/cgroup/resources.h"

namespace vessel::container::spec {

struct Rlimit {
    std::string type;  // "RLIMIT_NOFILE"
    int resource = 0;  // RLIMIT_NOFILE
    uint64_t soft = 0;
    uint64_t hard = 0;
};

struct User {
    uint32_t uid = 0;
    uint32_t gid = 0;
    std::optional<mode_t> umask;
    std::vector<uint32_t> additional_gids;
};

struct ConsoleSize {
    uint16_t height = 0;
    uint16_t width = 0;
};

// process.ioPriority: an I/O scheduling class and a level 0-7. The classes are the kernel's
// IOPRIO_CLASS_* numbers (<linux/ioprio.h> cannot be included from C++: it names a parameter
// "class").
inline constexpr int kIoClassRealtime = 1;
inline constexpr int kIoClassBestEffort = 2;
inline constexpr int kIoClassIdle = 3;
struct IoPriority {
    int io_class = 0;
    int level = 0;
};
// process.scheduler, as sched_setattr(2) takes it.
struct Scheduler {
    int policy = 0;  // SCHED_*
    int nice = 0;
    int priority = 0;
    uint64_t flags = 0;                              // SCHED_FLAG_*
    uint64_t runtime = 0, deadline = 0, period = 0;  // nanoseconds, SCHED_DEADLINE
};
// process.execCPUAffinity: CPU lists ("0-3,7") for a process exec'd into a running container:
// while it joins, and for the program itself.
struct ExecCpuAffinity {
    std::string initial;
    std::string final_cpus;
};

struct Process {
    bool terminal = false;
    std::optional<ConsoleSize> console_size;
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::string cwd = "/";
    User user;
    std::vector<Rlimit> rlimits;
    bool no_new_privileges = false;
    std::optional<int> oom_score_adj;
    // process.capabilities: validated and applied by the security module (linux/capabilities).
    Json capabilities;
    // Labels of Linux security modules: applied only where the module is enabled, which the
    // runtime checks at create (linux/security_labels).
    std::string apparmor_profile;
    std::string selinux_label;
    std::optional<IoPriority> io_priority;
    std::optional<Scheduler> scheduler;
    ExecCpuAffinity exec_cpu_affinity;
};

// One line of a uid_map or gid_map: container ids [container_id, container_id + size) are host ids
// [host_id, host_id + size).
struct IdMapping {
    uint32_t container_id = 0;
    uint32_t host_id = 0;
    uint32_t size = 0;
};

struct Root {
    std::string path;
    bool readonly = false;
};

struct Mount {
    std::string destination;
    std::string type;
    std::string source;
    std::vector<std::string> options;
    // Derived from type and options.
    bool bind = false;
    bool recursive = false;
    unsigned long flags = 0;        // MS_* set on the mount
    unsigned long propagation = 0;  // MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE [| MS_REC]
    std::string data;               // options the kernel's filesystem parses ("mode=755,size=64k")
    // Filesystem options on a bind mount, which has no filesystem of its own to take them: the
    // kernel ignores them there, and so do runc and crun (a debug line says so at create).
    std::vector<std::string> ignored_options;
    // An idmapped bind mount ("idmap"/"ridmap" options or mount-level mappings): files owned by
    // id k in the source appear owned by the host id the mapping gives k. Mappings left empty are
    // the container's own (linux.uidMappings/gidMappings).
    bool idmap = false;
    bool idmap_recursive = false;  // "ridmap"
    std::vector<IdMapping> uid_mappings;
    std::vector<IdMapping> gid_mappings;
};

enum class NamespaceType { pid, network, mount, ipc, uts, user, cgroup, time };

struct Namespace {
    NamespaceType type = NamespaceType::mount;
    std::string path;  // empty: create a new one
};

struct Device {
    char type = 'c';  // c, b, u (= c), p
    std::string path;
    int64_t major = 0;
    int64_t minor = 0;
    std::optional<mode_t> file_mode;
    std::optional<uint32_t> uid;
    std::optional<uint32_t> gid;
};

// The resource model (linux.resources) is the cgroup layer's, shared with the VMM's cgroups.
using host::cgroup::BlockIoThrottles;
using host::cgroup::CpuResources;
using host::cgroup::DeviceRule;
using host::cgroup::DeviceThrottle;
using host::cgroup::DeviceWeight;
using host::cgroup::HugepageLimit;
using host::cgroup::MemoryResources;
using host::cgroup::NetworkResources;
using host::cgroup::RdmaLimit;
using host::cgroup::Resources;

struct Linux {
    std::vector<Namespace> namespaces;
    std::vector<Device> devices;
    std::string cgroups_path;  // empty: the runtime's default
    Resources resources;
    std::string rootfs_propagation;  // "", "shared", "slave", "private", "unbindable" (+ r-forms)
    std::vector<std::string> masked_paths;
    std::vector<std::string> readonly_paths;
    std::map<std::string, std::string> sysctl;
    std::map<std::string, int64_t> time_offsets_seconds;  // "monotonic"/"boottime"
    std::map<std::string, uint32_t> time_offsets_nanoseconds;
    // linux.seccomp: validated and compiled by the security module; null when absent.
    Json seccomp;
    // For a new user namespace: how its ids map to the host's.
    std::vector<IdMapping> uid_mappings;
    std::vector<IdMapping> gid_mappings;
    // linux.memoryPolicy: the NUMA policy of the container's process (set_mempolicy(2)).
    struct MemoryPolicy {
        int mode = 0;        // MPOL_*
        std::string nodes;   // "0-1,3"
        unsigned flags = 0;  // MPOL_F_*
    };
    std::optional<MemoryPolicy> memory_policy;
    // linux.personality.domain: the execution domain the container's process runs in
    // (PER_LINUX or PER_LINUX32: uname -m says i686 in the latter on an x86-64 host).
    std::optional<unsigned long> personality;
    std::string mount_label;  // linux.mountLabel (SELinux)

    const Namespace* find_namespace(NamespaceType type) const;
    // A user namespace that the container creates (not one it joins by path).
    bool creates_user_namespace() const;
};

struct Spec {
    std::string oci_version;
    std::optional<Process> process;
    Root root;
    std::string hostname;
    std::string domainname;
    std::vector<Mount> mounts;
    Linux linux_config;
    std::map<std::string, std::string> annotations;
    // hooks: run by the hooks module; null when absent.
    Json hooks;
};

// Parses and validates a config.json document. Errors name the JSON path
// ("process.args: must not be empty"); the caller adds the file name.
Result<Spec> parse_spec(const Json& document);

// An OCI linux.resources object on its own (`vessel-runc update --resources`), checked as in a
// config; error paths are relative to it ("memory.limit: ...").
Result<Resources> parse_resources_object(const Json& resources);

// Device rules as OCI writes them (linux.resources.devices): parse_resources_object reads them
// back. The runtime's state keeps a container's rules in this form.
Json device_rules_json(const std::vector<DeviceRule>& rules);

// Reads <bundle>/config.json; errors read "config.json: <path>: <problem>".
Result<Spec> load_spec(const std::string& bundle);

// The JSON name of a namespace type ("network") and its CLONE_NEW* flag.
const char* namespace_name(NamespaceType type);
int namespace_clone_flag(NamespaceType type);

}  // namespace vessel::container::spec
