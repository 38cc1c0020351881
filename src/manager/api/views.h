// The wire's JSON of what the manager reports (docs/rest-api.md): the one place that spells an
// instance, its state and its snapshots for clients.
#pragma once

#include "base/json.h"
#include "manager/instance/view.h"
#include "manager/network/bridge_network.h"
#include "manager/store/store.h"

namespace vessel::manager::api {

Json instance_json(const InstanceView& view);
Json instance_state_json(const InstanceStateView& view);
Json snapshot_json(const SnapshotRecord& snapshot);
Json network_json(const NetworkView& network);
// {"fingerprint", "name", "type": "client", "certificate" (PEM), "created_at"}.
Json certificate_json(const CertificateRecord& certificate);

}  // namespace vessel::manager::api
