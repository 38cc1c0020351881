#include "manager/api/client.h"
#include "base/fd_passing.h"

#include "manager/api/server.h"
#include "manager/json_text.h"

namespace vessel::manager {

std::string ApiResponse::error() const {
    if (body.is_object() && body.contains("error") && body["error"].is_string())
        return body["error"].get<std::string>();
    return {};
}

Json ApiResponse::metadata() const {
    if (body.is_object() && body.contains("metadata")) return body["metadata"];
    return Json();
}

Result<ApiClient> ApiClient::connect(const std::string& socket_path) {
    auto fd = TRY(connect_unix(socket_path));
    // Answers may be large: an exec's output, base64-encoded, is up to 2 x 16 MiB of bytes.
    return ApiClient(http::Connection(std::move(fd), {.max_body_bytes = 64 << 20}));
}

Result<ApiResponse> ApiClient::request(std::string_view method, std::string_view path,
                                       const std::optional<Json>& body) {
    std::string text;
    if (body) text = TRY(dump_json_exact(*body, "request body"));
    TRY(connection_.write_request(method, path, text));
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
    if (response.status != 202) return response.metadata();
    auto operation = TRY(JsonAt(response.body, "response").optional_string("operation"));
    if (!operation || operation->empty()) return fail("async response without an operation");
    auto waited = TRY(request("GET", *operation + "/wait"));
    if (waited.status >= 400) return fail("{}", waited.error());
    auto metadata = waited.metadata();
    JsonAt at(metadata, "operation");
    if (TRY(at.optional_string("status")) == "failure")
        return fail("{}", TRY(at.optional_string("err")).value_or(""));
    return metadata;
}

Result<ApiStream> ApiClient::stream(std::string_view method, std::string_view path,
                                    const std::optional<Json>& body) {
    std::string text;
    if (body) text = TRY(dump_json_exact(*body, "request body"));
    TRY(connection_.write_request(method, path, text, http::frame_stream_protocol));
    auto refused = TRY(connection_.read_upgrade_response());
    if (refused) {
        ApiResponse api{.status = refused->status, .body = Json()};
        if (!refused->body.empty())
            api.body = TRY_CTX(parse_json(refused->body, "response"), "{} {}", method, path);
        if (refused->status >= 400) return fail("{}", api.error());
        return fail("{} {}: the daemon answered {} instead of switching to a stream", method, path,
                    refused->status);
    }
    std::string early = connection_.take_buffered();
    return ApiStream{.fd = connection_.release(), .early_bytes = std::move(early)};
}

Result<> ApiClient::events(const std::function<bool(const Json&)>& on_event,
                           const std::function<void()>& on_subscribed) {
    TRY(connection_.write_request("GET", "/1.0/events", ""));
    std::string pending;
    bool keep_going = true;
    auto status = TRY(connection_.read_streamed_response(
        [&](std::string_view chunk) {
            pending += chunk;
            size_t newline;
            while (keep_going && (newline = pending.find('\n')) != std::string::npos) {
                auto line = pending.substr(0, newline);
                pending.erase(0, newline + 1);
                if (auto event = parse_json(line, "event"); event) keep_going = on_event(*event);
            }
            return keep_going;
        },
        [&](int status) {
            if (status < 400 && on_subscribed) on_subscribed();
        }));
    if (status >= 400) return fail("events: HTTP {}", status);
    return {};
}

}  // namespace vessel::manager
