// update: new cgroup limits for a live container, as `runc update` applies them.
#include "container/cgroup/cgroup.h"
#include "container/runtime/membership.h"
#include "container/runtime/runtime.h"

namespace vessel::container::runtime {

Result<> Runtime::update(const std::string& id, const Json& resources) const {
    ContainerState state = TRY(store_.load(id));
    Status status = live_status(state);
    if (status == Status::stopped) return fail("cannot update container \"{}\": it is stopped", id);
    // Everything is checked before anything is written, so a bad value changes nothing.
    spec::Resources parsed = TRY(spec::parse_resources_object(resources));
    // The driver that made the cgroup: with systemd's, the unit's properties change too.
    auto cgroup = TRY(reopen_cgroup(state));
    return with_context(cgroup->apply(parsed, log_), fmt::format("update container \"{}\"", id));
}

}  // namespace vessel::container::runtime
