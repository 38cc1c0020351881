#include "manager/api/views.h"

namespace vessel::manager::api {

namespace {

Json exit_json(const ExitReport& exit) {
    return {{"code", exit.code}, {"signal", exit.signal}, {"description", exit.description}};
}

}  // namespace

Json instance_json(const InstanceView& view) {
    Json json = {{"name", view.record.name},
                 {"type", name_of(view.record.kind)},
                 {"image", view.record.image},
                 {"config", view.record.config.to_json()},
                 {"status", name_of(view.status)},
                 {"pid", view.monitor_pid},
                 {"ipv4", view.ipv4},
                 {"created_at", view.record.created_at},
                 {"snapshots", view.snapshots}};
    if (view.last_exit) json["last_exit"] = exit_json(*view.last_exit);
    return json;
}

Json instance_state_json(const InstanceStateView& view) {
    Json state = {{"status", name_of(view.status)}, {"monitor_pid", view.monitor_pid}};
    if (view.pid) state["pid"] = *view.pid;
    if (view.exit) state["exit"] = exit_json(*view.exit);
    if (view.cgroup) state["cgroup"] = *view.cgroup;
    if (view.guest) state["guest"] = *view.guest;
    return state;
}

Json snapshot_json(const SnapshotRecord& snapshot) {
    return {{"name", snapshot.name},
            {"instance", snapshot.instance},
            {"config", snapshot.config.to_json()},
            {"created_at", snapshot.created_at}};
}

Json network_json(const NetworkView& network) {
    Json leases = Json::array();
    for (const auto& [mac, address] : network.leases)
        leases.push_back({{"mac", mac}, {"address", address}});
    return {{"name", network.name},     {"type", "bridge"},
            {"managed", true},          {"gateway", network.gateway},
            {"subnet", network.subnet}, {"state", network.up ? "up" : "absent"},
            {"dhcp", network.dhcp},     {"leases", leases}};
}

Json certificate_json(const CertificateRecord& certificate) {
    return {{"fingerprint", certificate.fingerprint},
            {"name", certificate.name},
            {"type", "client"},
            {"certificate", certificate.certificate_pem},
            {"created_at", certificate.created_at}};
}

}  // namespace vessel::manager::api
