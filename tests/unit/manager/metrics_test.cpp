#include <gtest/gtest.h>

#include "manager/api/metrics.h"
#include "manager/api/prometheus.h"
#include "manager/api/request_metrics.h"
#include "manager/instance/usage.h"

namespace vessel::manager {
namespace {

using api::exposition_text;
using api::MetricFamily;

bool has_line(const std::string& text, const std::string& line) {
    return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(Prometheus, WritesHelpTypeAndEscapedLabels) {
    MetricFamily family{.name = "vessel_x", .help = "A \\ help\nline.", .type = "gauge"};
    family.add({{"name", "a\"b\\c\nd"}, {"type", "vm"}}, 3);
    family.add({}, 0.25);
    MetricFamily empty{.name = "vessel_empty_total", .help = "None yet.", .type = "counter"};
    auto text = exposition_text({family, empty});
    EXPECT_EQ(text,
              "# HELP vessel_x A \\\\ help\\nline.\n"
              "# TYPE vessel_x gauge\n"
              "vessel_x{name=\"a\\\"b\\\\c\\nd\",type=\"vm\"} 3\n"
              "vessel_x 0.25\n"
              "# HELP vessel_empty_total None yet.\n"
              "# TYPE vessel_empty_total counter\n");
}

TEST(Prometheus, WritesLargeCountersExactlyAndInfinities) {
    MetricFamily family{.name = "vessel_y", .help = "h", .type = "counter"};
    family.add({}, 9007199254740992.0);  // 2^53
    family.add({{"le", "+Inf"}}, std::numeric_limits<double>::infinity(), "_bucket");
    auto text = exposition_text({family});
    EXPECT_TRUE(has_line(text, "vessel_y 9007199254740992")) << text;
    EXPECT_TRUE(has_line(text, "vessel_y_bucket{le=\"+Inf\"} +Inf")) << text;
}

TEST(RequestMetrics, CountsByMethodAndStatusWithCumulativeBuckets) {
    api::RequestMetrics metrics;
    metrics.record("GET", 200, std::chrono::microseconds(300));
    metrics.record("GET", 200, std::chrono::milliseconds(3));
    metrics.record("GET", 404, std::chrono::seconds(7));
    metrics.record("BREW", 405, std::chrono::microseconds(1));
    auto text = exposition_text(metrics.families());
    EXPECT_TRUE(has_line(text, "vessel_api_requests_total{method=\"GET\",code=\"200\"} 2")) << text;
    EXPECT_TRUE(has_line(text, "vessel_api_requests_total{method=\"GET\",code=\"404\"} 1"));
    // An unknown method is "other", so a client cannot add label values at will.
    EXPECT_TRUE(has_line(text, "vessel_api_requests_total{method=\"other\",code=\"405\"} 1"));
    EXPECT_EQ(text.find("BREW"), std::string::npos);
    EXPECT_TRUE(has_line(
        text, "vessel_api_request_duration_seconds_bucket{method=\"GET\",le=\"0.0005\"} 1"));
    EXPECT_TRUE(has_line(
        text, "vessel_api_request_duration_seconds_bucket{method=\"GET\",le=\"0.005\"} 2"));
    EXPECT_TRUE(
        has_line(text, "vessel_api_request_duration_seconds_bucket{method=\"GET\",le=\"5\"} 2"));
    EXPECT_TRUE(
        has_line(text, "vessel_api_request_duration_seconds_bucket{method=\"GET\",le=\"+Inf\"} 3"));
    EXPECT_TRUE(has_line(text, "vessel_api_request_duration_seconds_count{method=\"GET\"} 3"));
}

TEST(InstanceMetrics, ContainerFiguresComeFromItsCgroupAndNamespace) {
    host::cgroup::Usage cgroup{.cpu_user_ns = 1500000000,
                               .cpu_system_ns = 250000000,
                               .memory_bytes = 8 << 20,
                               .memory_limit_bytes = 64 << 20,
                               .processes = 3};
    auto usage = container_usage(
        cgroup, "eth0: 100 2 0 0 0 0 0 0 200 3 0 0 0 0 0 0\nlo: 1 1 0 0 0 0 0 0 1 1 0 0 0 0 0 0\n");
    std::vector<InstanceUsageView> instances{
        {.name = "c1",
         .kind = InstanceKind::container,
         .status = InstanceState::running,
         .usage = usage},
        {.name = "c2", .kind = InstanceKind::container, .status = InstanceState::stopped}};
    auto text = exposition_text(api::instance_families(instances));
    EXPECT_TRUE(has_line(text,
                         "vessel_cpu_seconds_total{name=\"c1\",type=\"container\","
                         "mode=\"user\"} 1.5"))
        << text;
    EXPECT_TRUE(
        has_line(text, "vessel_memory_usage_bytes{name=\"c1\",type=\"container\"} 8388608"));
    EXPECT_TRUE(
        has_line(text, "vessel_memory_limit_bytes{name=\"c1\",type=\"container\"} 67108864"));
    EXPECT_TRUE(has_line(text, "vessel_processes{name=\"c1\",type=\"container\"} 3"));
    EXPECT_TRUE(has_line(text,
                         "vessel_network_receive_bytes_total{name=\"c1\",type=\"container\","
                         "interface=\"eth0\"} 100"));
    EXPECT_TRUE(has_line(text,
                         "vessel_network_transmit_bytes_total{name=\"c1\","
                         "type=\"container\",interface=\"eth0\"} 200"));
    EXPECT_EQ(text.find("interface=\"lo\""), std::string::npos);
    EXPECT_TRUE(has_line(text, "vessel_instance_running{name=\"c2\",type=\"container\"} 0"));
    EXPECT_TRUE(
        has_line(text, "vessel_instance_info{name=\"c2\",type=\"container\",state=\"stopped\"} 1"));
    // A stopped instance has no figures at all, not zeros.
    EXPECT_EQ(text.find("vessel_memory_usage_bytes{name=\"c2\""), std::string::npos);
    EXPECT_EQ(text.find("vessel_vmm_memory_bytes{"), std::string::npos);
}

TEST(InstanceMetrics, VmFiguresTakeTheGuestsReportAndTheVmmsCgroup) {
    host::cgroup::Usage cgroup{.cpu_user_ns = 2000000000, .memory_bytes = 90 << 20};
    Json report = {
        {"memory", {{"total", 256 << 20}, {"available", 200 << 20}}},
        {"processes", 12},
        {"network", {{{"interface", "eth0"}, {"received_bytes", 10}, {"sent_bytes", 20}}}},
        {"disk_io", {{{"device", "vda"}, {"read_bytes", 4096}, {"written_bytes", 512}}}}};
    auto usage = vm_usage(cgroup, report);
    EXPECT_EQ(usage.memory_bytes, uint64_t{56} << 20);
    EXPECT_EQ(usage.memory_limit_bytes, uint64_t{256} << 20);
    EXPECT_EQ(usage.host_memory_bytes, uint64_t{90} << 20);
    EXPECT_EQ(usage.processes, 12u);
    ASSERT_EQ(usage.network.size(), 1u);
    EXPECT_EQ(usage.network[0].sent_bytes, 20u);
    ASSERT_EQ(usage.disks.size(), 1u);
    EXPECT_EQ(usage.disks[0].device, "vda");
    EXPECT_EQ(usage.disks[0].read_bytes, 4096u);
    std::vector<InstanceUsageView> instances{
        {.name = "v1", .kind = InstanceKind::vm, .status = InstanceState::running, .usage = usage}};
    auto text = exposition_text(api::instance_families(instances));
    EXPECT_TRUE(has_line(text, "vessel_vmm_memory_bytes{name=\"v1\",type=\"vm\"} 94371840"))
        << text;
    EXPECT_TRUE(has_line(text,
                         "vessel_disk_written_bytes_total{name=\"v1\",type=\"vm\","
                         "device=\"vda\"} 512"));
}

TEST(InstanceMetrics, AHostileGuestReportCannotForgeOrSwellTheFigures) {
    Json interfaces = Json::array();
    for (int i = 0; i < 1000; ++i)
        interfaces.push_back({{"interface", "eth" + std::to_string(i)}, {"received_bytes", i}});
    interfaces.push_back({{"interface", std::string(65, 'x')}, {"received_bytes", 1}});
    Json report = {
        {"memory", {{"total", 100}, {"available", 200}}},  // more free than there is
        {"processes", -5},
        {"network", interfaces},
        {"disk_io", {"vda", 7, {{"device", 7}}, {{"device", "vdb"}, {"read_bytes", "9"}}}}};
    auto usage = vm_usage({}, report);
    EXPECT_FALSE(usage.memory_bytes);
    EXPECT_EQ(usage.memory_limit_bytes, 100u);
    EXPECT_FALSE(usage.processes);
    EXPECT_EQ(usage.network.size(), 64u);
    ASSERT_EQ(usage.disks.size(), 1u);
    EXPECT_EQ(usage.disks[0].device, "vdb");
    EXPECT_EQ(usage.disks[0].read_bytes, 0u);
    // Not an object at all (an agent that failed answers {"agent": "not answering"}).
    auto nothing = vm_usage({.cpu_user_ns = 5}, Json("garbage"));
    EXPECT_EQ(nothing.cpu_user_ns, 5u);
    EXPECT_FALSE(nothing.memory_bytes);
    EXPECT_TRUE(nothing.network.empty());
}

TEST(OperationMetrics, CountsWhatRunsAndWhatEnded) {
    OperationCounts counts{.running = 2,
                           .ended = {{{"launch", OperationStatus::success}, 5},
                                     {{"launch", OperationStatus::failure}, 1}}};
    auto text = exposition_text(api::operation_families(counts));
    EXPECT_TRUE(has_line(text, "vessel_operations_running 2"));
    EXPECT_TRUE(has_line(text, "vessel_operations_total{kind=\"launch\",status=\"success\"} 5"));
    EXPECT_TRUE(has_line(text, "vessel_operations_total{kind=\"launch\",status=\"failure\"} 1"));
}

TEST(ProcessMetrics, DescribeThisProcess) {
    auto text = exposition_text(api::process_families());
    for (const char* name : {"process_cpu_seconds_total ", "process_resident_memory_bytes ",
                             "process_start_time_seconds ", "process_open_fds "})
        EXPECT_NE(text.find(std::string("\n") + name), std::string::npos) << name << "\n" << text;
}

}  // namespace
}  // namespace vessel::manager
