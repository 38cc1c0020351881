#include "manager/api/client.h"
#include "base/fd_passing.h"

#include "manager/api/server.h"

namespace vessel::manager {

std::string ApiResponse::error() const {
    if (body.is_object() && body.contains("error") && body["error"].is_string())
        return body["error"].get<std::string>();
    return {};
}

Result<ApiClient> ApiClient::connect(const std::string& socket_path) {
    auto fd = TRY(connect_unix(socket_path));
    return ApiClient(http::Connection(std::move(fd)));
}

Result<ApiResponse> ApiClient::request(std::string_view method, std::string_view path,
                                       const std::optional<Json>& body) {
    TRY(connection_.write_request(method, path, body ? body->dump() : std::string()));
    auto response = TRY(connection_.read_response());
    ApiResponse api{.status = response.status, .body = Json()};
    if (!response.body.empty())
        api.body = TRY_CTX(parse_json(response.body, "response"), "{} {}", method, path);
    return api;
}

Result<Json> ApiClient::run(std::string_view method, std::string_view path,
                            const std::optional<Json>& body) {
    auto response = TRY(request(method, path, body));
    if (response.status >= 400) return fail("{}", response.error());
    if (response.status != 202) return response.body.value("metadata", Json());
    auto operation = response.body.value("operation", std::string());
    if (operation.empty()) return fail("async response without an operation");
    auto waited = TRY(request("GET", operation + "/wait"));
    if (waited.status >= 400) return fail("{}", waited.error());
    auto metadata = waited.body.value("metadata", Json::object());
    if (metadata.value("status", "") == "failure") return fail("{}", metadata.value("err", ""));
    return metadata;
}

Result<> ApiClient::events(const std::function<bool(const Json&)>& on_event) {
    TRY(connection_.write_request("GET", "/1.0/events", ""));
    std::string pending;
    bool keep_going = true;
    auto status = TRY(connection_.read_streamed_response([&](std::string_view chunk) {
        pending += chunk;
        size_t newline;
        while (keep_going && (newline = pending.find('\n')) != std::string::npos) {
            auto line = pending.substr(0, newline);
            pending.erase(0, newline + 1);
            if (auto event = parse_json(line, "event"); event) keep_going = on_event(*event);
        }
        return keep_going;
    }));
    if (status >= 400) return fail("events: HTTP {}", status);
    return {};
}

}  // namespace vessel::manager
