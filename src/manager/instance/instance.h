// One interface for every kind of instance, as in Incus: containers and VMs share a lifecycle
// (create, start, stop with a time-out then force, restart, delete, freeze/unfreeze where the
// driver supports it) and the same limits.* keys. Drivers hold no state of their own beyond the
// database record and the instance directory, so vesseld can be killed and restarted at any time
// and rebuild every Instance from those two.
#pragma once

#include <functional>
#include <optional>

#include "manager/network/net_attach.h"

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/process.h"
#include "manager/cancel.h"
#include "manager/instance/files.h"
#include "manager/instance/limits.h"
#include "manager/instance/model.h"
#include "manager/instance/monitor.h"
#include "manager/store/store.h"

namespace vessel::manager {

// Where the drivers find their tools and put their files.
struct DriverContext {
    std::string instances_dir;   // <state>/instances; one directory per instance
    std::string monitor_binary;  // vesseld itself: `vesseld monitor PLAN --ready-fd=N`
    std::string runtime;         // a runc-compatible OCI runtime CLI
    std::string runtime_root;    // its --root, private to this vesseld
    std::string cgroup_parent = "vessel";
    std::string vmm_binary = "vessel-vmm";
    // Every VMM runs jailed (vessel-vmm --jail, in a pid namespace of its own); off only for a
    // developer debugging the VMM (vesseld --no-vmm-jail).
    bool vmm_jail = true;
    // Sets the managed network up if needed and says how to plug a container into it (nullopt:
    // vesseld runs without a network; containers get only loopback).
    std::function<Result<std::optional<NetAttachment>>(const std::string& instance)> network_for;
};

struct InstanceStatus {
    InstanceState state = InstanceState::stopped;  // running, frozen or stopped
    std::optional<ExitStatus> exit;
    ProcessIdentity monitor;
};

struct ExecResult {
    ExitStatus status;
    std::string out;
    std::string err;
};

// A streamed exec (`vessel exec`): the program and how it runs. The same for both kinds.
struct ExecSpec {
    std::vector<std::string> argv;
    // KEY=VALUE pairs over the default environment (PATH, HOME, and TERM with a terminal).
    std::vector<std::string> env;
    std::string cwd = "/";
    uint32_t uid = 0;
    uint32_t gid = 0;
    bool tty = false;
    uint16_t rows = 24;
    uint16_t cols = 80;
};

// The whole environment of an exec: the defaults, then the spec's pairs (a later KEY replaces an
// earlier one).
std::vector<std::string> exec_environment(const ExecSpec& spec);

class Instance {
  public:
    virtual ~Instance() = default;

    const InstanceRecord& record() const { return record_; }
    std::string directory() const { return context_.instances_dir + "/" + record_.name; }

    // Lays out the instance directory from the image; starts nothing. On failure removes what it
    // made. With CreateFrom::restore the files the instance writes are left out (a VM's copy of
    // the image's disk): the caller puts its own in place with restore_from(..., consume) at once
    // (a copy, an import), and each byte is written once.
    enum class CreateFrom { image, restore };
    virtual Result<> create(const ImageRecord& image, CreateFrom from = CreateFrom::image) = 0;
    // Starts the payload under its monitor; returns the monitor to record in the database.
    virtual Result<ProcessIdentity> start(const ImageRecord& image) = 0;
    // Graceful (SIGTERM or the guest's power button) for up to `timeout`, then forced.
    virtual Result<> stop(std::chrono::milliseconds timeout, bool force) = 0;
    virtual Result<> freeze() = 0;
    virtual Result<> unfreeze() = 0;
    // Undoes what a monitor that died without cleaning up (SIGKILL) left behind, so that the
    // instance can start again: runtime state, a mount, a cgroup, a network interface, a payload
    // that outlived its monitor. Cheap when there is nothing to undo.
    virtual Result<> clean_up() = 0;
    // Removes everything create() made, its snapshots included. The instance must be stopped.
    virtual Result<> destroy() = 0;
    // Copies what the instance writes (a container's upper directory, a VM's root disk) into
    // `snapshot_dir`, an empty directory. The instance is stopped or frozen meanwhile.
    virtual Result<> snapshot_into(const std::string& snapshot_dir) = 0;
    // Puts those files back from a snapshot's directory, whole or not at all. The instance must be
    // stopped (EBUSY otherwise). With `consume`, the files are moved out of `snapshot_dir` rather
    // than copied (a copy's staging directory, made on the same filesystem to be used once).
    virtual Result<> restore_from(const std::string& snapshot_dir, bool consume = false) = 0;
    // Runs a program in the running instance and captures its output. A client that goes away
    // (`cancel`) ends the program at once.
    virtual Result<ExecResult> exec(const std::vector<std::string>& argv,
                                    const std::string& stdin_data, const Cancellation& cancel) = 0;
    // Copies a file into, or out of, the running instance.
    virtual Result<uint64_t> push_file(const PushedFile& file) = 0;
    virtual Result<PulledFile> pull_file(const std::string& path) = 0;
    // The streamed forms, on a client connection that has switched to frames (docs/rest-api.md):
    // they speak docs/agent-protocol.md from the first reply on. An error returned means the
    // operation's last frame was not sent; the caller answers it with an error reply.
    // Whether `action` ("exec", "file push", ...) can be served at all, checked before the
    // connection switches to frames so that a refusal is a plain HTTP error.
    virtual Result<> can_serve(std::string_view /*action*/) const { return {}; }
    virtual Result<> exec_stream(const ExecSpec& spec, int connection) = 0;
    virtual Result<> push_stream(const PushTarget& target, int connection) = 0;
    virtual Result<> pull_stream(const std::string& path, int connection) = 0;
    // Applies limits to a running instance, or refuses those the driver cannot change live.
    virtual Result<> update_limits(const ResourceLimits& limits) = 0;
    // Whether the running instance is frozen in fact (its cgroup, its process), whatever the
    // database says.
    virtual bool frozen() const = 0;
    // What the guest reports of itself (a VM's agent: readiness, OS, addresses, memory, disks);
    // nullopt where there is no one to ask. Asked only of an instance its caller found running.
    virtual std::optional<Json> guest_state() const { return std::nullopt; }

    // Reality, not the database's belief: is the monitor (same pid, same start time) alive?
    InstanceStatus status() const;

  protected:
    Instance(DriverContext context, InstanceRecord record)
        : context_(std::move(context)), record_(std::move(record)) {}

    DriverContext context_;
    InstanceRecord record_;
};

Result<std::unique_ptr<Instance>> make_instance(const DriverContext& context,
                                                const InstanceRecord& record);

// Removes a directory tree without following symlinks out of it and without crossing into other
// filesystems (a still-mounted root is refused, never emptied).
Result<> remove_instance_tree(const std::string& path);

// Removes an instance's cgroup ("/vessel/c1") in every hierarchy, when it is there and empty.
void remove_leftover_cgroup(const std::string& path);

}  // namespace vessel::manager
