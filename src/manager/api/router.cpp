#include "manager/api/router.h"

#include <fmt/ranges.h>

#include "manager/api/http.h"
#include "manager/api/server.h"

namespace vessel::manager::http {

std::vector<std::string> split_path(const std::string& path) {
    std::vector<std::string> segments;
    size_t start = 0;
    while (start < path.size()) {
        size_t end = path.find('/', start);
        if (end == std::string::npos) end = path.size();
        if (end > start) segments.push_back(path.substr(start, end - start));
        start = end + 1;
    }
    return segments;
}

void Router::add(std::string method, const std::string& pattern, RouteHandler handler) {
    routes_.push_back({.method = std::move(method),
                       .pattern = pattern,
                       .segments = split_path(pattern),
                       .handler = std::move(handler)});
}

Response Router::dispatch(const Request& request) const {
    // Split before decoding: a name may hold an encoded "/" (the image riscv64/busybox is
    // /1.0/images/riscv64%2Fbusybox) and must stay one segment.
    auto raw_segments = split_path(request.target.substr(0, request.target.find('?')));
    std::vector<std::string> segments;
    for (const auto& raw : raw_segments) {
        auto decoded = percent_decode(raw);
        if (!decoded) return error_response(400, "malformed percent-encoding in path");
        segments.push_back(std::move(*decoded));
    }
    std::vector<std::string> allowed;
    for (const auto& route : routes_) {
        if (route.segments.size() != segments.size()) continue;
        Params params;
        bool matches = true;
        for (size_t i = 0; i < segments.size() && matches; ++i) {
            const auto& want = route.segments[i];
            if (want.size() > 2 && want.front() == '{' && want.back() == '}')
                params[want.substr(1, want.size() - 2)] = segments[i];
            else
                matches = want == segments[i];
        }
        if (!matches) continue;
        if (route.method != request.method) {
            allowed.push_back(route.method);
            continue;
        }
        return route.handler(request, params);
    }
    if (!allowed.empty())
        return error_response(
            405, fmt::format("method {} is not allowed on {} (allowed: {})", request.method,
                             request.path, fmt::join(allowed, ", ")));
    return error_response(404, fmt::format("no such endpoint: {}", request.path));
}

}  // namespace vessel::manager::http
