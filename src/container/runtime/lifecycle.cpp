// start, state, kill, delete and list: commands that act on an existing container from its state.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "base/file.h"
#include "base/process.h"
#include "host/cgroup/cgroup.h"
#include "container/linux/shared_mount_namespace.h"
#include "container/runtime/hooks.h"
#include "container/runtime/membership.h"
#include "container/runtime/runtime.h"

namespace vessel::container::runtime {

namespace {

// A pidfd for the container's init, or an invalid one when that process is gone. The start time is
// checked after opening, so the descriptor cannot refer to a recycled pid.
UniqueFd open_init(const ContainerState& state) {
    auto pidfd = open_pidfd(state.pid);
    if (!pidfd) return {};
    if (process_start_time(state.pid) != state.start_time) return {};
    return std::move(*pidfd);
}

bool wait_readable(int fd, int timeout_ms) {
    pollfd waiting{.fd = fd, .events = POLLIN, .revents = 0};
    int ready;
    do {
        ready = ::poll(&waiting, 1, timeout_ms);
    } while (ready < 0 && errno == EINTR);
    return ready > 0;
}

}  // namespace

Result<> Runtime::start(const std::string& id) {
    ContainerState state = TRY(store_.load(id));
    Status status = store_.status(state);
    if (status != Status::created)
        return fail("cannot start container \"{}\": it is {}, not created", id,
                    status_name(status));
    UniqueFd init = open_init(state);
    if (!init) return fail("cannot start container \"{}\": its process has exited", id);
    // Checked at create; a hook that has gone since fails here like any other failing hook.
    auto hooks = parse_hooks(state.hooks);
    if (!hooks)
        return std::unexpected(hooks.error().context("cannot start container \"" + id + "\""));
    if (auto ran = run_hooks(hooks->start_container, state.oci_state(Status::created), init.get());
        !ran) {
        // As the spec asks: the container is stopped and deleted (poststop hooks included).
        (void)destroy(state);
        return std::unexpected(ran.error().context(fmt::format("start container \"{}\"", id)));
    }
    UniqueFd fifo = TRY(open_file(store_.fifo_path(id), O_RDONLY | O_NONBLOCK));
    pollfd waiting[2] = {{.fd = fifo.get(), .events = POLLIN, .revents = 0},
                         {.fd = init.get(), .events = POLLIN, .revents = 0}};
    for (;;) {
        if (::poll(waiting, 2, 10000) <= 0) {
            if (errno == EINTR) continue;
            return fail("cannot start container \"{}\": its init does not answer", id);
        }
        if (waiting[0].revents & POLLIN) break;
        if (waiting[1].revents)
            return fail("cannot start container \"{}\": its process has exited", id);
    }
    char byte = 0;
    if (::read(fifo.get(), &byte, 1) != 1)
        return fail("cannot start container \"{}\": exec.fifo was empty", id);
    ::unlink(store_.fifo_path(id).c_str());
    run_hooks_warning_only(hooks->poststart, state.oci_state(Status::running), log_);
    return {};
}

Result<Json> Runtime::state(const std::string& id) const {
    ContainerState state = TRY(store_.load(id));
    return state.oci_state(live_status(state));
}

Result<> Runtime::kill(const std::string& id, int signal, bool all) const {
    ContainerState state = TRY(store_.load(id));
    // The wording is runc's: containerd's shim knows a process that is already gone only by
    // "container not running" (or "does not exist") in the runtime's error.
    const bool stopped = store_.status(state) == Status::stopped;
    if (all) {
        // As runc: --all signals what is left in the container's cgroup even after its init
        // exited (a container without its own pid namespace may leave processes), and succeeds
        // when nothing is left. containerd's shim sends it when the init has exited, and took a
        // failure here for a container it could never stop.
        auto cgroup = reopen_cgroup(state);
        if (!cgroup) {
            if (stopped) return {};
            return std::unexpected(cgroup.error());
        }
        for (pid_t pid : TRY(container_processes(state, **cgroup)))
            ::kill(pid, signal);
        return {};
    }
    if (stopped) return fail("cannot signal container \"{}\": container not running", id);
    UniqueFd init = open_init(state);
    if (!init) return fail("cannot signal container \"{}\": container not running", id);
    if (::syscall(SYS_pidfd_send_signal, init.get(), signal, nullptr, 0) != 0)
        return fail_errno(fmt::format("send signal {} to container \"{}\"", signal, id));
    return {};
}

Result<> Runtime::remove(const std::string& id, bool force) const {
    // As runc: --force of a container that does not exist succeeds (containerd's shim deletes
    // again after a container has gone), and clears a directory an aborted create left.
    if (force && !path_exists(store_.directory(id) + "/state.json")) {
        TRY(validate_id(id));
        if (path_exists(store_.directory(id))) store_.remove(id);
        return {};
    }
    ContainerState state = TRY(store_.load(id));
    Status status = live_status(state);
    // Like runc, a created container (never started) may be deleted without --force.
    if ((status == Status::running || status == Status::paused) && !force)
        return fail("cannot delete container \"{}\" that is not stopped: {} (use --force)", id,
                    status_name(status));
    return destroy(state);
}

Result<> Runtime::destroy(const ContainerState& state) const {
    auto cgroup = TRY(reopen_cgroup(state));
    // Frozen tasks do not die of SIGKILL until thawed.
    (void)thaw_for_destroy(state);
    if (UniqueFd init = open_init(state)) {
        ::syscall(SYS_pidfd_send_signal, init.get(), SIGKILL, nullptr, 0);
        if (!wait_readable(init.get(), 5000))
            return fail("container \"{}\": its process did not die after SIGKILL", state.id);
    }
    // Without a pid namespace, processes other than the init survive it: kill what is left of
    // the container's, never a process that merely shares its cgroup.
    for (int round = 0; round < 100; ++round) {
        auto pids = container_processes(state, *cgroup);
        if (!pids || pids->empty()) break;
        for (pid_t pid : *pids)
            ::kill(pid, SIGKILL);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    TRY_CTX(cgroup->destroy(), "delete container \"{}\"", state.id);
    if (state.rootfs_mount_id != 0)
        TRY_CTX(sys::detach_rootfs_bind(state.rootfs, state.rootfs_mount_id),
                "delete container \"{}\"", state.id);
    if (!state.hooks.is_null()) {
        if (auto hooks = parse_hooks(state.hooks))
            run_hooks_warning_only(hooks->poststop, state.oci_state(Status::stopped), log_);
        else
            log_.warning("poststop hooks not run: {}", hooks.error().message());
    }
    store_.remove(state.id);
    log_.debug("container {}: deleted", state.id);
    return {};
}

Result<std::vector<ContainerSummary>> Runtime::list() const {
    std::vector<ContainerSummary> containers;
    for (const auto& id : TRY(store_.ids())) {
        auto state = store_.load(id);
        if (!state) continue;  // removed meanwhile
        Status status = live_status(*state);
        containers.push_back({std::move(*state), status});
    }
    return containers;
}

}  // namespace vessel::container::runtime
