// The OCI lifecycle: create, start, state, kill, delete, plus run (create + start + wait) and list.
// vessel-runc is a thin command line over this class; vesseld will use it directly.
#pragma once

#include <string>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "base/log.h"
#include "host/cgroup/oom_watch.h"
#include "container/runtime/state.h"

namespace vessel::container::runtime {

struct CreateOptions {
    std::string id;
    std::string bundle;    // directory holding config.json; relative to the cwd if not absolute
    std::string pid_file;  // written with the init's pid when non-empty
    // process.terminal: the pty master is sent to this unix socket (as runc does); without one,
    // only a foreground `run` can take a terminal (it relays it to our stdio).
    std::string console_socket;
    bool detach = false;  // run --detach
    // --preserve-fds N: the caller's descriptors 3 to 3+N-1 stay open in the container's
    // process (the CLI checks that they are open before it opens anything itself).
    int preserve_fds = 0;
    // --systemd-cgroup: systemd makes the cgroup, a transient unit named by linux.cgroupsPath
    // "slice:prefix:name" (container/cgroup/systemd_driver.h).
    bool systemd_cgroup = false;
};

// `exec`: a new process in a running container. Without process_file the container's own
// process is the template, with `args` and the overrides below; with it, that JSON (an OCI
// process object) replaces the template whole.
struct ExecOptions {
    std::string id;
    std::string process_file;
    std::vector<std::string> args;
    std::string cwd;
    std::vector<std::string> env;  // KEY=VALUE, added to (or replacing keys of) the template's
    std::string user;              // "uid" or "uid:gid"
    std::vector<std::string> additional_capabilities;  // added to every set but inheritable
    bool no_new_privileges = false;
    bool tty = false;
    std::string console_socket;  // where the pty master goes (with a terminal)
    bool detach = false;
    std::string pid_file;
    int preserve_fds = 0;  // as CreateOptions::preserve_fds
};

struct ContainerSummary {
    ContainerState state;
    Status status;
};

class Runtime {
  public:
    Runtime(std::string root, const Logger& log) : store_(std::move(root)), log_(log) {}

    // Sets the container up and leaves its init blocked before exec of the user's program.
    Result<> create(const CreateOptions& options);
    // Releases a created container's init.
    Result<> start(const std::string& id);
    // Creates, starts and (unless detached) waits, then deletes. Returns the shell-style exit code
    // of the container's process (128 + signal when killed); 0 when detached.
    Result<int> run(const CreateOptions& options, bool detach);
    Result<Json> state(const std::string& id) const;
    Result<> kill(const std::string& id, int signal, bool all) const;
    Result<> remove(const std::string& id, bool force) const;
    Result<std::vector<ContainerSummary>> list() const;

    // Runs a process inside a running container: its namespaces, cgroup, capabilities, seccomp
    // and no_new_privs as the config says (runtime/exec.cpp). Returns the shell-style exit code,
    // or 0 when detached (once the program has been exec'd).
    Result<int> exec(const ExecOptions& options) const;

    // Applies new limits to a live (created, running or paused) container's cgroups. `resources`
    // is an OCI linux.resources object; only the limits it names change (runtime/update.cpp).
    Result<> update(const std::string& id, const Json& resources) const;

    // One `events --stats` record: {"type": "stats", "id": ..., "data": {cpu, memory, pids}}.
    Result<Json> stats(const std::string& id) const;
    // The kernel's OOM kills in the container's cgroup, as `events` reports them.
    Result<host::cgroup::OomWatch> watch_oom_kills(const std::string& id) const;
    bool is_running(const std::string& id) const;

    // ps, pause and resume (runtime/control.cpp).
    Result<std::vector<pid_t>> processes(const std::string& id) const;
    Result<> pause(const std::string& id) const;
    Result<> resume(const std::string& id) const;

  private:
    enum class Mode { create, run };
    struct Launched;
    Result<Launched> launch(const CreateOptions& options, Mode mode);
    Result<> destroy(const ContainerState& state) const;
    // The stored status, refined by the cgroup freezer: a frozen running container is paused.
    Status live_status(const ContainerState& state) const;
    Result<> thaw_for_destroy(const ContainerState& state) const;

    StateStore store_;
    const Logger& log_;
};

}  // namespace vessel::container::runtime
