// The REST handlers' reading of request bodies and queries (src/manager/api/requests.cpp), and the
// instance config checks a launch or PATCH body reaches next, on fuzz-chosen JSON. A parser
// either yields a value that keeps its documented bounds or refuses with EINVAL (the API's 400)
// and a message naming the request's field; it never throws, crashes or lets a value through
// out of bounds.
#include <cerrno>
#include <cstdlib>
#include <string_view>

#include "fuzz_input.h"
#include "manager/api/base64.h"
#include "manager/api/requests.h"
#include "manager/api/trust_token.h"
#include "manager/instance/config.h"
#include "manager/instance/limits.h"
#include "manager/instance/name.h"

using namespace vessel;
using namespace vessel::manager;

namespace {

void require(bool condition) {
    if (!condition) std::abort();
}

// A refusal must be the client's mistake and say where it is.
void require_input_error(const Error& error, std::string_view where) {
    require(error.code() == EINVAL);
    require(error.message().starts_with(where));
}

template <typename T>
bool accepted(const Result<T>& result, std::string_view where = "request body") {
    if (!result) require_input_error(result.error(), where);
    return result.has_value();
}

// What the manager checks of a config next; each check answers without crashing, and a
// limit that parses prints back to the same value.
void check_config(InstanceKind kind, const Json& config) {
    if (!config.is_object()) return;
    (void)validate_config_for_type(kind, config);
    for (const auto& [key, value] : config.items())
        if (value.is_string()) (void)validate_config_key(key, value.get<std::string>());
    (void)agent_timeout_from_config(config);
    if (auto limits = limits_from_config(config); limits && limits->memory_bytes) {
        auto again = parse_memory_size(format_size(*limits->memory_bytes));
        require(again && *again == *limits->memory_bytes);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    fuzz::FuzzInput input(data, size);
    const uint32_t which = input.below(9);
    http::Request request;
    request.body = std::string(fuzz::as_text(input.rest()));
    if (which == 8) {
        // A query parameter: the text is its value.
        request.query["timeout"] = request.body;
        auto value = api::query_int(request, "timeout", 0, 86400);
        if (accepted(value, "query timeout") && *value) require(**value >= 0 && **value <= 86400);
        // The WebSocket exec's query: its command is JSON inside a query value.
        request.query = {{"command", request.body}, {"interactive", "1"}};
        if (auto body = api::exec_body_from_query(request); accepted(body, "query command")) {
            auto spec = api::parse_exec_stream(*body);
            if (spec) require(!spec->argv.empty());
        }
        return 0;
    }
    if (which == 7) {
        auto file = api::parse_push(request);
        if (!accepted(file)) return 0;
        require(file->meta.mode <= 07777);
        auto again = base64_decode(base64_encode(file->content));
        require(again && *again == file->content);
        return 0;
    }
    auto body = api::body_object(request);
    if (!accepted(body)) return 0;
    require(body->is_object());
    switch (which) {
        case 0:
            if (auto launch = api::parse_launch(*body); accepted(launch)) {
                require(!launch->image.empty());
                (void)validate_instance_name(launch->name);
                // A typed config prints back to the keys it was read from.
                const Json keys = launch->config.to_json();
                check_config(launch->kind, keys);
                auto again = InstanceConfig::parse(launch->kind, keys);
                require(again && *again == launch->config);
            }
            break;
        case 1:
            if (auto changes = api::parse_config_patch(*body); accepted(changes)) {
                for (auto kind : {InstanceKind::vm, InstanceKind::container}) {
                    check_config(kind, *changes);
                    auto changed = InstanceConfig{}.changed(kind, *changes);
                    if (!changed) require(changed.error().code() == EINVAL);
                }
            }
            break;
        case 2:
            if (auto change = api::parse_state_change(*body); accepted(change))
                require(change->timeout.count() >= 0 && change->timeout.count() <= 3600);
            break;
        case 3:
            if (auto exec = api::parse_exec(*body);
                accepted(exec) && body->contains("stdin_base64"))
                require(!body->contains("stdin"));
            break;
        case 4:
            if (auto spec = api::parse_exec_stream(*body); accepted(spec)) {
                require(!spec->argv.empty());
                require(!spec->cwd.empty() && spec->cwd[0] == '/');
                for (const std::string& pair : spec->env) {
                    const size_t equals = pair.find('=');
                    require(equals != std::string::npos && equals > 0);
                }
            }
            break;
        case 5:
            if (auto image = api::parse_image_request(*body); accepted(image)) {
                if (const auto* tarball = std::get_if<api::ContainerImageImport>(&*image))
                    require(!tarball->source.empty());
            }
            break;
        default:
            (void)api::query_flag(request, "recursion");
            if (auto snapshot = api::parse_snapshot_create(*body); accepted(snapshot))
                (void)validate_snapshot_name(*snapshot);
            if (auto copy = api::parse_copy(*body); accepted(copy) && *copy)
                require((*body)["source"]["source"].is_string());
            if (auto import = api::parse_import(*body); accepted(import) && *import)
                require((*body)["source"]["path"].get<std::string>() == (*import)->path);
            if (auto exported = api::parse_export(*body); accepted(exported))
                require((*body)["path"].get<std::string>() == exported->path);
            if (auto restore = api::parse_instance_put(*body); accepted(restore))
                require(!restore->empty() && body->size() == 1);
            if (auto settings = api::parse_server_config_patch(*body); accepted(settings))
                require(!settings->empty());
            if (auto certificate = api::parse_certificate_request(*body); accepted(certificate)) {
                if (const auto* token = std::get_if<api::TokenRequest>(&*certificate))
                    require(token->lifetime.count() >= 1 && token->lifetime.count() <= 365 * 86400);
                if (const auto* redemption = std::get_if<api::TokenRedemption>(&*certificate)) {
                    // A token is read only as what it claims; a malformed one is refused by name.
                    auto decoded = api::decode_trust_token(redemption->token);
                    if (!decoded)
                        require(decoded.error().code() == EINVAL &&
                                decoded.error().message().starts_with("not a vessel trust token"));
                    else
                        require(decoded->fingerprint.size() == 64);
                }
            }
            break;
    }
    return 0;
}
