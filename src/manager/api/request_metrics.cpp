#include "manager/api/request_metrics.h"

#include <fmt/format.h>

namespace vessel::manager::api {

namespace {

std::string method_label(std::string_view method) {
    for (std::string_view known : {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
        if (method == known) return std::string(method);
    return "other";
}

}  // namespace

void RequestMetrics::record(std::string_view method, int status, std::chrono::nanoseconds elapsed) {
    auto label = method_label(method);
    double seconds = std::chrono::duration<double>(elapsed).count();
    std::lock_guard lock(mutex_);
    ++requests_[{label, status}];
    auto& latency = latency_[label];
    ++latency.count;
    latency.sum_seconds += seconds;
    for (size_t i = 0; i < bucket_bounds.size(); ++i)
        if (seconds <= bucket_bounds[i]) {
            ++latency.buckets[i];
            break;
        }
}

std::vector<MetricFamily> RequestMetrics::families() const {
    MetricFamily requests{.name = "vessel_api_requests_total",
                          .help = "API requests answered, by method and HTTP status.",
                          .type = "counter"};
    MetricFamily durations{
        .name = "vessel_api_request_duration_seconds",
        .help = "Time from a complete request to its response (a stream's head), by method.",
        .type = "histogram"};
    std::lock_guard lock(mutex_);
    for (const auto& [key, count] : requests_)
        requests.add({{"method", key.first}, {"code", std::to_string(key.second)}},
                     static_cast<double>(count));
    for (const auto& [method, latency] : latency_) {
        uint64_t cumulative = 0;
        for (size_t i = 0; i < bucket_bounds.size(); ++i) {
            cumulative += latency.buckets[i];
            durations.add({{"method", method}, {"le", fmt::format("{}", bucket_bounds[i])}},
                          static_cast<double>(cumulative), "_bucket");
        }
        durations.add({{"method", method}, {"le", "+Inf"}}, static_cast<double>(latency.count),
                      "_bucket");
        durations.add({{"method", method}}, latency.sum_seconds, "_sum");
        durations.add({{"method", method}}, static_cast<double>(latency.count), "_count");
    }
    return {requests, durations};
}

}  // namespace vessel::manager::api
