// How the API answers: requests by method and status, and how long each took until its response
// was ready (a stream's until its head), as a histogram, for GET /1.0/metrics. Shared by every
// listener's threads.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "manager/api/prometheus.h"

namespace vessel::manager::api {

class RequestMetrics {
  public:
    // Upper bounds of the latency buckets, in seconds; a last one, +Inf, is implied.
    static constexpr std::array<double, 12> bucket_bounds = {
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5};

    // `method` as the client sent it: anything but the API's methods counts as "other", so that
    // a client cannot grow the label set.
    void record(std::string_view method, int status, std::chrono::nanoseconds elapsed);

    // vessel_api_requests_total{method,code} and vessel_api_request_duration_seconds{method}.
    std::vector<MetricFamily> families() const;

  private:
    struct Latency {
        std::array<uint64_t, bucket_bounds.size()> buckets{};  // not cumulative here
        uint64_t count = 0;
        double sum_seconds = 0;
    };
    mutable std::mutex mutex_;
    std::map<std::pair<std::string, int>, uint64_t> requests_;
    std::map<std::string, Latency> latency_;
};

}  // namespace vessel::manager::api
