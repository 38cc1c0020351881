#include "manager/api/prometheus.h"

#include <fmt/format.h>

#include <cmath>

namespace vessel::manager::api {

namespace {

void append_escaped(std::string& out, std::string_view value, bool help) {
    for (char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else if (c == '"' && !help)
            out += "\\\"";
        else
            out += c;
    }
}

void append_value(std::string& out, double value) {
    if (std::isnan(value)) {
        out += "NaN";
    } else if (std::isinf(value)) {
        out += value > 0 ? "+Inf" : "-Inf";
    } else if (value == std::trunc(value) && std::fabs(value) < 1e18) {
        // Counters of bytes pass 2^53 only after petabytes; below that a double holds them exactly.
        fmt::format_to(std::back_inserter(out), "{}", static_cast<long long>(value));
    } else {
        fmt::format_to(std::back_inserter(out), "{}", value);
    }
}

}  // namespace

MetricFamily& MetricFamily::add(Labels labels, double value, std::string suffix) {
    samples.push_back({.labels = std::move(labels), .value = value, .suffix = std::move(suffix)});
    return *this;
}

std::string exposition_text(const std::vector<MetricFamily>& families) {
    std::string out;
    for (const auto& family : families) {
        out += "# HELP " + family.name + " ";
        append_escaped(out, family.help, true);
        out += "\n# TYPE " + family.name + " " + family.type + "\n";
        for (const auto& sample : family.samples) {
            out += family.name + sample.suffix;
            if (!sample.labels.empty()) {
                out += '{';
                bool first = true;
                for (const auto& [name, value] : sample.labels) {
                    if (!first) out += ',';
                    first = false;
                    out += name + "=\"";
                    append_escaped(out, value, false);
                    out += '"';
                }
                out += '}';
            }
            out += ' ';
            append_value(out, sample.value);
            out += '\n';
        }
    }
    return out;
}

}  // namespace vessel::manager::api
