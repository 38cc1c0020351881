#include "manager/api/metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <ctime>
#include <sstream>

#include "base/file.h"

namespace vessel::manager::api {

namespace {

constexpr double nanoseconds_per_second = 1e9;

// A number the kernel wrote; 0 for anything else.
double number(const std::string& text) {
    return std::strtod(text.c_str(), nullptr);
}

Labels instance_labels(const InstanceUsageView& instance) {
    return {{"name", instance.name}, {"type", std::string(name_of(instance.kind))}};
}

Labels with(Labels labels, std::string name, std::string value) {
    labels.emplace_back(std::move(name), std::move(value));
    return labels;
}

void add_if(MetricFamily& family, const Labels& labels, const std::optional<uint64_t>& value) {
    if (value) family.add(labels, static_cast<double>(*value));
}

}  // namespace

std::vector<MetricFamily> instance_families(const std::vector<InstanceUsageView>& instances) {
    MetricFamily info{.name = "vessel_instance_info",
                      .help = "Every instance, 1, with its state as a label.",
                      .type = "gauge"};
    MetricFamily running{.name = "vessel_instance_running",
                         .help = "1 while the instance runs or is frozen, 0 otherwise.",
                         .type = "gauge"};
    MetricFamily cpu{.name = "vessel_cpu_seconds_total",
                     .help = "CPU time the instance used (a VM's: its vessel-vmm's), by mode.",
                     .type = "counter"};
    MetricFamily memory{
        .name = "vessel_memory_usage_bytes",
        .help =
            "Memory in use as the instance sees it: a container's cgroup charge, a VM "
            "guest's MemTotal less MemAvailable.",
        .type = "gauge"};
    MetricFamily memory_limit{
        .name = "vessel_memory_limit_bytes",
        .help = "A container's memory limit (when it has one), a VM guest's MemTotal.",
        .type = "gauge"};
    MetricFamily host_memory{.name = "vessel_vmm_memory_bytes",
                             .help = "Memory a VM costs the host: its vessel-vmm's cgroup charge.",
                             .type = "gauge"};
    MetricFamily processes{.name = "vessel_processes",
                           .help = "Processes in the instance (a VM's as its guest counts them).",
                           .type = "gauge"};
    MetricFamily received{.name = "vessel_network_receive_bytes_total",
                          .help = "Bytes the instance received, by interface (as it names it).",
                          .type = "counter"};
    MetricFamily sent{.name = "vessel_network_transmit_bytes_total",
                      .help = "Bytes the instance sent, by interface (as it names it).",
                      .type = "counter"};
    MetricFamily read{.name = "vessel_disk_read_bytes_total",
                      .help = "Bytes read from disk, by device (a VM's as its guest names it).",
                      .type = "counter"};
    MetricFamily written{.name = "vessel_disk_written_bytes_total",
                         .help = "Bytes written to disk, by device (a VM's as its guest names it).",
                         .type = "counter"};
    for (const auto& instance : instances) {
        auto labels = instance_labels(instance);
        info.add(with(labels, "state", std::string(name_of(instance.status))), 1);
        running.add(labels, instance.usage ? 1 : 0);
        if (!instance.usage) continue;
        const auto& usage = *instance.usage;
        if (usage.cpu_user_ns)
            cpu.add(with(labels, "mode", "user"),
                    static_cast<double>(*usage.cpu_user_ns) / nanoseconds_per_second);
        if (usage.cpu_system_ns)
            cpu.add(with(labels, "mode", "system"),
                    static_cast<double>(*usage.cpu_system_ns) / nanoseconds_per_second);
        add_if(memory, labels, usage.memory_bytes);
        add_if(memory_limit, labels, usage.memory_limit_bytes);
        add_if(host_memory, labels, usage.host_memory_bytes);
        add_if(processes, labels, usage.processes);
        for (const auto& interface : usage.network) {
            auto by_interface = with(labels, "interface", interface.interface);
            received.add(by_interface, static_cast<double>(interface.received_bytes));
            sent.add(by_interface, static_cast<double>(interface.sent_bytes));
        }
        for (const auto& disk : usage.disks) {
            auto by_device = with(labels, "device", disk.device);
            read.add(by_device, static_cast<double>(disk.read_bytes));
            written.add(by_device, static_cast<double>(disk.written_bytes));
        }
    }
    return {info,      running,  cpu,  memory, memory_limit, host_memory,
            processes, received, sent, read,   written};
}

std::vector<MetricFamily> operation_families(const OperationCounts& counts) {
    MetricFamily running{.name = "vessel_operations_running",
                         .help = "Asynchronous operations under way.",
                         .type = "gauge"};
    running.add({}, static_cast<double>(counts.running));
    MetricFamily ended{.name = "vessel_operations_total",
                       .help =
                           "Asynchronous operations that ended since vesseld started, by "
                           "kind and outcome.",
                       .type = "counter"};
    for (const auto& [key, count] : counts.ended)
        ended.add({{"kind", key.first}, {"status", std::string(name_of(key.second))}},
                  static_cast<double>(count));
    return {running, ended};
}

std::vector<MetricFamily> process_families() {
    std::vector<MetricFamily> families;
    auto ticks_per_second = static_cast<double>(::sysconf(_SC_CLK_TCK));
    // /proc/self/stat: the fields after the command's closing parenthesis, from field 3 (state).
    if (auto stat = read_file("/proc/self/stat")) {
        auto close = stat->rfind(')');
        if (close != std::string::npos) {
            std::istringstream fields(stat->substr(close + 2));
            std::vector<std::string> values;
            std::string field;
            while (fields >> field)
                values.push_back(field);
            // utime 14, stime 15, starttime 22, rss 24 (pages), numbered from 1 with state at 3.
            if (values.size() > 21) {
                double cpu_ticks = number(values[11]) + number(values[12]);
                families.push_back(MetricFamily{.name = "process_cpu_seconds_total",
                                                .help = "CPU time vesseld used.",
                                                .type = "counter"}
                                       .add({}, cpu_ticks / ticks_per_second));
                families.push_back(
                    MetricFamily{.name = "process_resident_memory_bytes",
                                 .help = "vesseld's resident memory.",
                                 .type = "gauge"}
                        .add({}, number(values[21]) * static_cast<double>(::getpagesize())));
                if (auto uptime = read_file("/proc/uptime")) {
                    // Boot time plus the start's ticks since boot.
                    double since_boot = number(*uptime);
                    double started_after_boot = number(values[19]) / ticks_per_second;
                    double now = static_cast<double>(::time(nullptr));
                    families.push_back(
                        MetricFamily{.name = "process_start_time_seconds",
                                     .help = "When vesseld started, in seconds since the epoch.",
                                     .type = "gauge"}
                            .add({}, std::trunc(now - since_boot + started_after_boot)));
                }
            }
        }
    }
    if (DIR* fds = ::opendir("/proc/self/fd")) {
        double open = 0;
        while (dirent* entry = ::readdir(fds))
            if (entry->d_name[0] != '.') ++open;
        ::closedir(fds);
        families.push_back(MetricFamily{.name = "process_open_fds",
                                        .help = "File descriptors vesseld holds open.",
                                        .type = "gauge"}
                               .add({}, open - 1));  // less the directory's own
    }
    return families;
}

}  // namespace vessel::manager::api
