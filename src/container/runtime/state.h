// The runtime's record of one container: <root>/<id>/state.json plus, between create and start,
// <root>/<id>/exec.fifo. The status is never stored; it is worked out from the process (pid plus
// its start time, so a recycled pid reads as stopped) and from whether exec.fifo still exists.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/json.h"

namespace vessel::container::runtime {

enum class Status { created, running, stopped, paused };
const char* status_name(Status status);

struct ContainerState {
    std::string id;
    pid_t pid = 0;
    uint64_t start_time = 0;  // /proc/<pid>/stat field 22, in clock ticks since boot
    std::string bundle;
    std::string rootfs;
    std::string created;  // RFC 3339
    std::string owner;
    std::map<std::string, std::string> annotations;
    std::string cgroup_path;                  // "/vessel/<id>"
    std::vector<std::string> cgroup_created;  // directories create made, outermost first
    // The transient unit ("vessel-t1.scope") when the systemd driver made the cgroup (then
    // cgroup_path is that unit's directory); empty for the cgroupfs driver.
    std::string systemd_unit;
    // The init's pid namespace ("pid:[4026532281]") when the container made one of its own; empty
    // when it shares or joined one. A process in the cgroup is the container's only if it is in
    // this namespace, unless the container owns its cgroup (see container_processes).
    std::string pid_namespace;
    // Without a mount namespace of its own: the id of the runtime's private bind of the rootfs,
    // under which the container's mounts were made in the host's namespace (0: none).
    uint64_t rootfs_mount_id = 0;
    // linux.resources.devices as the cgroup enforces them (the runtime's defaults included, and
    // what updates added): on cgroup v2 an update replaces the whole device program, so it needs
    // the full list. Null for containers created before it was recorded.
    Json device_rules;
    Json hooks;  // config.json's hooks, for start and delete (the bundle may change meanwhile)

    Json to_json() const;
    static Result<ContainerState> from_json(const Json& json);
    // The OCI state document `vessel-runc state` prints.
    Json oci_state(Status status) const;
};

// Checks a container id: letters, digits, '_', '-', '.', not "." or "..", at most 1024 bytes.
Result<> validate_id(const std::string& id);

// The start time of a live process, or 0 when it is gone or a zombie.
uint64_t process_start_time(pid_t pid);

class StateStore {
  public:
    explicit StateStore(std::string root) : root_(std::move(root)) {}

    const std::string& root() const { return root_; }
    std::string directory(const std::string& id) const { return root_ + "/" + id; }
    std::string fifo_path(const std::string& id) const { return directory(id) + "/exec.fifo"; }

    // mkdir of the container's directory; an existing one means a duplicate id.
    Result<> reserve(const std::string& id) const;
    Result<> save(const ContainerState& state) const;
    // "container \"x\" does not exist" for an unknown id.
    Result<ContainerState> load(const std::string& id) const;
    Status status(const ContainerState& state) const;
    // Removes the directory and what is in it.
    void remove(const std::string& id) const;
    Result<std::vector<std::string>> ids() const;

  private:
    std::string root_;
};

}  // namespace vessel::container::runtime
