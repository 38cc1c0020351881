// The per-instance monitor (the role conmon plays for Podman): a small process, detached from
// vesseld, that owns one instance's payload for its whole life. It sets the payload up, reports
// readiness (or the setup error) to vesseld through a pipe, waits for the payload, records its exit
// status in the instance directory and cleans up. vesseld can crash or restart meanwhile; it finds
// the monitor again from the pid and start time in its database.
//
// Two payload kinds:
//  - an OCI container, driven through a runc-compatible runtime CLI (create, start, and delete
//    after exit), with an overlayfs root that the monitor mounts before create and unmounts last;
//  - a plain process (a VM's vessel-vmm), spawned with its output going to the console file.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "base/process.h"

namespace vessel::manager {

struct OverlayMount {
    std::string lower;
    std::string upper;
    std::string work;
    std::string target;
};

struct MonitorPlan {
    std::string instance_dir;
    std::string console_path;
    // OCI container payload (when runtime is set).
    std::string runtime;
    std::string runtime_root;
    std::string container_id;
    std::string bundle;
    std::optional<OverlayMount> overlay;
    // Process payload (when runtime is empty).
    std::vector<std::string> command;
    // Its stdin and stdout are a terminal the monitor serves on <instance_dir>/console.sock
    // (`vessel console`), copied to the console log; otherwise its output goes to the log only.
    bool interactive_console = false;
    // A cgroup the monitor puts the process payload in ("/vessel/v1"; empty: none) with this CPU
    // quota per 100 ms (0: none), and removes once the payload has exited.
    std::string cgroup_path;
    uint64_t cpu_quota_us = 0;
    // The process payload starts as pid 1 of a pid namespace of its own (a jailed vessel-vmm).
    bool pid_namespace = false;

    Json to_json() const;
    static Result<MonitorPlan> from_json(const Json& json);
};

// A process identity that survives pid reuse: the pid plus its start time since boot.
struct ProcessIdentity {
    pid_t pid = 0;
    uint64_t start_time = 0;
};

// /proc/PID/stat field 22, in clock ticks since boot.
Result<uint64_t> process_start_time(pid_t pid);
// True when the process exists, is not a zombie, and started at `start_time`.
bool process_matches(const ProcessIdentity& identity);

struct MonitorReady {
    ProcessIdentity monitor;
    ProcessIdentity payload;
};

// Starts `monitor_argv` (which must end up calling run_monitor with the plan), waits for it to
// report, and returns the identities of the monitor and of the payload. On a setup failure the
// monitor has already undone everything and the error carries its message.
//
// The instance's monitor lock (monitor.lock in instance_dir, an flock) is taken here, before the
// monitor exists, and handed to it; the monitor holds it for its whole life. So whenever vesseld
// dies, even between this spawn and recording the monitor in its database, the next vesseld can
// tell that a monitor is alive (monitor_holds_lock) and find it (read_monitor_identity). EBUSY when
// a monitor already holds the lock.
Result<MonitorReady> launch_monitor(std::vector<std::string> monitor_argv,
                                    const std::string& instance_dir,
                                    std::chrono::milliseconds timeout);

// The monitor's main: reads the plan, forks away from its parent, records its identity, sets the
// payload up, writes the readiness line to ready_fd and waits, holding lock_fd (the monitor lock)
// until it exits. Returns the monitor's exit code.
int run_monitor(const std::string& plan_path, int ready_fd, int lock_fd);

// Whether a monitor (this instance's, whoever started it) is alive: it holds the monitor lock.
bool monitor_holds_lock(const std::string& instance_dir);
// monitor-pid.json, written by the monitor as soon as it runs.
Result<std::optional<ProcessIdentity>> read_monitor_identity(const std::string& instance_dir);

// exit.json in the instance directory, written by the monitor when the payload ended.
Result<std::optional<ExitStatus>> read_exit_status(const std::string& instance_dir);
// payload.json, present while the payload runs (written once it is set up).
Result<std::optional<ProcessIdentity>> read_payload_identity(const std::string& instance_dir);

// Waits until the process is gone (or the timeout passes); true when it is gone.
Result<bool> wait_for_exit(const ProcessIdentity& identity, std::chrono::milliseconds timeout);

}  // namespace vessel::manager
