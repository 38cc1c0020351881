#include "manager/api/handlers.h"

#include <charconv>

#include "manager/api/base64.h"
#include "manager/api/server.h"
#include "manager/instance/streams.h"
#include "manager/json_text.h"

namespace vessel::manager {

namespace {

using http::Params;
using http::Request;
using http::Response;

Response sync(const Json& metadata, int status = 200) {
    Json body = {
        {"type", "sync"}, {"status", "Success"}, {"status_code", 200}, {"metadata", metadata}};
    return Response{.status = status, .body = dump_json(body)};
}

Response async(const OperationRecord& operation) {
    Json body = {{"type", "async"},
                 {"status", "Operation created"},
                 {"status_code", 100},
                 {"operation", "/1.0/operations/" + operation.id},
                 {"metadata", operation_json(operation)}};
    return Response{.status = 202, .body = dump_json(body)};
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

// An integer query parameter from `lowest` to `highest`; nullopt when absent.
Result<std::optional<int64_t>> query_int(const Request& request, const std::string& key,
                                         int64_t lowest, int64_t highest) {
    auto it = request.query.find(key);
    if (it == request.query.end()) return std::optional<int64_t>{};
    int64_t value = 0;
    auto [end, ec] =
        std::from_chars(it->second.data(), it->second.data() + it->second.size(), value);
    if (ec != std::errc() || end != it->second.data() + it->second.size() || value < lowest ||
        value > highest)
        return fail_errno(EINVAL, fmt::format("query {}: must be an integer from {} to {}", key,
                                              lowest, highest));
    return std::optional<int64_t>(value);
}

// The value of a JsonAt getter, or its error as EINVAL (400).
template <typename T>
Result<T> input(Result<T> value) {
    if (!value) return fail_errno(EINVAL, value.error().message());
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

// An exec body: {"command": [...], "stdin_base64": "..."} (or "stdin" as text).
Result<std::pair<std::vector<std::string>, std::string>> parse_exec(const Json& body) {
    JsonAt at(body, "request body");
    auto command = TRY(required_strings(at, "command"));
    auto text = TRY(input(at.optional_string("stdin")));
    auto encoded = TRY(input(at.optional_string("stdin_base64")));
    if (text && encoded)
        return fail_errno(EINVAL, "request body: stdin and stdin_base64 are exclusive");
    std::string stdin_data = text.value_or("");
    if (encoded) {
        auto decoded = base64_decode(*encoded);
        if (!decoded)
            return fail_errno(
                EINVAL, fmt::format("request body.stdin_base64: {}", decoded.error().message()));
        stdin_data = std::move(*decoded);
    }
    return std::pair{std::move(command), std::move(stdin_data)};
}

// A streamed exec's body, Incus's names: {"command": [...], "environment": {"K": "V"},
// "cwd": "/", "user": 0, "group": 0, "interactive": false, "width": 80, "height": 24}.
Result<ExecSpec> parse_exec_stream(const Json& body) {
    JsonAt at(body, "request body");
    ExecSpec spec;
    spec.argv = TRY(required_strings(at, "command"));
    if (spec.argv.empty()) return fail_errno(EINVAL, "request body.command: must not be empty");
    if (body.contains("environment")) {
        const Json& environment = body["environment"];
        if (!environment.is_object())
            return fail_errno(EINVAL, "request body.environment: must be an object of strings");
        for (const auto& [key, value] : environment.items()) {
            if (key.empty() || key.find('=') != std::string::npos ||
                key.find('\0') != std::string::npos || !value.is_string())
                return fail_errno(EINVAL,
                                  fmt::format("request body.environment.{}: a variable needs a "
                                              "name without '=' and a string value",
                                              single_line(key)));
            spec.env.push_back(key + "=" + value.get<std::string>());
        }
    }
    spec.cwd = TRY(input(at.optional_string("cwd"))).value_or("/");
    if (spec.cwd.empty() || spec.cwd[0] != '/')
        return fail_errno(EINVAL, "request body.cwd: must be an absolute path");
    spec.uid = TRY(input(at.optional_integer_in<uint32_t>("user"))).value_or(0);
    spec.gid = TRY(input(at.optional_integer_in<uint32_t>("group"))).value_or(0);
    spec.tty = TRY(input(at.optional_boolean("interactive"))).value_or(false);
    spec.cols = TRY(input(at.optional_integer_in<uint16_t>("width"))).value_or(80);
    spec.rows = TRY(input(at.optional_integer_in<uint16_t>("height"))).value_or(24);
    return spec;
}

// The answer to a streamed request: the refusal as an HTTP error, or the switch to frames with
// the session run on the connection (its failure in place of its last frame).
Response switch_to_frames(Result<Manager::StreamSession> session) {
    if (!session) return error(session.error());
    return Response{
        .status = 101,
        .upgrade_protocol = std::string(http::frame_stream_protocol),
        .upgrade = [session = std::move(*session)](int fd, std::string early_bytes) {
            // The client waits for the switch before its first frame: anything earlier is not
            // this protocol.
            if (!early_bytes.empty()) {
                send_error_reply(fd, Error("frames sent before the switch to frames", EPROTO));
                return;
            }
            if (auto done = session(fd); !done) send_error_reply(fd, done.error());
        }};
}

Result<PushedFile> parse_push(const Request& request) {
    auto body = TRY(body_object(request));
    JsonAt at(body, "request body");
    PushedFile file{
        .path = TRY(input(at.optional_string("path"))).value_or(""),
        .meta = {.mode = TRY(input(at.optional_integer_in<mode_t>("mode"))).value_or(0644),
                 .uid = TRY(input(at.optional_integer_in<uid_t>("uid"))).value_or(0),
                 .gid = TRY(input(at.optional_integer_in<gid_t>("gid"))).value_or(0)},
        .parents = TRY(input(at.optional_boolean("parents"))).value_or(false)};
    if (file.meta.mode > 07777)
        return fail_errno(EINVAL, "request body.mode: must be a permission mode up to 07777");
    auto encoded = TRY(input(at.optional_string("content_base64"))).value_or("");
    auto decoded = base64_decode(encoded);
    if (!decoded)
        return fail_errno(
            EINVAL, fmt::format("request body.content_base64: {}", decoded.error().message()));
    file.content = std::move(*decoded);
    return file;
}

// A container or VM image from files on this host; nullopt for {"type":"build"}, an operation.
Result<std::optional<ImageRecord>> import_image(Manager& m, const Json& body,
                                                const Cancellation& client) {
    JsonAt at(body, "request body");
    auto type = TRY(input(at.optional_string("type"))).value_or("container");
    auto alias = TRY(input(at.optional_string("alias"))).value_or("");
    if (type == "build") return std::optional<ImageRecord>{};
    if (type == "container") {
        auto source = TRY(input(at.optional_string("source"))).value_or("");
        if (source.empty())
            return fail_errno(EINVAL, "request body: source: the rootfs tarball's path");
        return std::optional<ImageRecord>(
            TRY(m.images().import_rootfs_tarball(source, alias, {}, {}, client)));
    }
    if (type == "vm") {
        VmImageSource source{
            .kernel = TRY(input(at.optional_string("kernel"))).value_or(""),
            .initrd = TRY(input(at.optional_string("initrd"))).value_or(""),
            .disk = TRY(input(at.optional_string("disk"))).value_or(""),
            .append = TRY(input(at.optional_string("append"))).value_or("console=ttyS0"),
            .agent = TRY(input(at.optional_boolean("agent"))).value_or(false)};
        return std::optional<ImageRecord>(TRY(m.images().import_vm(source, alias, client)));
    }
    return fail_errno(EINVAL,
                      fmt::format("request body.type: {} is not container, vm or build", type));
}

Result<OperationRecord> build_image(Manager& m, const Json& body) {
    JsonAt at(body, "request body");
    auto distribution = TRY(input(at.optional_string("distribution"))).value_or("");
    auto alias = TRY(input(at.optional_string("alias"))).value_or("");
    auto vm = TRY(input(at.optional_boolean("vm"))).value_or(false);
    auto architecture = TRY(input(at.optional_string("architecture"))).value_or("");
    return m.build_image(distribution, alias, vm, architecture);
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
        auto timeout = input(at.optional_integer_in<int64_t>("timeout"));
        auto force = input(at.optional_boolean("force"));
        if (!timeout) return error(timeout.error());
        if (!force) return error(force.error());
        int64_t seconds = timeout->value_or(30);
        if (seconds < 0 || seconds > 3600)
            return error(Error("request body.timeout: must be 0 to 3600 seconds", EINVAL));
        return async_or_error(m->change_state(p.at("name"), *action, std::chrono::seconds(seconds),
                                              force->value_or(false)));
    });
    // Exec and files: with "Upgrade: vessel-frames" the connection switches to frames and the
    // contents stream both ways (no size limit); without it, JSON with base64 contents.
    router.add("POST", "/1.0/instances/{name}/exec", [m](const Request& r, const Params& p) {
        auto body = body_object(r);
        if (!body) return error(body.error());
        if (http::asks_upgrade(r, http::frame_stream_protocol)) {
            auto spec = parse_exec_stream(*body);
            if (!spec) return error(spec.error());
            return switch_to_frames(m->exec_stream(p.at("name"), std::move(*spec)));
        }
        auto request = parse_exec(*body);
        if (!request) return error(request.error());
        auto result = m->exec(p.at("name"), request->first, request->second, r.client);
        if (!result) return error(result.error());
        // Programs print bytes, not text: base64 carries them exactly.
        return sync(Json{{"return", result->status.shell_code()},
                         {"stdout_base64", base64_encode(result->out)},
                         {"stderr_base64", base64_encode(result->err)}});
    });
    // Files: {"path", "mode", "uid", "gid", "parents", "content_base64"} in, the same out.
    router.add("POST", "/1.0/instances/{name}/files", [m](const Request& r, const Params& p) {
        auto file = parse_push(r);
        if (!file) return error(file.error());
        if (http::asks_upgrade(r, http::frame_stream_protocol)) {
            if (!file->content.empty())
                return error(Error("request body.content_base64: a streamed push sends the "
                                   "contents as frames",
                                   EINVAL));
            return switch_to_frames(m->push_stream(
                p.at("name"), {.path = file->path, .meta = file->meta, .parents = file->parents}));
        }
        auto size = m->push_file(p.at("name"), *file);
        if (!size) return error(size.error());
        return sync(Json{{"path", file->path}, {"size", *size}});
    });
    router.add("GET", "/1.0/instances/{name}/files", [m](const Request& r, const Params& p) {
        auto path = r.query.find("path");
        if (path == r.query.end())
            return error(Error("query: path: the file's absolute path in the instance", EINVAL));
        if (http::asks_upgrade(r, http::frame_stream_protocol))
            return switch_to_frames(m->pull_stream(p.at("name"), path->second));
        auto pulled = m->pull_file(p.at("name"), path->second);
        if (!pulled) return error(pulled.error());
        return sync(Json{{"path", path->second},
                         {"mode", pulled->meta.mode},
                         {"uid", pulled->meta.uid},
                         {"gid", pulled->meta.gid},
                         {"size", pulled->content.size()},
                         {"content_base64", base64_encode(pulled->content)}});
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
        auto image = import_image(*m, *body, r.client);
        if (!image) {
            // Import failures are the caller's input (a bad tarball) unless errno says otherwise.
            if (image.error().code() == 0) return error(Error(image.error().message(), EINVAL));
            return error(image.error());
        }
        if (!*image) return async_or_error(build_image(*m, *body));
        return sync(Json{{"fingerprint", (*image)->fingerprint}, {"aliases", (*image)->aliases}},
                    201);
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
        auto timeout = query_int(r, "timeout", 0, 86400);
        if (!timeout) return error(timeout.error());
        auto wait = std::chrono::seconds(timeout->value_or(86400));
        auto op = m->operations().wait(p.at("id"), wait, r.client);
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
                                if (event && !writer.write(dump_json(*event) + "\n")) break;
                            }
                            m->events().unsubscribe(subscription);
                        }};
    });
    return router;
}

}  // namespace vessel::manager
