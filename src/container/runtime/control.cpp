// ps, pause, resume and stats: commands that act on a live container through its cgroup.
#include "host/cgroup/cgroup.h"
#include "host/cgroup/freezer.h"
#include "host/cgroup/stats.h"
#include "container/runtime/membership.h"
#include "container/runtime/runtime.h"

namespace vessel::container::runtime {

Status Runtime::live_status(const ContainerState& state) const {
    Status status = store_.status(state);
    if (status != Status::running) return status;
    auto layout = host::cgroup::detect_layout();
    if (layout && host::cgroup::is_frozen(*layout, state.cgroup_path)) return Status::paused;
    return status;
}

Result<> Runtime::thaw_for_destroy(const ContainerState& state) const {
    auto layout = TRY(host::cgroup::detect_layout());
    if (!host::cgroup::is_frozen(layout, state.cgroup_path)) return {};
    return host::cgroup::set_frozen(layout, state.cgroup_path, false);
}

Result<std::vector<pid_t>> Runtime::processes(const std::string& id) const {
    ContainerState state = TRY(store_.load(id));
    if (store_.status(state) == Status::stopped) return std::vector<pid_t>{};
    auto cgroup = TRY(reopen_cgroup(state));
    return container_processes(state, *cgroup);
}

Result<Json> Runtime::stats(const std::string& id) const {
    ContainerState state = TRY(store_.load(id));
    Status status = live_status(state);
    if (status == Status::stopped)
        return fail("cannot read the stats of container \"{}\": it is stopped", id);
    auto layout = TRY(host::cgroup::detect_layout());
    Json data = TRY(host::cgroup::read_stats(layout, state.cgroup_path));
    return Json{{"type", "stats"}, {"id", id}, {"data", data}};
}

Result<host::cgroup::OomWatch> Runtime::watch_oom_kills(const std::string& id) const {
    ContainerState state = TRY(store_.load(id));
    if (live_status(state) == Status::stopped)
        return fail("cannot watch container \"{}\": it is stopped", id);
    auto layout = TRY(host::cgroup::detect_layout());
    return with_context(host::cgroup::OomWatch::open(layout, state.cgroup_path),
                        fmt::format("watch container \"{}\" for OOM kills", id));
}

bool Runtime::is_running(const std::string& id) const {
    auto state = store_.load(id);
    return state && live_status(*state) != Status::stopped;
}

Result<> Runtime::pause(const std::string& id) const {
    ContainerState state = TRY(store_.load(id));
    Status status = live_status(state);
    if (status != Status::running)
        return fail("cannot pause container \"{}\": it is {}, not running", id,
                    status_name(status));
    auto layout = TRY(host::cgroup::detect_layout());
    return with_context(host::cgroup::set_frozen(layout, state.cgroup_path, true),
                        fmt::format("pause container \"{}\"", id));
}

Result<> Runtime::resume(const std::string& id) const {
    ContainerState state = TRY(store_.load(id));
    Status status = live_status(state);
    if (status != Status::paused)
        return fail("cannot resume container \"{}\": it is {}, not paused", id,
                    status_name(status));
    auto layout = TRY(host::cgroup::detect_layout());
    return with_context(host::cgroup::set_frozen(layout, state.cgroup_path, false),
                        fmt::format("resume container \"{}\"", id));
}

}  // namespace vessel::container::runtime
