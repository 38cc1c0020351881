#include "manager/api/trust_token.h"

#include "base/json.h"
#include "manager/api/base64.h"

namespace vessel::manager::api {

std::string encode_trust_token(const TrustTokenText& token) {
    Json body = {{"name", token.name},
                 {"fingerprint", token.fingerprint},
                 {"addresses", token.addresses},
                 {"secret", token.secret},
                 {"expires_at", token.expires_at}};
    return base64_encode(body.dump());
}

Result<TrustTokenText> decode_trust_token(std::string_view text) {
    auto invalid = [](std::string why) {
        return fail_errno(EINVAL, "not a vessel trust token (" + why +
                                      "): copy the whole line `vessel config trust add` printed");
    };
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.remove_suffix(1);
    auto bytes = base64_decode(text);
    if (!bytes) return invalid("not base64");
    auto body = parse_json(*bytes, "token");
    if (!body || !body->is_object()) return invalid("not a JSON object");
    JsonAt at(*body, "token");
    TrustTokenText token;
    auto name = at.optional_string("name");
    auto fingerprint = at.optional_string("fingerprint");
    auto secret = at.optional_string("secret");
    auto expires = at.optional_integer_in<int64_t>("expires_at");
    if (!name || !fingerprint || !secret || !expires || !*fingerprint || !*secret || !*expires)
        return invalid("a field is missing or of the wrong type");
    token.name = name->value_or("");
    token.fingerprint = **fingerprint;
    token.secret = **secret;
    token.expires_at = **expires;
    if (token.fingerprint.size() != 64 ||
        token.fingerprint.find_first_not_of("0123456789abcdef") != std::string::npos)
        return invalid("its fingerprint is not a SHA-256 in hex");
    if (auto addresses = body->find("addresses"); addresses != body->end() && addresses->is_array())
        for (const auto& address : *addresses)
            if (address.is_string()) token.addresses.push_back(address.get<std::string>());
    return token;
}

}  // namespace vessel::manager::api
