// Prometheus's text exposition format (version 0.0.4), which every Prometheus server and most
// monitoring agents scrape: families of samples, each with its HELP and TYPE lines once.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace vessel::manager::api {

using Labels = std::vector<std::pair<std::string, std::string>>;

struct Sample {
    Labels labels;
    double value = 0;
    // Appended to the family's name: "_bucket", "_sum", "_count" of a histogram.
    std::string suffix;
};

struct MetricFamily {
    std::string name;
    std::string help;
    std::string type;  // counter, gauge, histogram
    std::vector<Sample> samples;

    MetricFamily& add(Labels labels, double value, std::string suffix = {});
};

// The Content-Type of the format.
inline constexpr const char* exposition_content_type = "text/plain; version=0.0.4; charset=utf-8";

// The families in order; a family without samples still gets its HELP and TYPE, so that a scraper
// learns that the metric exists. Label values are escaped (\\, \", \n), numbers written exactly
// (integers as integers, +Inf as "+Inf").
std::string exposition_text(const std::vector<MetricFamily>& families);

}  // namespace vessel::manager::api
