// The client side of the REST API, used by `vessel` and by tests.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "base/error.h"
#include "base/json.h"
#include "manager/api/http.h"

namespace vessel::manager {

struct ApiResponse {
    int status = 0;
    Json body;

    // The "error" of an error body, or empty.
    std::string error() const;
    // The "metadata" of a sync body, or null.
    Json metadata() const;
};

// A connection that left HTTP for the frame protocol, and what already arrived on it.
struct ApiStream {
    UniqueFd fd;
    std::string early_bytes;
};

class ApiClient {
  public:
    // Fails with ECONNREFUSED/ENOENT when no daemon listens on the socket.
    static Result<ApiClient> connect(const std::string& socket_path);
    // Over a connection made otherwise (the plain side of a remote's TLS relay).
    static ApiClient over(UniqueFd connection) {
        return ApiClient(http::Connection(std::move(connection)));
    }

    // The body must be text: a string that is not UTF-8 is an error naming it, before anything is
    // sent.
    Result<ApiResponse> request(std::string_view method, std::string_view path,
                                const std::optional<Json>& body = std::nullopt);
    // Requests an async operation and waits for it: a 202 answer's operation is waited on and
    // its final record returned (an operation that failed becomes an error).
    Result<Json> run(std::string_view method, std::string_view path,
                     const std::optional<Json>& body = std::nullopt);
    // Asks for a streamed operation (exec, file transfer); an error answer becomes an error with
    // the daemon's message. The client is spent afterwards.
    Result<ApiStream> stream(std::string_view method, std::string_view path,
                             const std::optional<Json>& body = std::nullopt);
    // Reads the event stream; on_event returns false to stop. on_subscribed runs once the daemon
    // has subscribed this client: no event published after it is missed.
    Result<> events(const std::function<bool(const Json&)>& on_event,
                    const std::function<void()>& on_subscribed = {});

  private:
    explicit ApiClient(http::Connection connection) : connection_(std::move(connection)) {}
    http::Connection connection_;
};

}  // namespace vessel::manager
