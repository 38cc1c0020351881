// What a REST request asks for, read from its body and query into typed values before any
// handler acts on it. Each parser's error is EINVAL (a 400) and names the field: "request
// body.mode: ...", "query timeout: ...". Pure functions of the request, so the fuzz target
// (tests/fuzz/rest_requests_fuzz.cpp) drives them with no daemon behind.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "base/error.h"
#include "base/json.h"
#include "manager/api/http.h"
#include "manager/image/image_store.h"
#include "manager/instance/files.h"
#include "manager/instance/instance.h"
#include "manager/manager.h"

namespace vessel::manager::api {

// The request body as a JSON object; an absent body is an empty object.
Result<Json> body_object(const http::Request& request);

// ?key=1 or ?key=true.
bool query_flag(const http::Request& request, const std::string& key);
// An integer query parameter from `lowest` to `highest`; nullopt when absent.
Result<std::optional<int64_t>> query_int(const http::Request& request, const std::string& key,
                                         int64_t lowest, int64_t highest);

// POST /1.0/instances: {"name", "source": {"alias"} or "image", "type", "config", "start"}.
Result<LaunchRequest> parse_launch(const Json& body);

// POST /1.0/instances as a copy, Incus's form: {"name", "source": {"type": "copy", "source":
// NAME, "instance_only": false}}. nullopt for a body that is a launch (no source.type "copy").
struct CopyRequest {
    std::string name;
    std::string source;
    bool instance_only = false;
};
Result<std::optional<CopyRequest>> parse_copy(const Json& body);

// POST /1.0/instances as an import of a backup: {"name" (optional: the exported name), "source":
// {"type": "backup", "path": "/abs/file.tar.gz"}}. Incus sends the archive as the body; vesseld's
// clients are local and name a file it reads. nullopt for a body that is not an import.
struct ImportRequest {
    std::string name;
    std::string path;
};
Result<std::optional<ImportRequest>> parse_import(const Json& body);

// POST /1.0/instances/NAME/export: {"path": "/abs/file.tar.gz", "instance_only": false}.
struct ExportRequest {
    std::string path;
    bool instance_only = false;
};
Result<ExportRequest> parse_export(const Json& body);

// PATCH /1.0/instances/NAME: {"config": {...}}; the changes.
Result<Json> parse_config_patch(const Json& body);

// POST /1.0/instances/NAME/snapshots: {"name"}; the snapshot's name, empty to let vesseld pick.
Result<std::string> parse_snapshot_create(const Json& body);

// PUT /1.0/instances/NAME: {"restore": SNAPSHOT}, as Incus restores a snapshot; the snapshot's
// name. Config changes go by PATCH.
Result<std::string> parse_instance_put(const Json& body);

// PUT /1.0/instances/NAME/state: {"action", "timeout" (0 to 3600 s, default 30), "force"}.
struct StateChange {
    std::string action;
    std::chrono::seconds timeout{30};
    bool force = false;
};
Result<StateChange> parse_state_change(const Json& body);

// POST /1.0/instances/NAME/exec without a stream: {"command", "stdin" or "stdin_base64"}.
struct ExecRequest {
    std::vector<std::string> argv;
    std::string stdin_data;
};
Result<ExecRequest> parse_exec(const Json& body);

// The streamed exec, Incus's names: {"command", "environment": {"K": "V"}, "cwd", "user",
// "group", "interactive", "width", "height"}.
Result<ExecSpec> parse_exec_stream(const Json& body);

// GET /1.0/instances/NAME/exec over WebSocket: the query as the streamed exec's body, for
// parse_exec_stream. ?command=["sh","-c","..."] (a JSON array), &interactive=1, &width=, &height=,
// &cwd=, &user=, &group=, &environment={"K":"V"} (a JSON object).
Result<Json> exec_body_from_query(const http::Request& request);

// POST /1.0/instances/NAME/files: {"path", "mode", "uid", "gid", "parents", "content_base64"}.
Result<PushedFile> parse_push(const http::Request& request);

// POST /1.0/images: a rootfs tarball or VM files on this host, or a build (an operation).
struct ContainerImageImport {
    std::string source;  // the rootfs tarball's path
    std::string alias;
};
struct VmImageImport {
    VmImageSource source;
    std::string alias;
};
struct ImageBuild {
    std::string distribution;
    std::string alias;
    bool vm = false;
    std::string architecture;
};
using ImageRequest = std::variant<ContainerImageImport, VmImageImport, ImageBuild>;
Result<ImageRequest> parse_image_request(const Json& body);

// PATCH /1.0: {"config": {"core.https_address": "[::]:8443" or null, ...}}; null or "" unsets.
Result<std::map<std::string, std::optional<std::string>>> parse_server_config_patch(
    const Json& body);

// POST /1.0/certificates, Incus's three forms: a trusted client asks for a one-time token
// ({"token": true, "name", "expiry": seconds, default a day}) or adds a certificate
// ({"certificate": PEM, "name"}); a new client over HTTPS redeems a token
// ({"trust_token": TOKEN}), which trusts the certificate it presented.
struct TokenRequest {
    std::string name;
    std::chrono::seconds lifetime{86400};
};
struct CertificateAddition {
    std::string certificate_pem;
    std::string name;
};
struct TokenRedemption {
    std::string token;
};
using CertificateRequest = std::variant<TokenRequest, CertificateAddition, TokenRedemption>;
Result<CertificateRequest> parse_certificate_request(const Json& body);

}  // namespace vessel::manager::api
