#include "manager/api/handlers.h"

#include <charconv>

#include "manager/api/server.h"

namespace vessel::manager {

namespace {

using http::Params;
using http::Request;
using http::Response;

Response sync(const Json& metadata, int status = 200) {
    Json body = {
        {"type", "sync"}, {"status", "Success"}, {"status_code", 200}, {"metadata", metadata}};
    return Response{.status = status, .body = body.dump()};
}

Response async(const OperationRecord& operation) {
    Json body = {{"type", "async"},
                 {"status", "Operation created"},
                 {"status_code", 100},
                 {"operation", "/1.0/operations/" + operation.id},
                 {"metadata", operation_json(operation)}};
    return Response{.status = 202, .body = body.dump()};
}

Response error(const Error& e) {
    return http::error_response(http_status_for(e), api_message(e));
}

template <typename T>
Response sync_or_error(const Result<T>& result) {
    if (!result) return error(result.error());
    return sync(*result);
}

Response async_or_error(const Result<OperationRecord>& result) {
    if (!result) return error(result.error());
    return async(*result);
}

// The request body as a JSON object; an absent body is an empty object.
Result<Json> body_object(const Request& request) {
    if (request.body.empty()) return Json::object();
    auto json = parse_json(request.body, "request body");
    if (!json) return fail_errno(EINVAL, json.error().message());
    if (!json->is_object()) return fail_errno(EINVAL, "request body: must be a JSON object");
    return *json;
}

bool query_flag(const Request& request, const std::string& key) {
    auto it = request.query.find(key);
    return it != request.query.end() && (it->second == "1" || it->second == "true");
}

std::optional<int64_t> query_int(const Request& request, const std::string& key) {
    auto it = request.query.find(key);
    if (it == request.query.end()) return std::nullopt;
    int64_t value = 0;
    auto [end, ec] =
        std::from_chars(it->second.data(), it->second.data() + it->second.size(), value);
    if (ec != std::errc() || end != it->second.data() + it->second.size()) return std::nullopt;
    return value;
}

// A required member's value, or an EINVAL error naming its JSON path.
Result<std::string> required_string(const JsonAt& at, std::string_view key) {
    auto child = at.child(key);
    if (!child) return fail_errno(EINVAL, child.error().message());
    auto value = child->string();
    if (!value) return fail_errno(EINVAL, value.error().message());
    return *value;
}

Result<std::vector<std::string>> required_strings(const JsonAt& at, std::string_view key) {
    auto child = at.child(key);
    if (!child) return fail_errno(EINVAL, child.error().message());
    auto value = child->string_array();
    if (!value) return fail_errno(EINVAL, value.error().message());
    return *value;
}

Result<LaunchRequest> parse_launch(const Json& body) {
    JsonAt at(body, "request body");
    LaunchRequest request;
    auto bad = [](const Error& e) { return fail_errno(EINVAL, e.message()); };
    request.name = TRY(required_string(at, "name"));
    // Incus spells the image as source.alias; a plain "image" is accepted too.
    std::optional<std::string> image;
    if (auto source = at.optional_child("source")) {
        auto alias = source->optional_string("alias");
        if (!alias) return bad(alias.error());
        image = *alias;
    }
    if (!image) {
        auto plain = at.optional_string("image");
        if (!plain) return bad(plain.error());
        image = *plain;
    }
    if (!image || image->empty()) return fail_errno(EINVAL, "request body: image: is required");
    request.image = *image;
    auto type = at.optional_string("type");
    if (!type) return bad(type.error());
    request.type = type->value_or("container");
    if (body.contains("config")) request.config = body["config"];
    auto start = at.optional_boolean("start");
    if (!start) return bad(start.error());
    request.start = start->value_or(true);
    return request;
}

}  // namespace

http::Router make_api_router(Manager& manager) {
    http::Router router;
    Manager* m = &manager;

    router.add("GET", "/", [](const Request&, const Params&) { return sync(Json{"/1.0"}); });
    router.add("GET", "/1.0", [](const Request&, const Params&) {
        return sync(Json{{"api_version", "1.0"}, {"server", "vesseld"}, {"auth", "trusted"}});
    });

    router.add("GET", "/1.0/instances", [m](const Request& r, const Params&) {
        auto list = m->list_instances();
        if (!list) return error(list.error());
        if (query_flag(r, "recursion")) return sync(*list);
        Json urls = Json::array();
        for (const auto& instance : *list)
            urls.push_back("/1.0/instances/" + instance["name"].get<std::string>());
        return sync(urls);
    });
    router.add("POST", "/1.0/instances", [m](const Request& r, const Params&) {
        auto body = body_object(r);
        if (!body) return error(body.error());
        auto request = parse_launch(*body);
        if (!request) return error(request.error());
        return async_or_error(m->launch(std::move(*request)));
    });
    router.add("GET", "/1.0/instances/{name}", [m](const Request&, const Params& p) {
        return sync_or_error(m->instance_json(p.at("name")));
    });
    router.add("PATCH", "/1.0/instances/{name}", [m](const Request& r, const Params& p) {
        auto body = body_object(r);
        if (!body) return error(body.error());
        if (!body->contains("config"))
            return error(Error("request body: config: is required", EINVAL));
        return sync_or_error(m->update_config(p.at("name"), (*body)["config"]));
    });
    router.add("DELETE", "/1.0/instances/{name}", [m](const Request& r, const Params& p) {
        return async_or_error(m->remove(p.at("name"), query_flag(r, "force")));
    });
    router.add("GET", "/1.0/instances/{name}/state", [m](const Request&, const Params& p) {
        return sync_or_error(m->instance_state(p.at("name")));
    });
    router.add("PUT", "/1.0/instances/{name}/state", [m](const Request& r, const Params& p) {
        auto body = body_object(r);
        if (!body) return error(body.error());
        JsonAt at(*body, "request body");
        auto action = required_string(at, "action");
        if (!action) return error(action.error());
        auto timeout = at.optional_integer("timeout");
        auto force = at.optional_boolean("force");
        if (!timeout) return error(Error(timeout.error().message(), EINVAL));
        if (!force) return error(Error(force.error().message(), EINVAL));
        int64_t seconds = timeout->value_or(30);
        if (seconds < 0 || seconds > 3600)
            return error(Error("request body.timeout: must be 0 to 3600 seconds", EINVAL));
        return async_or_error(m->change_state(p.at("name"), *action, std::chrono::seconds(seconds),
                                              force->value_or(false)));
    });
    router.add("POST", "/1.0/instances/{name}/exec", [m](const Request& r, const Params& p) {
        auto body = body_object(r);
        if (!body) return error(body.error());
        JsonAt at(*body, "request body");
        auto command = required_strings(at, "command");
        if (!command) return error(command.error());
        auto input = at.optional_string("stdin");
        if (!input) return error(Error(input.error().message(), EINVAL));
        auto result = m->exec(p.at("name"), *command, input->value_or(""));
        if (!result) return error(result.error());
        return sync(Json{{"return", result->status.shell_code()},
                         {"stdout", result->out},
                         {"stderr", result->err}});
    });
    router.add("GET", "/1.0/instances/{name}/console", [m](const Request& r, const Params& p) {
        // ?attach=1: where to attach (the API socket's peer is root on this host, as is the
        // console socket's); otherwise the log so far.
        if (query_flag(r, "attach")) {
            auto socket = m->console_socket(p.at("name"));
            if (!socket) return error(socket.error());
            return sync(Json{{"socket", *socket}});
        }
        auto log = m->console_log(p.at("name"));
        if (!log) return error(log.error());
        return Response{.status = 200, .content_type = "text/plain", .body = *log};
    });

    router.add("GET", "/1.0/images", [m](const Request&, const Params&) {
        auto images = m->store().list_images();
        if (!images) return error(images.error());
        Json list = Json::array();
        for (const auto& image : *images)
            list.push_back({{"fingerprint", image.fingerprint},
                            {"type", image.type},
                            {"aliases", image.aliases},
                            {"description", image.description},
                            {"created_at", image.created_at}});
        return sync(list);
    });
    router.add("POST", "/1.0/images", [m](const Request& r, const Params&) {
        auto body = body_object(r);
        if (!body) return error(body.error());
        auto type = body->value("type", "container");
        auto alias = body->value("alias", "");
        if (type == "build")
            return async_or_error(m->build_image(body->value("distribution", ""), alias));
        Result<ImageRecord> image = fail_errno(EINVAL, "request body: type: container or vm");
        if (type == "container") {
            auto source = body->value("source", "");
            if (source.empty())
                return error(Error("request body: source: the rootfs tarball's path", EINVAL));
            image = m->images().import_rootfs_tarball(source, alias);
        } else if (type == "vm") {
            image = m->images().import_vm(body->value("kernel", ""), body->value("initrd", ""),
                                          body->value("append", "console=ttyS0"), alias);
        }
        if (!image) {
            // Import failures are the caller's input (a bad tarball) unless errno says otherwise.
            if (image.error().code() == 0) return error(Error(image.error().message(), EINVAL));
            return error(image.error());
        }
        return sync(Json{{"fingerprint", image->fingerprint}, {"aliases", image->aliases}}, 201);
    });
    router.add("DELETE", "/1.0/images/{name}", [m](const Request&, const Params& p) {
        auto removed = m->images().remove(p.at("name"));
        if (!removed) return error(removed.error());
        return sync(Json::object());
    });

    router.add("GET", "/1.0/networks", [m](const Request&, const Params&) {
        auto networks = m->list_networks();
        if (!networks) return error(networks.error());
        return sync(*networks);
    });
    router.add("DELETE", "/1.0/networks/{name}", [m](const Request&, const Params& p) {
        auto removed = m->delete_network(p.at("name"));
        if (!removed) return error(removed.error());
        return sync(Json::object());
    });

    router.add("GET", "/1.0/operations/{id}", [m](const Request&, const Params& p) {
        auto op = m->operations().find(p.at("id"));
        if (!op) return http::error_response(404, "operation " + p.at("id") + " not found");
        return sync(operation_json(*op));
    });
    router.add("GET", "/1.0/operations/{id}/wait", [m](const Request& r, const Params& p) {
        auto timeout = query_int(r, "timeout").value_or(-1);
        auto wait = timeout < 0 ? std::chrono::milliseconds(std::chrono::hours(24))
                                : std::chrono::milliseconds(timeout * 1000);
        auto op = m->operations().wait(p.at("id"), wait);
        if (!op) return http::error_response(404, "operation " + p.at("id") + " not found");
        return sync(operation_json(*op));
    });

    router.add("GET", "/1.0/events", [m](const Request&, const Params&) {
        return Response{.status = 200,
                        .content_type = "application/json-seq",
                        .stream = [m](http::ChunkWriter& writer) {
                            auto subscription = m->events().subscribe();
                            // The empty chunk-free first write flushes the head to the client.
                            while (!writer.peer_closed()) {
                                auto event = subscription->next(std::chrono::milliseconds(250));
                                if (event && !writer.write(event->dump() + "\n")) break;
                            }
                            m->events().unsubscribe(subscription);
                        }};
    });
    return router;
}

}  // namespace vessel::manager
