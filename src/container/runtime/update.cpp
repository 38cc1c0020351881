// update: new cgroup limits for a live container, as `runc update` applies them.
#include "host/cgroup/cgroup.h"
#include "host/cgroup/stats.h"
#include "container/runtime/membership.h"
#include "container/runtime/runtime.h"

namespace vessel::container::runtime {

namespace {

// Device rules add to those the container has, as writes to a v1 devices cgroup do: the last
// matching rule decides. The v1 driver needs only the new rules; the v2 one replaces the whole
// program, so it gets the full list.
Result<std::vector<spec::DeviceRule>> all_device_rules(const ContainerState& state,
                                                       const std::vector<spec::DeviceRule>& added) {
    if (state.device_rules.is_null())
        return fail(
            "linux.resources.devices: the container's state has no record of its device rules "
            "(it was created by an older vessel-runc); recreate it to change them");
    spec::Resources recorded =
        TRY_CTX(spec::parse_resources_object(Json{{"devices", state.device_rules}}),
                "the state's deviceRules");
    recorded.devices.insert(recorded.devices.end(), added.begin(), added.end());
    return recorded.devices;
}

}  // namespace

Result<> Runtime::update(const std::string& id, const Json& resources) const {
    ContainerState state = TRY(store_.load(id));
    Status status = live_status(state);
    if (status == Status::stopped) return fail("cannot update container \"{}\": it is stopped", id);
    // Everything is checked before anything is written, so a bad value changes nothing.
    spec::Resources parsed = TRY(spec::parse_resources_object(resources));
    auto layout = TRY(host::cgroup::detect_layout());
    if (const auto& m = parsed.memory; m.check_before_update && m.limit && *m.limit > 0) {
        Json stats =
            TRY_CTX(host::cgroup::read_stats(layout, state.cgroup_path),
                    "update container \"{}\": linux.resources.memory.checkBeforeUpdate", id);
        uint64_t usage = stats["memory"]["usage"].value("usage", uint64_t{0});
        if (static_cast<uint64_t>(*m.limit) < usage)
            return fail(
                "update container \"{}\": linux.resources.memory.limit: {} bytes is below what "
                "the container uses now ({} bytes), and checkBeforeUpdate is set",
                id, *m.limit, usage);
    }
    // The driver that made the cgroup: with systemd's, the unit's properties change too.
    auto cgroup = TRY(reopen_cgroup(state));
    bool v2 = layout.kind == host::cgroup::LayoutKind::v2;
    // A v1 container from before the record still takes new rules; it just has no list to keep.
    bool record = !parsed.devices.empty() && !state.cgroup_path.empty() &&
                  (v2 || !state.device_rules.is_null());
    std::vector<spec::DeviceRule> device_rules;
    if (record) {
        device_rules =
            TRY_CTX(all_device_rules(state, parsed.devices), "update container \"{}\"", id);
        if (v2) parsed.devices = device_rules;
    }
    TRY_CTX(cgroup->apply(parsed, log_), "update container \"{}\"", id);
    if (!record) return {};
    state.device_rules = spec::device_rules_json(device_rules);
    return with_context(store_.save(state),
                        fmt::format("update container \"{}\": record its device rules", id));
}

}  // namespace vessel::container::runtime
