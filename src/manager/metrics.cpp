// Manager::instance_usage: the figures behind GET /1.0/metrics.
#include "manager/manager.h"

#include "base/file.h"
#include "host/cgroup/layout.h"
#include "manager/instance/monitor.h"

namespace vessel::manager {

Result<std::vector<InstanceUsageView>> Manager::instance_usage() {
    // Read once per scrape: a host without cgroups (or a layout that cannot be read) still
    // reports its instances and their guests' figures.
    auto layout = host::cgroup::detect_layout();
    std::vector<InstanceUsageView> list;
    for (const auto& record : TRY(store_->list_instances())) {
        auto instance = TRY(make_instance(context_, record));
        InstanceUsageView view{
            .name = record.name, .kind = record.kind, .status = instance->status().state};
        if (view.status == InstanceState::running || view.status == InstanceState::frozen) {
            host::cgroup::Usage cgroup;
            if (layout)
                cgroup = host::cgroup::read_usage(*layout,
                                                  "/" + options_.cgroup_parent + "/" + record.name)
                             .value_or(host::cgroup::Usage{});
            if (record.kind == InstanceKind::container) {
                // The container's own network namespace, seen through its init.
                std::optional<std::string> net_dev;
                if (auto payload = read_payload_identity(instance->directory());
                    payload && *payload)
                    if (auto text = read_file(fmt::format("/proc/{}/net/dev", (*payload)->pid)))
                        net_dev = *text;
                view.usage = container_usage(cgroup, net_dev);
            } else {
                // A frozen guest cannot answer; its host figures still stand.
                view.usage =
                    vm_usage(cgroup, view.status == InstanceState::running ? instance->guest_state()
                                                                           : std::nullopt);
            }
        }
        list.push_back(std::move(view));
    }
    return list;
}

}  // namespace vessel::manager
