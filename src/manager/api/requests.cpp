#include "manager/api/requests.h"

#include <fmt/format.h>

#include <charconv>

#include "base/log.h"
#include "manager/api/base64.h"
#include "manager/json_text.h"

namespace vessel::manager::api {

namespace {

// The value of a JsonAt getter, or its error as EINVAL (400).
template <typename T>
Result<T> input(Result<T> value) {
    if (!value) return fail_errno(EINVAL, value.error().message());
    return value;
}

// A required member's value, or an EINVAL error naming its JSON path.
Result<std::string> required_string(const JsonAt& at, std::string_view key) {
    auto child = TRY(input(at.child(key)));
    return input(child.string());
}

Result<std::vector<std::string>> required_strings(const JsonAt& at, std::string_view key) {
    auto child = TRY(input(at.child(key)));
    return input(child.string_array());
}

}  // namespace

Result<Json> body_object(const http::Request& request) {
    if (request.body.empty()) return Json::object();
    auto json = parse_json(request.body, "request body");
    if (!json) return fail_errno(EINVAL, json.error().message());
    if (!json->is_object()) return fail_errno(EINVAL, "request body: must be a JSON object");
    return *json;
}

bool query_flag(const http::Request& request, const std::string& key) {
    auto it = request.query.find(key);
    return it != request.query.end() && (it->second == "1" || it->second == "true");
}

Result<std::optional<int64_t>> query_int(const http::Request& request, const std::string& key,
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

Result<std::optional<CopyRequest>> parse_copy(const Json& body) {
    JsonAt at(body, "request body");
    auto source = at.optional_child("source");
    if (!source) return std::optional<CopyRequest>{};
    auto type = TRY(input(source->optional_string("type")));
    if (!type || *type != "copy") return std::optional<CopyRequest>{};
    CopyRequest request;
    request.name = TRY(required_string(at, "name"));
    request.source = TRY(required_string(*source, "source"));
    request.instance_only = TRY(input(source->optional_boolean("instance_only"))).value_or(false);
    return std::optional<CopyRequest>(std::move(request));
}

Result<std::optional<ImportRequest>> parse_import(const Json& body) {
    JsonAt at(body, "request body");
    auto source = at.optional_child("source");
    if (!source) return std::optional<ImportRequest>{};
    auto type = TRY(input(source->optional_string("type")));
    if (!type || *type != "backup") return std::optional<ImportRequest>{};
    ImportRequest request;
    request.name = TRY(input(at.optional_string("name"))).value_or("");
    request.path = TRY(required_string(*source, "path"));
    return std::optional<ImportRequest>(std::move(request));
}

Result<ExportRequest> parse_export(const Json& body) {
    JsonAt at(body, "request body");
    ExportRequest request;
    request.path = TRY(required_string(at, "path"));
    request.instance_only = TRY(input(at.optional_boolean("instance_only"))).value_or(false);
    return request;
}

Result<std::string> parse_snapshot_create(const Json& body) {
    JsonAt at(body, "request body");
    return TRY(input(at.optional_string("name"))).value_or("");
}

Result<std::string> parse_instance_put(const Json& body) {
    JsonAt at(body, "request body");
    for (const auto& [key, value] : body.items())
        if (key != "restore")
            return fail_errno(EINVAL, fmt::format("request body.{}: PUT on an instance restores "
                                                  "a snapshot ({{\"restore\": NAME}}); change "
                                                  "its config with PATCH",
                                                  single_line(key)));
    auto snapshot = TRY(input(at.optional_string("restore")));
    if (!snapshot || snapshot->empty())
        return fail_errno(EINVAL, "request body: restore: is required");
    return *snapshot;
}

Result<LaunchRequest> parse_launch(const Json& body) {
    JsonAt at(body, "request body");
    LaunchRequest request;
    request.name = TRY(required_string(at, "name"));
    // Incus spells the image as source.alias; a plain "image" is accepted too.
    std::optional<std::string> image;
    if (auto source = at.optional_child("source"))
        image = TRY(input(source->optional_string("alias")));
    if (!image) image = TRY(input(at.optional_string("image")));
    if (!image || image->empty()) return fail_errno(EINVAL, "request body: image: is required");
    request.image = *image;
    auto kind = TRY(input(at.optional_string("type"))).value_or("container");
    auto known = instance_kind_named(kind);
    if (!known)
        return fail_errno(
            EINVAL, fmt::format("request body.type: {} is not container or vm", single_line(kind)));
    request.kind = *known;
    if (body.contains("config")) {
        // Said as every other refusal of a request body is, so the client knows where to look.
        auto config = InstanceConfig::parse(request.kind, body["config"]);
        if (!config) {
            auto error = config.error();
            return std::unexpected(error.context("request body"));
        }
        request.config = std::move(*config);
    }
    request.start = TRY(input(at.optional_boolean("start"))).value_or(true);
    return request;
}

Result<Json> parse_config_patch(const Json& body) {
    if (!body.contains("config")) return fail_errno(EINVAL, "request body: config: is required");
    return body["config"];
}

Result<StateChange> parse_state_change(const Json& body) {
    JsonAt at(body, "request body");
    StateChange change;
    change.action = TRY(required_string(at, "action"));
    const int64_t seconds = TRY(input(at.optional_integer_in<int64_t>("timeout"))).value_or(30);
    if (seconds < 0 || seconds > 3600)
        return fail_errno(EINVAL, "request body.timeout: must be 0 to 3600 seconds");
    change.timeout = std::chrono::seconds(seconds);
    change.force = TRY(input(at.optional_boolean("force"))).value_or(false);
    return change;
}

Result<ExecRequest> parse_exec(const Json& body) {
    JsonAt at(body, "request body");
    ExecRequest request;
    request.argv = TRY(required_strings(at, "command"));
    auto text = TRY(input(at.optional_string("stdin")));
    auto encoded = TRY(input(at.optional_string("stdin_base64")));
    if (text && encoded)
        return fail_errno(EINVAL, "request body: stdin and stdin_base64 are exclusive");
    request.stdin_data = text.value_or("");
    if (encoded) {
        auto decoded = base64_decode(*encoded);
        if (!decoded)
            return fail_errno(
                EINVAL, fmt::format("request body.stdin_base64: {}", decoded.error().message()));
        request.stdin_data = std::move(*decoded);
    }
    return request;
}

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

Result<PushedFile> parse_push(const http::Request& request) {
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

Result<ImageRequest> parse_image_request(const Json& body) {
    JsonAt at(body, "request body");
    auto type = TRY(input(at.optional_string("type"))).value_or("container");
    auto alias = TRY(input(at.optional_string("alias"))).value_or("");
    if (type == "build")
        return ImageBuild{
            .distribution = TRY(input(at.optional_string("distribution"))).value_or(""),
            .alias = std::move(alias),
            .vm = TRY(input(at.optional_boolean("vm"))).value_or(false),
            .architecture = TRY(input(at.optional_string("architecture"))).value_or("")};
    if (type == "container") {
        auto source = TRY(input(at.optional_string("source"))).value_or("");
        if (source.empty())
            return fail_errno(EINVAL, "request body: source: the rootfs tarball's path");
        return ContainerImageImport{.source = std::move(source), .alias = std::move(alias)};
    }
    if (type == "vm")
        return VmImageImport{
            .source = {.kernel = TRY(input(at.optional_string("kernel"))).value_or(""),
                       .initrd = TRY(input(at.optional_string("initrd"))).value_or(""),
                       .disk = TRY(input(at.optional_string("disk"))).value_or(""),
                       .append = TRY(input(at.optional_string("append"))).value_or("console=ttyS0"),
                       .agent = TRY(input(at.optional_boolean("agent"))).value_or(false)},
            .alias = std::move(alias)};
    return fail_errno(EINVAL, fmt::format("request body.type: {} is not container, vm or build",
                                          single_line(type)));
}

Result<std::map<std::string, std::optional<std::string>>> parse_server_config_patch(
    const Json& body) {
    JsonAt at(body, "request body");
    auto config = TRY(input(at.child("config")));
    TRY(input(config.expect_object()));
    std::map<std::string, std::optional<std::string>> changes;
    for (const auto& [key, value] : config.value().items()) {
        if (value.is_null()) {
            changes[key] = std::nullopt;
            continue;
        }
        if (!value.is_string())
            return fail_errno(EINVAL, fmt::format("request body.config.{}: must be a string or "
                                                  "null",
                                                  key));
        changes[key] = value.get<std::string>();
    }
    if (changes.empty()) return fail_errno(EINVAL, "request body.config: names no key");
    return changes;
}

Result<CertificateRequest> parse_certificate_request(const Json& body) {
    JsonAt at(body, "request body");
    auto forms = int(body.contains("token")) + int(body.contains("certificate")) +
                 int(body.contains("trust_token"));
    if (forms != 1)
        return fail_errno(EINVAL,
                          "request body: give exactly one of token (true), certificate (PEM) or "
                          "trust_token");
    if (body.contains("trust_token"))
        return CertificateRequest(
            TokenRedemption{.token = TRY(required_string(at, "trust_token"))});
    auto name = TRY(input(at.optional_string("name"))).value_or("");
    if (body.contains("certificate"))
        return CertificateRequest(CertificateAddition{
            .certificate_pem = TRY(required_string(at, "certificate")), .name = name});
    if (!TRY(input(at.optional_boolean("token"))).value_or(false))
        return fail_errno(EINVAL, "request body.token: must be true to ask for a token");
    auto expiry = TRY(input(at.optional_integer_in<int64_t>("expiry"))).value_or(86400);
    if (expiry < 1 || expiry > 365 * 86400)
        return fail_errno(EINVAL, "request body.expiry: must be 1 second to 365 days");
    return CertificateRequest(TokenRequest{.name = name, .lifetime = std::chrono::seconds(expiry)});
}

Result<Json> exec_body_from_query(const http::Request& request) {
    Json body = Json::object();
    for (const auto& [key, value] : request.query) {
        if (key == "command" || key == "environment") {
            body[key] = TRY(input(parse_json(value, "query " + key)));
        } else if (key == "interactive") {
            body[key] = query_flag(request, key);
        } else if (key == "width" || key == "height" || key == "user" || key == "group") {
            body[key] = TRY(input(query_int(request, key, 0, UINT32_MAX))).value_or(0);
        } else if (key == "cwd") {
            body[key] = value;
        } else {
            return fail_errno(EINVAL, fmt::format("query {}: not an exec field", key));
        }
    }
    return body;
}

}  // namespace vessel::manager::api
