// GET /1.0/metrics's families (docs/remote.md lists them): what each instance uses, vesseld's
// operations and its own process. The one place that names a metric.
#pragma once

#include <vector>

#include "manager/api/prometheus.h"
#include "manager/instance/view.h"
#include "manager/operations.h"

namespace vessel::manager::api {

// vessel_instance_*, vessel_cpu_seconds_total, vessel_memory_*, vessel_processes,
// vessel_network_*, vessel_disk_*: labels name and type (container or vm), and interface or
// device where they apply.
std::vector<MetricFamily> instance_families(const std::vector<InstanceUsageView>& instances);

// vessel_operations_running and vessel_operations_total{kind,status}.
std::vector<MetricFamily> operation_families(const OperationCounts& counts);

// vesseld's own process, in the names every Prometheus client library uses (process_*).
std::vector<MetricFamily> process_families();

}  // namespace vessel::manager::api
