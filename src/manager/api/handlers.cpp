#include "manager/api/handlers.h"

#include "base/fd_passing.h"
#include "manager/api/base64.h"
#include "manager/api/metrics.h"
#include "manager/api/requests.h"
#include "manager/api/server.h"
#include "manager/api/static_files.h"
#include "manager/api/status.h"
#include "manager/api/trust_token.h"
#include "manager/api/views.h"
#include "manager/api/websocket.h"
#include "manager/api/websocket_session.h"
#include "manager/client_message.h"
#include "manager/instance/streams.h"
#include "manager/json_text.h"

namespace vessel::manager {

namespace {

using api::body_object;
using api::query_flag;
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
    return http::error_response(api::http_status_for(e), client_message(e));
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

// The answer to a streamed request: the refusal as an HTTP error, or the switch to frames with
// the session run on the connection (its failure in place of its last frame).
Response switch_to_frames(Result<Manager::StreamSession> session) {
    if (!session) return error(session.error());
    return Response{.status = 101,
                    .upgrade_protocol = std::string(http::frame_stream_protocol),
                    .upgrade = [session = std::move(*session)](int fd, std::string early_bytes) {
                        // The client waits for the switch before its first frame: anything earlier
                        // is not this protocol.
                        if (!early_bytes.empty()) {
                            send_error_reply(
                                fd, Error("frames sent before the switch to frames", EPROTO));
                            return;
                        }
                        if (auto done = session(fd); !done) send_error_reply(fd, done.error());
                    }};
}

// The answer to a WebSocket request: the switch, with the session run on the connection.
Response switch_to_websocket(const Request& request,
                             std::function<void(int fd, std::string early_bytes)> session) {
    return Response{
        .status = 101,
        .upgrade_protocol = "websocket",
        .upgrade_headers = {{"Sec-WebSocket-Accept",
                             api::websocket_accept(request.header("sec-websocket-key"))}},
        .upgrade = std::move(session)};
}

// A container or VM image from files on this host; nullopt for a build, an operation.
Result<std::optional<ImageRecord>> import_image(Manager& m, const api::ImageRequest& request,
                                                const Cancellation& client) {
    if (const auto* tarball = std::get_if<api::ContainerImageImport>(&request))
        return std::optional<ImageRecord>(
            TRY(m.images().import_rootfs_tarball(tarball->source, tarball->alias, {}, {}, client)));
    if (const auto* vm = std::get_if<api::VmImageImport>(&request))
        return std::optional<ImageRecord>(TRY(m.images().import_vm(vm->source, vm->alias, client)));
    return std::optional<ImageRecord>{};
}

// An event subscription held by a response: it ends with the response, whether the stream ran or
// the head could not even be sent.
struct EventLease {
    explicit EventLease(EventBus& events) : events(events), subscription(events.subscribe()) {}
    ~EventLease() { events.unsubscribe(subscription); }
    EventLease(const EventLease&) = delete;
    EventLease& operator=(const EventLease&) = delete;
    EventBus& events;
    std::shared_ptr<EventBus::Subscription> subscription;
};

// A request from the unix socket (root on this host) or from a client whose certificate is in
// the trust store.
bool trusted(Manager& m, const Request& request) {
    return !request.peer || m.trust().trusts(request.peer->fingerprint);
}

Response untrusted(const Request& request) {
    return http::error_response(
        403, fmt::format("this client's certificate ({}) is not trusted by this server: on the "
                         "server, `vessel config trust add --name NAME` prints a one-time token; "
                         "here, `vessel remote add NAME https://HOST:PORT --token TOKEN` uses it",
                         request.peer->fingerprint.substr(0, 12)));
}

}  // namespace

http::Handler make_api_handler(const http::Router& router, Manager& manager,
                               api::RequestMetrics& requests, std::string ui_directory) {
    return [&router, &manager, &requests, ui_directory](const Request& request) {
        auto started = std::chrono::steady_clock::now();
        // An untrusted client may learn whom it talks to and present a token, nothing else.
        bool allowed =
            trusted(manager, request) ||
            (request.method == "GET" && (request.path == "/1.0" || request.path == "/")) ||
            (request.method == "POST" && request.path == "/1.0/certificates");
        bool ui =
            request.method == "GET" && (request.path == "/ui" || request.path.starts_with("/ui/"));
        auto response = !allowed ? untrusted(request)
                        : ui     ? api::serve_ui_file(ui_directory, request.path)
                                 : router.dispatch(request);
        requests.record(request.method, response.status,
                        std::chrono::steady_clock::now() - started);
        return response;
    };
}

http::Router make_api_router(Manager& manager, const api::RequestMetrics& requests) {
    http::Router router;
    Manager* m = &manager;

    router.add("GET", "/", [](const Request&, const Params&) { return sync(Json{"/1.0"}); });
    router.add("GET", "/1.0", [m](const Request& r, const Params&) {
        // Untrusted clients see this much too: enough to check whom they talk to.
        Json answer = {{"api_version", "1.0"},
                       {"server", "vesseld"},
                       {"auth", trusted(*m, r) ? "trusted" : "untrusted"},
                       {"environment",
                        {{"certificate", m->server_certificate().certificate_pem},
                         {"certificate_fingerprint", m->server_fingerprint()}}}};
        if (trusted(*m, r)) {
            auto config = m->server_config();
            if (!config) return error(config.error());
            answer["config"] = *config;
        }
        return sync(answer);
    });
    router.add("PATCH", "/1.0", [m](const Request& r, const Params&) {
        auto body = body_object(r);
        if (!body) return error(body.error());
        auto changes = api::parse_server_config_patch(*body);
        if (!changes) return error(changes.error());
        auto config = m->update_server_config(*changes);
        if (!config) return error(config.error());
        return sync(Json{{"config", *config}});
    });

    router.add("GET", "/1.0/certificates", [m](const Request& r, const Params&) {
        auto list = m->trust().list();
        if (!list) return error(list.error());
        bool recursion = query_flag(r, "recursion");
        Json answer = Json::array();
        for (const auto& certificate : *list)
            answer.push_back(recursion ? api::certificate_json(certificate)
                                       : Json("/1.0/certificates/" + certificate.fingerprint));
        return sync(answer);
    });
    router.add("POST", "/1.0/certificates", [m](const Request& r, const Params&) {
        auto body = body_object(r);
        if (!body) return error(body.error());
        auto request = api::parse_certificate_request(*body);
        if (!request) return error(request.error());
        if (const auto* redemption = std::get_if<api::TokenRedemption>(&*request)) {
            if (!r.peer)
                return http::error_response(
                    400,
                    "a trust token is redeemed over HTTPS: the certificate the client "
                    "presents is the one trusted");
            auto token = api::decode_trust_token(redemption->token);
            if (!token) return error(token.error());
            auto added = m->trust().redeem(token->secret, r.peer->certificate_pem);
            if (!added) return error(added.error());
            return sync(api::certificate_json(*added), 201);
        }
        // The other forms widen the trust: only for those trusted already.
        if (!trusted(*m, r)) return untrusted(r);
        if (const auto* addition = std::get_if<api::CertificateAddition>(&*request)) {
            auto added = m->trust().add(addition->certificate_pem, addition->name);
            if (!added) return error(added.error());
            return sync(api::certificate_json(*added), 201);
        }
        const auto& asked = std::get<api::TokenRequest>(*request);
        auto issued = m->trust().issue(asked.name, asked.lifetime);
        if (!issued) return error(issued.error());
        auto config = m->server_config();
        std::vector<std::string> addresses;
        if (config && config->contains("core.https_address"))
            addresses.push_back(config->at("core.https_address"));
        auto token = api::encode_trust_token({.name = issued->name,
                                              .fingerprint = m->server_fingerprint(),
                                              .addresses = addresses,
                                              .secret = issued->secret,
                                              .expires_at = issued->expires_at});
        return sync(Json{{"token", token}, {"expires_at", issued->expires_at}}, 201);
    });
    router.add("DELETE", "/1.0/certificates/{fingerprint}", [m](const Request&, const Params& p) {
        auto removed = m->trust().remove(p.at("fingerprint"));
        if (!removed) return error(removed.error());
        return sync(Json::object());
    });

    router.add("GET", "/1.0/metrics", [m, &requests](const Request&, const Params&) {
        auto instances = m->instance_usage();
        if (!instances) return error(instances.error());
        auto families = api::instance_families(*instances);
        for (auto& family : api::operation_families(m->operations().counts()))
            families.push_back(std::move(family));
        for (auto& family : requests.families())
            families.push_back(std::move(family));
        for (auto& family : api::process_families())
            families.push_back(std::move(family));
        return Response{.content_type = api::exposition_content_type,
                        .body = api::exposition_text(families)};
    });
    router.add("GET", "/1.0/instances", [m](const Request& r, const Params&) {
        auto list = m->list_instances();
        if (!list) return error(list.error());
        bool recursion = query_flag(r, "recursion");
        Json answer = Json::array();
        for (const auto& instance : *list)
            answer.push_back(recursion ? api::instance_json(instance)
                                       : Json("/1.0/instances/" + instance.record.name));
        return sync(answer);
    });
    router.add("POST", "/1.0/instances", [m](const Request& r, const Params&) {
        auto body = body_object(r);
        if (!body) return error(body.error());
        auto copy = api::parse_copy(*body);
        if (!copy) return error(copy.error());
        if (*copy)
            return async_or_error(
                m->copy_instance((*copy)->source, (*copy)->name, (*copy)->instance_only));
        auto import = api::parse_import(*body);
        if (!import) return error(import.error());
        if (*import) return async_or_error(m->import_instance((*import)->path, (*import)->name));
        auto request = api::parse_launch(*body);
        if (!request) return error(request.error());
        return async_or_error(m->launch(std::move(*request)));
    });
    router.add("GET", "/1.0/instances/{name}", [m](const Request&, const Params& p) {
        auto view = m->instance_view(p.at("name"));
        if (!view) return error(view.error());
        return sync(api::instance_json(*view));
    });
    router.add("PATCH", "/1.0/instances/{name}", [m](const Request& r, const Params& p) {
        auto body = body_object(r);
        if (!body) return error(body.error());
        auto changes = api::parse_config_patch(*body);
        if (!changes) return error(changes.error());
        auto config = m->update_config(p.at("name"), *changes);
        if (!config) return error(config.error());
        return sync(config->to_json());
    });
    router.add("PUT", "/1.0/instances/{name}", [m](const Request& r, const Params& p) {
        auto body = body_object(r);
        if (!body) return error(body.error());
        auto snapshot = api::parse_instance_put(*body);
        if (!snapshot) return error(snapshot.error());
        return async_or_error(m->restore_snapshot(p.at("name"), *snapshot));
    });
    router.add("GET", "/1.0/instances/{name}/snapshots", [m](const Request& r, const Params& p) {
        auto list = m->list_snapshots(p.at("name"));
        if (!list) return error(list.error());
        bool recursion = query_flag(r, "recursion");
        Json answer = Json::array();
        for (const auto& snapshot : *list)
            answer.push_back(
                recursion ? api::snapshot_json(snapshot)
                          : Json("/1.0/instances/" + p.at("name") + "/snapshots/" + snapshot.name));
        return sync(answer);
    });
    router.add("POST", "/1.0/instances/{name}/snapshots", [m](const Request& r, const Params& p) {
        auto body = body_object(r);
        if (!body) return error(body.error());
        auto snapshot = api::parse_snapshot_create(*body);
        if (!snapshot) return error(snapshot.error());
        return async_or_error(m->create_snapshot(p.at("name"), *snapshot));
    });
    router.add("POST", "/1.0/instances/{name}/export", [m](const Request& r, const Params& p) {
        auto body = body_object(r);
        if (!body) return error(body.error());
        auto request = api::parse_export(*body);
        if (!request) return error(request.error());
        return async_or_error(
            m->export_instance(p.at("name"), request->path, request->instance_only));
    });
    router.add("GET", "/1.0/instances/{name}/snapshots/{snapshot}",
               [m](const Request&, const Params& p) {
                   auto snapshot = m->find_snapshot(p.at("name"), p.at("snapshot"));
                   if (!snapshot) return error(snapshot.error());
                   return sync(api::snapshot_json(*snapshot));
               });
    router.add("DELETE", "/1.0/instances/{name}/snapshots/{snapshot}",
               [m](const Request&, const Params& p) {
                   return async_or_error(m->delete_snapshot(p.at("name"), p.at("snapshot")));
               });
    router.add("DELETE", "/1.0/instances/{name}", [m](const Request& r, const Params& p) {
        return async_or_error(m->remove(p.at("name"), query_flag(r, "force")));
    });
    router.add("GET", "/1.0/instances/{name}/state", [m](const Request&, const Params& p) {
        auto state = m->instance_state(p.at("name"));
        if (!state) return error(state.error());
        return sync(api::instance_state_json(*state));
    });
    router.add("PUT", "/1.0/instances/{name}/state", [m](const Request& r, const Params& p) {
        auto body = body_object(r);
        if (!body) return error(body.error());
        auto change = api::parse_state_change(*body);
        if (!change) return error(change.error());
        return async_or_error(
            m->change_state(p.at("name"), change->action, change->timeout, change->force));
    });
    // Exec and files: with "Upgrade: vessel-frames" the connection switches to frames and the
    // contents stream both ways (no size limit); without it, JSON with base64 contents.
    router.add("POST", "/1.0/instances/{name}/exec", [m](const Request& r, const Params& p) {
        auto body = body_object(r);
        if (!body) return error(body.error());
        if (http::asks_upgrade(r, http::frame_stream_protocol)) {
            auto spec = api::parse_exec_stream(*body);
            if (!spec) return error(spec.error());
            return switch_to_frames(m->exec_stream(p.at("name"), std::move(*spec)));
        }
        auto request = api::parse_exec(*body);
        if (!request) return error(request.error());
        auto result = m->exec(p.at("name"), request->argv, request->stdin_data, r.client);
        if (!result) return error(result.error());
        // Programs print bytes, not text: base64 carries them exactly.
        return sync(Json{{"return", result->status.shell_code()},
                         {"stdout_base64", base64_encode(result->out)},
                         {"stderr_base64", base64_encode(result->err)}});
    });
    // Files: {"path", "mode", "uid", "gid", "parents", "content_base64"} in, the same out.
    router.add("POST", "/1.0/instances/{name}/files", [m](const Request& r, const Params& p) {
        auto file = api::parse_push(r);
        if (!file) return error(file.error());
        if (http::asks_upgrade(r, http::frame_stream_protocol)) {
            if (!file->content.empty())
                return error(
                    Error("request body.content_base64: a streamed push sends the "
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
    // exec for WebSocket clients (a browser cannot send a body with its upgrade): the POST body's
    // fields as the query, command as a JSON array.
    router.add("GET", "/1.0/instances/{name}/exec", [m](const Request& r, const Params& p) {
        if (!api::asks_websocket(r))
            return http::error_response(
                400,
                "GET .../exec is exec over WebSocket (Upgrade: websocket); POST runs a command");
        auto body = api::exec_body_from_query(r);
        if (!body) return error(body.error());
        auto spec = api::parse_exec_stream(*body);
        if (!spec) return error(spec.error());
        auto session = m->exec_stream(p.at("name"), std::move(*spec));
        if (!session) return error(session.error());
        return switch_to_websocket(r, [session = std::move(*session)](int fd, std::string early) {
            api::serve_websocket_exec(fd, std::move(early), session);
        });
    });
    router.add("GET", "/1.0/instances/{name}/console", [m](const Request& r, const Params& p) {
        if (api::asks_websocket(r)) {
            auto socket = m->console_socket(p.at("name"));
            if (!socket) return error(socket.error());
            auto console = connect_unix(*socket);
            if (!console) return error(console.error());
            auto shared = std::make_shared<UniqueFd>(std::move(*console));
            return switch_to_websocket(r, [shared](int fd, std::string early) {
                api::serve_websocket_console(fd, std::move(early), shared->get());
            });
        }
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
                            {"type", name_of(image.kind)},
                            {"aliases", image.aliases},
                            {"description", image.description},
                            {"created_at", image.created_at}});
        return sync(list);
    });
    router.add("POST", "/1.0/images", [m](const Request& r, const Params&) {
        auto body = body_object(r);
        if (!body) return error(body.error());
        auto request = api::parse_image_request(*body);
        if (!request) return error(request.error());
        auto image = import_image(*m, *request, r.client);
        if (!image) {
            // Import failures are the caller's input (a bad tarball) unless errno says otherwise.
            if (image.error().code() == 0) return error(Error(image.error().message(), EINVAL));
            return error(image.error());
        }
        if (!*image) {
            const auto& build = std::get<api::ImageBuild>(*request);
            return async_or_error(
                m->build_image(build.distribution, build.alias, build.vm, build.architecture));
        }
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
        Json list = Json::array();
        for (const auto& network : *networks)
            list.push_back(api::network_json(network));
        return sync(list);
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
        auto timeout = api::query_int(r, "timeout", 0, 86400);
        if (!timeout) return error(timeout.error());
        auto wait = std::chrono::seconds(timeout->value_or(86400));
        auto op = m->operations().wait(p.at("id"), wait, r.client);
        if (!op) return http::error_response(404, "operation " + p.at("id") + " not found");
        return sync(operation_json(*op));
    });

    router.add("GET", "/1.0/events", [m](const Request&, const Params&) {
        // Subscribed before the response head goes out: a client that has read the head misses
        // no event of an operation it starts afterwards.
        auto lease = std::make_shared<EventLease>(m->events());
        return Response{.status = 200,
                        .content_type = "application/json-seq",
                        .stream = [lease](http::ChunkWriter& writer) {
                            while (!writer.peer_closed()) {
                                auto event =
                                    lease->subscription->next(std::chrono::milliseconds(250));
                                if (event && !writer.write(dump_json(*event) + "\n")) break;
                            }
                        }};
    });
    return router;
}

}  // namespace vessel::manager
